"""Grading a class in parallel workers (scripts/grade.py) into SQLite and PostgreSQL.

100 generated submissions of the tiny assignment (tests/tiny_course.py), each with a known score
(student i answers ``add`` right when i is odd and ``mul`` right when i is not a multiple of 3),
are graded by one worker into SQLite (the serial reference), by two workers into another SQLite
gradebook, and by two workers into a throwaway PostgreSQL server the test starts (skipped with a
message where PostgreSQL's server programs are not installed; CI installs them). Every student
must be graded exactly once, with the serial run's scores. Run with ``-s`` for the timings.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbgrader_harness as h
import pytest
import tiny_course as tiny

grade = h.grade  # scripts/grade.py

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Cell is missing an id field"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]

N = 100


def expected(i: int) -> dict[str, float]:
    return {"test_add": 1.0 if i % 2 else 0.0, "test_mul": 2.0 if i % 3 else 0.0}


def student(i: int) -> str:
    return f"s{i:03d}"


def _course(root: Path) -> Path:
    course = h.make_course(root / "course", tiny.ASSIGNMENT, tiny.write_source(root / "src"))
    release_nb = h.release_notebooks(course, tiny.ASSIGNMENT)[tiny.ASSIGNMENT]
    for i in range(N):
        nb = tiny.answer(
            release_nb,
            add="return a + b" if i % 2 else "return a - b",
            mul="return a * b" if i % 3 else "return a",
        )
        h.submit(course, student(i), tiny.ASSIGNMENT, tiny.ASSIGNMENT, nb)
    return course


def _scores(db_url: str) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        out = {}
        for sub in gb.assignment_submissions(tiny.ASSIGNMENT):
            nb = gb.find_submission_notebook(tiny.ASSIGNMENT, tiny.ASSIGNMENT, sub.student.id)
            out[sub.student.id] = {g.name: g.auto_score for g in nb.grades if g.name in tiny.POINTS}
        return out


def _copy_gradebook_schema(course: Path, db_url: str) -> None:
    """A fresh gradebook at ``db_url`` holding the assignment (as generate_assignment leaves it)."""
    from nbgrader.apps import NbGraderAPI

    cfg = h.release.nbgrader_config(course)
    cfg.CourseDirectory.db_url = db_url
    result = NbGraderAPI(config=cfg).generate_assignment(tiny.ASSIGNMENT, force=True)
    assert result["success"], result.get("log")


def _check(report: grade.Report, scores: dict, reference: dict) -> None:
    graded = sorted(r.student for r in report.results)
    assert graded == [student(i) for i in range(N)], "a student was graded twice or not at all"
    assert not report.failed, report.failed
    for r in report.results:  # each worker's log names its student once
        assert r.log.count(f"Creating/updating student with ID '{r.student}'") == 1
    assert scores == reference


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    h.sandbox_or_off()  # grading here does not test the sandbox: without bwrap, grade without it
    return _course(tmp_path_factory.mktemp("parallel"))


@pytest.fixture(scope="module")
def serial(course):
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    report = grade.grade(course, tiny.ASSIGNMENT, workers=1, db_url=db_url)
    print(f"\n1 worker, SQLite: {report.seconds:.1f} s, {report.per_minute:.0f} submissions/min")
    return report, _scores(db_url)


def test_serial_run_gives_the_known_scores(serial):
    report, scores = serial
    assert not report.failed
    assert scores == {student(i): expected(i) for i in range(N)}


def test_two_workers_into_sqlite(course, serial, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'parallel.db'}"
    _copy_gradebook_schema(course, db_url)
    report = grade.grade(course, tiny.ASSIGNMENT, workers=2, db_url=db_url)
    print(f"\n2 workers, SQLite: {report.seconds:.1f} s, {report.per_minute:.0f} submissions/min")
    assert len({r.worker for r in report.results}) == 2, "both workers graded"
    _check(report, _scores(db_url), serial[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@pytest.fixture
def postgres(tmp_path):
    """A throwaway PostgreSQL server on a Unix socket in tmp_path; yields its db_url."""
    pytest.importorskip("psycopg2", reason="pip install psycopg2-binary (in the test extra)")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        msg = "PostgreSQL's server programs (initdb, pg_ctl) are not installed: apt-get install postgresql"
        if os.environ.get("LABUTILS_REQUIRE_POSTGRES"):
            pytest.fail(msg)
        pytest.skip(msg)
    # not under pytest's tmp_path: as root the server runs as another user, who must reach it
    base = Path(tempfile.mkdtemp(prefix="labutils-pg-"))
    os.chmod(base, 0o755)
    data, sock = base / "data", base / "sock"
    data.mkdir()
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres user, else nobody
        import pwd

        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None:
            pytest.skip("running as root and no 'postgres' or 'nobody' user for the server")
        entry = pwd.getpwnam(user)
        for p in (data, sock):
            os.chown(p, entry.pw_uid, entry.pw_gid)
        run_as = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
        owner = user
    else:
        import getpass

        owner = getpass.getuser()
    env = {**os.environ, "LC_ALL": "C"}
    def run(*cmd):
        done = subprocess.run([*run_as, *cmd], capture_output=True, text=True, env=env)
        if done.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    run(initdb, "-D", str(data), "-A", "trust", "-U", owner, "--no-sync")
    run(pg_ctl, "-D", str(data), "-o", f"-c listen_addresses='' -k {sock} -c fsync=off", "-l", str(data / "server.log"), "-w", "start")
    try:
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", user=owner, host=str(sock))
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE gradebook")
        conn.close()
        yield f"postgresql+psycopg2://{owner}@/gradebook?host={sock}"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, env=env)
        shutil.rmtree(base, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_two_workers_into_postgresql(course, serial, postgres):
    _copy_gradebook_schema(course, postgres)
    start = time.perf_counter()
    report = grade.grade(course, tiny.ASSIGNMENT, workers=2, db_url=postgres)
    print(f"\n2 workers, PostgreSQL: {report.seconds:.1f} s ({time.perf_counter() - start:.1f} s with start-up), "
          f"{report.per_minute:.0f} submissions/min")
    _check(report, _scores(postgres), serial[1])


def test_missing_assignment_and_students_are_clear_errors(course, tmp_path):
    with pytest.raises(FileNotFoundError, match="no submission of tiny for"):
        grade.grade(course, tiny.ASSIGNMENT, students=["nobody-here"])
    with pytest.raises(LookupError, match="generate_assignment"):
        grade.grade(course, tiny.ASSIGNMENT, db_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(ValueError, match="at least 1"):
        grade.grade(course, tiny.ASSIGNMENT, workers=0)


def test_sqlite_url_gets_a_lock_timeout():
    assert grade.with_sqlite_timeout("sqlite:///g.db", 300) == "sqlite:///g.db?timeout=300"
    assert grade.with_sqlite_timeout("sqlite:///g.db?timeout=5", 300) == "sqlite:///g.db?timeout=5"
    assert grade.with_sqlite_timeout("postgresql://u@/db", 300) == "postgresql://u@/db"
