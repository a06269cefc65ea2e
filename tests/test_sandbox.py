"""Hostile submissions against the autograder's sandbox (labutils/sandbox.py), through the course's
own nbgrader_config.py, on the tiny assignment (tests/tiny_course.py).

One autograde call grades every student below, hostile ones between honest ones. Each attack
is in the ``add`` solution cell; most then define ``add`` correctly, so the only thing the attack
could change is what the student sees or what happens to the others. The limits are lowered for
the test (a cell timeout of 8 s, 1 GiB of memory, 20 CPU seconds, 64 processes) so that it runs
in about a minute; the labs' round trip (tests/test_nbgrader.py) grades under the defaults.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import threading
from pathlib import Path

import nbformat
import nbgrader_harness as h
import pytest
import tiny_course as tiny

from labutils import sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Cell is missing an id field"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]

LIMITS = {
    "Execute": {"timeout": 8},
    "SandboxedExecute": {"notebook_seconds": 13},
    "SandboxedKernelManager": {"memory": 1 << 30, "cpu_seconds": 20, "processes": 64, "disk": 64 << 20},
}
SLEEP = "import time\ntime.sleep(7.5)\n"  # each answer under the cell timeout, the two over the notebook's
FULL = sum(tiny.POINTS.values())


def _attacks(course: Path, port: int) -> dict[str, str]:
    """student -> the source of their ``add`` cell."""
    ok = "\ndef add(a, b):\n    return a + b\n"

    def guarded(body: str) -> str:  # the attack, its error printed, then the right answer
        indented = "\n".join("    " + line for line in body.strip().splitlines())
        return f"try:\n{indented}\nexcept Exception as exc:\n    print('blocked:', repr(exc))\n{ok}"

    return {
        "read-source": guarded(
            f"print(open({str(course / h.release.SOURCE / 'tiny/tiny.ipynb')!r}).read())\n"
            f"print(os.listdir({str(course)!r}))"
        ),
        "write-gradebook": guarded(
            "import sqlite3\n"
            f"db = sqlite3.connect({str(course / 'gradebook.db')!r})\n"
            "db.execute('UPDATE grade SET manual_score = 99')\n"
            "db.commit()\n"
            "print('wrote the gradebook')"
        ),
        "read-other": guarded(
            f"print(open({str(course / 'submitted/a-good/tiny/tiny.ipynb')!r}).read())\n"
            f"print(os.listdir({str(course / 'autograded')!r}))"
        ),
        "fork-bomb": (
            "import os, time\n"
            "n = 0\n"
            "while n < 100000:\n"
            "    try:\n"
            "        pid = os.fork()\n"
            "    except OSError as exc:\n"
            "        print('fork failed after', n, 'forks:', repr(exc))\n"
            "        break\n"
            "    if pid == 0:\n"
            "        while True:\n"
            "            try:\n"
            "                os.fork()\n"
            "            except OSError:\n"
            "                time.sleep(0.05)\n"
            "    n += 1\n" + ok
        ),
        "all-memory": (
            "def grab():\n"
            "    chunks = []\n"
            "    try:\n"
            "        while True:\n"
            "            chunks.append(bytearray(64 << 20))\n"
            "    except MemoryError:\n"
            "        return len(chunks) * 64\n"
            "print('MemoryError after', grab(), 'MB')\n" + ok
        ),
        "print-100mb": "print('x' * (100 << 20))\n" + ok,
        "loop-forever": "while True:\n    pass\n" + ok,
        "ignore-interrupt": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n" + ok,
        "exit": "import os\nos._exit(3)\n" + ok,
        "network": guarded(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
        ),
        "who": "import os\nprint('uid', os.getuid(), 'root:', sorted(os.listdir('/')))\n" + ok,
        "fill-disk": (
            "import os, sys\n"
            "def fill(folder):\n"
            "    n = 0\n"
            "    try:\n"
            "        while n < 1000:\n"
            "            with open(os.path.join(folder, f'fill{n}'), 'wb') as f:\n"
            "                f.write(b'x' * (16 << 20))\n"
            "            n += 1\n"
            "    except OSError as exc:\n"
            "        return f'{16 * n} MB, then {exc!r}'\n"
            "print('folder full after', fill('.'))\n"
            "print('tmp full after', fill('/tmp'))\n"
            "sockets = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])\n"
            "try:\n"
            "    open(os.path.join(sockets, 'fill'), 'wb').write(b'x')\n"
            "    print('wrote the socket folder')\n"
            "except OSError as exc:\n"
            "    print('socket folder:', repr(exc))\n" + ok
        ),
    }


def _digest(folder: Path) -> str:
    h_ = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h_.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h_.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not sandbox.enabled():
        pytest.skip("LABUTILS_SANDBOX=off")
    try:
        sandbox.bwrap_path()
    except sandbox.SandboxUnavailable as exc:
        if os.environ.get("LABUTILS_REQUIRE_SANDBOX"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    tmp = tmp_path_factory.mktemp("sandbox")
    course = h.make_course(tmp / "course", tiny.ASSIGNMENT, tiny.write_source(tmp / "src"))
    release_nb = h.release_notebooks(course, tiny.ASSIGNMENT)[tiny.ASSIGNMENT]

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                pass

    stop = threading.Event()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    students = {
        "a-good": tiny.answer(release_nb, **tiny.SOLUTION),
        "a-half": tiny.answer(release_nb, add=tiny.SOLUTION["add"], mul="return a + b"),
    }
    for name, source in _attacks(course, server.getsockname()[1]).items():
        students[name] = tiny.answer(release_nb, add=source, mul=tiny.SOLUTION["mul"])
    students["slow"] = tiny.answer(
        release_nb, add=SLEEP + "def add(a, b):\n    return a + b", mul=SLEEP + "def mul(a, b):\n    return a * b"
    )
    students["z-good"] = tiny.answer(release_nb, **tiny.SOLUTION)
    for student, nb in students.items():
        h.submit(course, student, tiny.ASSIGNMENT, tiny.ASSIGNMENT, nb)
    before = {"source": _digest(course / h.release.SOURCE), "submitted": _digest(course / "submitted")}
    log = h.autograde(course, tiny.ASSIGNMENT, config=LIMITS)
    stop.set()
    thread.join()
    server.close()
    scores = {s: h.autograded_scores(course, tiny.ASSIGNMENT, tiny.ASSIGNMENT, s) for s in students}
    return {"course": course, "log": log, "scores": scores, "before": before, "accepted": accepted}


def _outputs(g, student: str) -> str:
    """Everything the student's add cell printed or raised."""
    nb = h.autograded_notebook(g["course"], tiny.ASSIGNMENT, tiny.ASSIGNMENT, student)
    cell = next(c for c in nb.cells if h.grade_id(c) == "add")
    return "\n".join(o.get("text", "") + f"{o.get('ename', '')}: {o.get('evalue', '')}" for o in cell.outputs)


def _total(g, student: str) -> float:
    return sum(score for score, _ in g["scores"][student].values())


def test_honest_students_are_graded_right_around_the_attacks(graded):
    assert _total(graded, "a-good") == FULL
    assert _total(graded, "z-good") == FULL, "a student graded after the attacks lost points"
    assert graded["scores"]["a-half"]["test_mul"][0] == 0 and _total(graded, "a-half") == 1


def test_every_student_is_in_the_gradebook(graded):
    assert set(graded["scores"]) == {"a-good", "a-half", "z-good", "slow", *_attacks(graded["course"], 1)}
    for student, scores in graded["scores"].items():
        assert set(scores) == set(tiny.POINTS), student


def test_source_and_submissions_are_untouched(graded):
    course = graded["course"]
    assert _digest(course / h.release.SOURCE) == graded["before"]["source"]
    assert _digest(course / "submitted") == graded["before"]["submitted"]


def test_reading_the_source_sees_nothing(graded):
    out = _outputs(graded, "read-source")
    assert "blocked:" in out and "FileNotFoundError" in out
    assert tiny.HIDDEN not in out


def test_writing_the_gradebook_fails_and_the_gradebook_is_intact(graded):
    out = _outputs(graded, "write-gradebook")
    assert "blocked:" in out and "wrote the gradebook" not in out
    with sqlite3.connect(graded["course"] / "gradebook.db") as db:
        manual = db.execute("SELECT manual_score FROM grade WHERE manual_score IS NOT NULL").fetchall()
    assert not manual, f"manual scores appeared in the gradebook: {manual}"


def test_reading_another_students_notebook_sees_nothing(graded):
    out = _outputs(graded, "read-other")
    assert "blocked:" in out and "FileNotFoundError" in out
    assert "return a + b" not in out


def test_no_network(graded):
    out = _outputs(graded, "network")
    assert "blocked:" in out and "connected" not in out.replace("blocked:", "")
    assert not graded["accepted"], "the kernel reached a server on the grader's loopback"


def test_kernel_sees_only_the_sandbox(graded):
    out = _outputs(graded, "who")
    top = out.split("root:", 1)[1]
    for hidden in ("'home'", "'opt'", "'srv'", "'var'", "'mnt'"):  # top-level folders of the host
        assert hidden not in top, out
    if os.geteuid() == 0:
        uid = int(out.split("uid", 1)[1].split()[0])
        assert uid >= sandbox.UID_BASE, f"the kernel runs as uid {uid}, not a sandbox user"


def test_filling_the_disk_is_bounded_and_discarded(graded):
    out = _outputs(graded, "fill-disk")
    limit_mb = LIMITS["SandboxedKernelManager"]["disk"] >> 20
    for where in ("folder", "tmp"):
        written = out.split(f"{where} full after", 1)[1].split("MB", 1)[0]
        assert int(written) <= limit_mb, out
    assert "No space left" in out, out
    if os.geteuid() == 0:  # as root the socket folder is taken back once the kernel is up
        assert "socket folder: PermissionError" in out, out
    folder = graded["course"] / "autograded" / "fill-disk" / tiny.ASSIGNMENT
    assert folder.is_dir() and not list(folder.glob("fill*")), "the kernel's writes outlived it"
    assert _total(graded, "fill-disk") == tiny.POINTS["test_add"] + tiny.POINTS["test_mul"]


def test_fork_bomb_is_bounded(graded):
    """The kernel either sees fork fail at the process limit, or stops answering (its children
    hold it) and is killed, with the stop message; the machine and the others are fine."""
    out = _outputs(graded, "fork-bomb")
    if "fork failed after" in out:
        n = int(out.split("fork failed after", 1)[1].split()[0])
        if os.geteuid() == 0:
            assert n <= LIMITS["SandboxedKernelManager"]["processes"]
    else:
        assert "KernelStopped" in out, out[:500]
    assert _total(graded, "z-good") == FULL


def test_memory_is_bounded(graded):
    out = _outputs(graded, "all-memory")
    assert "MemoryError after" in out, out[:500]
    mb = int(out.split("MemoryError after", 1)[1].split()[0])
    assert mb <= LIMITS["SandboxedKernelManager"]["memory"] >> 20


def test_printing_100mb_is_dropped(graded):
    course = graded["course"]
    path = course / "autograded" / "print-100mb" / tiny.ASSIGNMENT / f"{tiny.ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 1 << 20, f"{path.stat().st_size} bytes stored"
    assert "output passed the limit" in _outputs(graded, "print-100mb")


def test_endless_loop_is_interrupted_and_grading_goes_on(graded):
    scores = graded["scores"]["loop-forever"]
    assert scores["test_add"][0] == 0
    assert "KeyboardInterrupt" in _outputs(graded, "loop-forever") or "CellTimeoutError" in _outputs(graded, "loop-forever")


def _gradebook_flags(course: Path, student: str) -> dict[str, bool]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(tiny.ASSIGNMENT, tiny.ASSIGNMENT, student)
        return {g.name: g.needs_manual_grade for g in nb.grades if g.name in tiny.POINTS}


@pytest.mark.parametrize(("student", "why"), [("ignore-interrupt", "did not respond to an interrupt"), ("exit", "status 3")])
def test_stopped_kernel_gets_a_message_and_a_flag(graded, student, why):
    course = graded["course"]
    nb = h.autograded_notebook(course, tiny.ASSIGNMENT, tiny.ASSIGNMENT, student)
    notes = [c.source for c in nb.cells[:2] if c.cell_type == "markdown" and "autograder stopped your notebook" in c.source]
    assert notes and why in notes[0], [c.source for c in nb.cells[:2]]
    assert _total(graded, student) == 0, "test cells that never ran must not score"
    assert all(_gradebook_flags(course, student).values()), "the stopped notebook is not flagged for manual grading"
    stopped = [c for c in nb.cells if c.cell_type == "code" and any(o.get("ename") == "KernelStopped" for o in c.outputs)]
    assert stopped and all(h.grade_id(c) != "setup" for c in stopped)


def test_notebook_time_limit_stops_a_slow_notebook(graded):
    course = graded["course"]
    nb = h.autograded_notebook(course, tiny.ASSIGNMENT, tiny.ASSIGNMENT, "slow")
    assert "time limit of 13 s" in nb.cells[0].source, nb.cells[0].source
    scores = graded["scores"]["slow"]
    assert scores["test_add"][0] == tiny.POINTS["test_add"], "the cells before the limit keep their scores"
    assert scores["test_mul"][0] == 0
    mul = next(c for c in nb.cells if h.grade_id(c) == "mul")
    assert any(o.get("ename") == "CellTimeoutError" for o in mul.outputs), "the cell running at the limit is cut short"
    assert all(_gradebook_flags(course, "slow").values())


def test_feedback_shows_the_stop_message(graded):
    from nbgrader.apps import NbGraderAPI

    course = graded["course"]
    api = NbGraderAPI(config=h.release.nbgrader_config(course))
    result = api.generate_feedback(tiny.ASSIGNMENT, "exit", force=True)
    assert result["success"], result.get("log")
    html = (course / "feedback" / "exit" / tiny.ASSIGNMENT / f"{tiny.ASSIGNMENT}.html").read_text()
    assert "autograder stopped your notebook" in html


def test_honest_student_is_not_flagged(graded):
    assert not any(_gradebook_flags(graded["course"], "a-good").values())


def test_launcher_refuses_without_bwrap(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.bwrap_command(["python"], cwd="/tmp", runtime_dir="/tmp", uid=None)


def test_sandbox_binds_only_labutils_of_the_repository():
    paths = sandbox.runtime_paths()
    root = str(h.ROOT)
    inside = [p for p in paths if p == root or p.startswith(root + "/")]
    assert all(p.startswith(root + "/labutils") or p.startswith(root + "/.venv") for p in inside), inside


@pytest.mark.parametrize(("status", "words"), [(-24, "CPU time"), (152, "CPU time"), (137, "killed"), (3, "status 3"), (None, "stopped")])
def test_exit_status_in_words(status, words):
    assert words in sandbox.describe_exit(status)


def test_tiny_source_notebook_is_valid():
    nbformat.validate(tiny.source_notebook())
