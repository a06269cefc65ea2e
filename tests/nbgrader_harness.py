"""The nbgrader round trip, as nbgrader's own tests do it, in a temporary course directory.

    course = make_course(tmp, "lab1_dcgan")      # solutions/ -> notebooks/ (generate_assignment)
    submit(course, "alice", "lab1_dcgan", nb)     # submitted/alice/lab1_dcgan/<name>.ipynb
    autograde(course, "lab1_dcgan")               # every student, in 2 parallel workers
    autograded_scores(course, "lab1_dcgan", "lab1_dcgan", "alice")  # {test grade_id: (score, max)}

Submissions are built from the release: ``fill_solutions`` puts the solution notebook's code and
answers (without the ``### BEGIN/END SOLUTION`` lines) into every solution cell, and
``apply_answer`` replaces solution cells with the blocks of a file from tests/wrong_answers/ (or correct_answers/, tampering/); ``group_wrong_answers`` packs wrong answers of different cells into one submission.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
from answer_files import read_answer_blocks
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
WRONG_ANSWERS = TESTS / "wrong_answers"
CORRECT_ANSWERS = TESTS / "correct_answers"
TAMPERING = TESTS / "tampering"

_spec = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
release = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(release)
sys.path.insert(0, str(ROOT / "scripts"))
import grade  # noqa: E402  (scripts/grade.py: the parallel autograder)

MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_solution(cell: NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def autograded_tests(nb: NotebookNode) -> dict[str, float]:
    """grade_id -> points of every autograded test cell (graded, not a solution cell)."""
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            out[meta["grade_id"]] = float(meta["points"])
    return out


def make_course(course: Path, assignment: str, source: Path = ROOT / "solutions") -> Path:
    """Generate ``assignment`` from ``source`` into the course directory ``course``."""
    release.generate(course, [assignment], source)
    return course


def release_notebooks(course: Path, assignment: str) -> dict[str, NotebookNode]:
    """name -> released (student) notebook of the assignment."""
    folder = course / release.RELEASE / assignment
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if not MARKER.match(line))


def fill_solutions(release_nb: NotebookNode, solution_nb: NotebookNode) -> NotebookNode:
    """The release with every solution cell (code and written answers) answered as in the solution."""
    answers = {grade_id(c): strip_markers(c.source) for c in solution_nb.cells if is_solution(c)}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if is_solution(cell):
            cell.source = answers[grade_id(cell)]
    return nb


def up_to_last_test(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` without the ordinary code cells after the last autograded test cell.

    Cells run in order, so those cells (training, plots) cannot change an autograded score;
    dropping them makes grading a submission several times faster. nbgrader cells stay.
    """
    tests = autograded_tests(nb)
    last = max(i for i, c in enumerate(nb.cells) if grade_id(c) in tests)
    nb = copy.deepcopy(nb)
    nb.cells = [
        c for i, c in enumerate(nb.cells) if i <= last or grade_id(c) or c.cell_type != "code"
    ]
    return nb


def read_wrong_answer(path: Path) -> tuple[str, str]:
    """(grade_id, source) of a one-block answer file (a wrong answer, a tampering attempt)."""
    blocks = read_answer_blocks(path)
    if len(blocks) != 1:
        raise ValueError(f"{path}: one '# cell:' block expected, found {len(blocks)}")
    return blocks[0]


def apply_answer(nb: NotebookNode, path: Path) -> NotebookNode:
    """A copy of ``nb`` with each solution cell named by a block of ``path`` replaced by it."""
    nb = copy.deepcopy(nb)
    for cell_id, source in read_answer_blocks(path):
        cells = [c for c in nb.cells if grade_id(c) == cell_id and is_solution(c)]
        if len(cells) != 1:
            raise ValueError(f"{path.name}: no solution cell {cell_id!r} in the notebook")
        cells[0].source = source
    return nb


def group_wrong_answers(paths: list[Path], n_cells: int) -> list[list[Path]]:
    """Wrong-answer files packed into submissions: each breaks distinct cells, and at most
    ``n_cells - 1`` of the ``n_cells`` solution cells, so every submission keeps some points.

    Autograding one notebook costs a kernel start and the imports (about 15 s here); packing the
    mistakes of different cells into one submission grades the same mistakes in a few notebooks.
    Deterministic: the same files give the same groups.
    """
    if n_cells < 2:
        return [[p] for p in paths]
    by_cell: dict[str, list[Path]] = {}
    for p in sorted(paths):
        by_cell.setdefault(read_wrong_answer(p)[0], []).append(p)
    cap = n_cells - 1
    n_groups = max([len(v) for v in by_cell.values()] + [-(-len(paths) // cap)])
    groups: list[list[Path]] = [[] for _ in range(n_groups)]
    cells: list[set[str]] = [set() for _ in range(n_groups)]
    for cell, files in sorted(by_cell.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        for f in files:
            free = [i for i in range(n_groups) if cell not in cells[i] and len(groups[i]) < cap]
            if not free:
                groups.append([])
                cells.append(set())
                free = [len(groups) - 1]
            i = min(free, key=lambda i: (len(groups[i]), i))
            groups[i].append(f)
            cells[i].add(cell)
    return [g for g in groups if g]


def withheld_reasons(nb: NotebookNode) -> list[str]:
    """The tampering findings autograde recorded in a graded notebook ([] for a clean one)."""
    from labutils import autograde

    return list(nb.metadata.get(autograde.METADATA_KEY, {}).get("findings", []))


def submit(course: Path, student: str, assignment: str, name: str, nb: NotebookNode) -> Path:
    path = course / "submitted" / student / assignment / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def sandbox_or_off() -> None:
    """Grade in the sandbox where bubblewrap is installed; elsewhere (a laptop without it) turn
    it off with a warning, unless LABUTILS_REQUIRE_SANDBOX is set (CI), which makes it an error."""
    import os
    import warnings

    from labutils import sandbox

    if not sandbox.enabled():
        return
    try:
        sandbox.bwrap_path()
    except sandbox.SandboxUnavailable as exc:
        if os.environ.get("LABUTILS_REQUIRE_SANDBOX"):
            raise
        warnings.warn(f"grading without the sandbox: {exc}", stacklevel=2)
        os.environ[sandbox.ENV_SWITCH] = "off"


def autograde(course: Path, assignment: str, config: dict | None = None, workers: int | None = None) -> str:
    """Autograde everyone submitted for ``assignment``; returns nbgrader's logs, one per student.

    Grades with scripts/grade.py's parallel workers (``workers``, default
    ``$LABUTILS_GRADE_WORKERS`` or 2), as an instructor would. ``config`` overrides the course's
    nbgrader settings, e.g. ``{"Execute": {"timeout": 10}, "SandboxedKernelManager": {"memory": 1 << 30}}``.
    Raises AssertionError with the log when a student could not be graded.
    """
    import os

    sandbox_or_off()
    if workers is None:
        workers = int(os.environ.get("LABUTILS_GRADE_WORKERS", "2"))
    report = grade.grade(course, assignment, workers=workers, config=config)
    log = "\n".join(f"=== student {r.student} ({r.seconds:.1f} s)\n{r.log}" for r in sorted(report.results, key=lambda r: r.student))
    assert not report.failed, f"nbgrader autograde failed for {report.failed}:\n{log}"
    return log


def autograded_scores(
    course: Path, assignment: str, name: str, student: str
) -> dict[str, tuple[float, float]]:
    """grade_id -> (auto_score, max_score) of every autograded test cell of one submission."""
    from nbgrader.api import Gradebook

    release.use_this_python()
    with Gradebook(release.nbgrader_config(course).CourseDirectory.db_url) as gb:
        solution_ids = {c.name for c in gb.find_notebook(name, assignment).solution_cells}
        sub = gb.find_submission_notebook(name, assignment, student)
        return {
            g.name: (g.auto_score or 0.0, g.max_score)
            for g in sub.grades
            if g.name not in solution_ids
        }


def autograded_notebook(course: Path, assignment: str, name: str, student: str) -> NotebookNode:
    return nbformat.read(
        course / "autograded" / student / assignment / f"{name}.ipynb", as_version=4
    )


def error_summary(nb: NotebookNode, cell_id: str) -> str:
    """The last line of the error a graded cell printed ('' when it passed): what the student sees."""
    for cell in nb.cells:
        if grade_id(cell) == cell_id and cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    return f"{out.ename}: {out.evalue}"[:200]
    return ""
