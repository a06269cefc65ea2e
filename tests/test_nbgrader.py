"""The nbgrader round trip of every assignment: generate, submit, autograde, read the gradebook.

Students, each a submission autograded in one nbgrader call per assignment:

- ``solution``: the release answered with the solution notebook's code and written answers,
  run in full (it proves the whole notebook runs under nbgrader): full autograded marks;
- ``release``: the untouched student notebook: zero;
- ``wrong-<n>``: files of tests/wrong_answers/<assignment>/ (one mistake each) pasted into the
  solution, several files of *different* cells per submission (``group_wrong_answers``; never
  every cell): each loses points in the test cell of the cell it breaks, and the submission
  keeps the points of every cell none of its files breaks;
- ``correct-<name>``: one file of tests/correct_answers/<assignment>/ (alternative right answers
  in other styles, several cells per file) pasted into the solution: full marks, not flagged;
- ``tamper-<name>``: one file of tests/tampering/<assignment>/ pasted into the untouched release
  (an attack that would score without the defence): zero autograded points and a flag;
- ``messy``: deletes, duplicates and retypes cells: still graded, with restored tests.

Only the autograded test cells count here; the written answers are graded by hand.
Run with ``pytest -s`` to see the score table.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import nbformat
import nbgrader_harness as h
import pytest
from nbformat import NotebookNode

pytestmark = [
    pytest.mark.slow,
    # known noise: cells nbgrader puts back have no cell id; nbgrader's SQLAlchemy use
    pytest.mark.filterwarnings("ignore:Cell is missing an id field"),
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]

ASSIGNMENTS = h.release.assignments()


def _corpus(folder: Path) -> list:
    return [pytest.param(a, p, id=f"{a}/{p.stem}") for a in ASSIGNMENTS for p in sorted((folder / a).glob("*.py"))]


WRONG = _corpus(h.WRONG_ANSWERS)
CORRECT = _corpus(h.CORRECT_ANSWERS)
TAMPERING = _corpus(h.TAMPERING)


@dataclass
class Graded:
    course: Path
    assignment: str
    name: str  # the assignment's notebook
    tests: dict[str, float]  # autograded test grade_id -> points
    scores: dict[str, dict[str, float]]  # student -> test grade_id -> score
    log: str
    expected_messy_loss: str  # the test cell the messy student must fail
    wrong_groups: dict[str, tuple[str, list[Path]]]  # wrong-answer file stem -> (student, files in it)

    def notebook(self, student: str) -> NotebookNode:
        """``student``'s notebook as nbgrader autograded it."""
        return h.autograded_notebook(self.course, self.assignment, self.name, student)

    def total(self, student: str) -> float:
        return sum(self.scores[student].values())

    def lost(self, student: str) -> list[str]:
        return [t for t, s in self.scores[student].items() if s < self.tests[t]]


def _test_after(nb: NotebookNode, cell_id: str, tests: dict[str, float]) -> str:
    ids = [h.grade_id(c) for c in nb.cells]
    return next(i for i in ids[ids.index(cell_id) :] if i in tests)


def messy(nb: NotebookNode, tests: dict[str, float]) -> tuple[NotebookNode, str]:
    """What students do to notebooks; returns it and the test cell that must lose its points.

    Deletes the first test cell (put back, passes), deletes the second solution cell and its test
    (test put back, fails), duplicates the last solution cell with a crashing copy first (runs,
    no effect), and turns the last test cell into markdown (turned back, passes).
    """
    nb = nbformat.from_dict(nb)
    test_ids = [h.grade_id(c) for c in nb.cells if h.grade_id(c) in tests]
    solutions = [c for c in nb.cells if h.is_solution(c) and c.cell_type == "code"]
    broken = _test_after(nb, h.grade_id(solutions[1]), tests)
    if broken in (test_ids[0], test_ids[-1]):
        raise ValueError(
            "messy() needs a notebook with three solution cells, each with a test after it"
        )
    gone = {test_ids[0], h.grade_id(solutions[1]), broken}
    nb.cells = [c for c in nb.cells if h.grade_id(c) not in gone]
    last = nb.cells.index(solutions[-1])
    crash = nbformat.from_dict(solutions[-1])
    crash.id = "messy-copy"
    crash.source = 'raise RuntimeError("an old copy of this cell")\n' + crash.source
    nb.cells.insert(last, crash)
    retyped = next(c for c in nb.cells if h.grade_id(c) == test_ids[-1])
    retyped.cell_type = "markdown"
    del retyped["outputs"], retyped["execution_count"]
    return nb, broken


def _round_trip(assignment: str, tmp: Path) -> Graded:
    course = h.make_course(tmp / assignment, assignment)
    released = h.release_notebooks(course, assignment)
    if len(released) != 1:
        raise NotImplementedError(
            f"{assignment}: one notebook per assignment, found {sorted(released)}"
        )
    ((name, release_nb),) = released.items()
    solution_nb = nbformat.read(h.ROOT / "solutions" / assignment / f"{name}.ipynb", as_version=4)
    tests = h.autograded_tests(release_nb)
    full = h.fill_solutions(release_nb, solution_nb)
    short = h.up_to_last_test(full)  # wrong answers skip the training: same autograded scores

    students = {"solution": full, "release": release_nb}
    n_cells = sum(1 for c in solution_nb.cells if h.is_solution(c) and c.cell_type == "code")
    wrong_groups = {}
    for i, group in enumerate(h.group_wrong_answers(sorted((h.WRONG_ANSWERS / assignment).glob("*.py")), n_cells)):
        nb = short
        for path in group:
            nb = h.apply_answer(nb, path)
        students[f"wrong-{i:02d}"] = nb
        for path in group:
            wrong_groups[path.stem] = (f"wrong-{i:02d}", group)
    for path in sorted((h.CORRECT_ANSWERS / assignment).glob("*.py")):
        students[f"correct-{path.stem}"] = h.apply_answer(short, path)
    release_short = h.up_to_last_test(release_nb)
    for path in sorted((h.TAMPERING / assignment).glob("*.py")):
        students[f"tamper-{path.stem}"] = h.apply_answer(release_short, path)
    students["messy"], broken = messy(short, tests)
    for student, nb in students.items():
        h.submit(course, student, assignment, name, nb)
    log = h.autograde(course, assignment)

    scores = {
        s: {t: score for t, (score, _) in h.autograded_scores(course, assignment, name, s).items()}
        for s in students
    }
    graded = Graded(course, assignment, name, tests, scores, log, broken, wrong_groups)
    _print_table(assignment, graded)
    return graded


def _print_table(assignment: str, g: Graded) -> None:
    full = sum(g.tests.values())
    seconds = sorted(float(m) for m in re.findall(r"^=== student \S+ \(([\d.]+) s\)$", g.log, re.M))
    if seconds:
        print(f"\nautograde time per submission, {assignment} ({len(seconds)} submissions): "
              f"median {statistics.median(seconds):.1f} s, max {seconds[-1]:.1f} s")
    print(f"\nautograded scores, {assignment} (out of {full:g}):")
    for student in g.scores:
        lost = ", ".join(f"{t} {g.scores[student][t]:g}/{g.tests[t]:g}" for t in g.lost(student))
        print(f"  {student:45s} {g.total(student):5g}   {('lost: ' + lost) if lost else ''}")


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(assignment)``: the round trip of an assignment, run once for all tests."""
    tmp = tmp_path_factory.mktemp("nbgrader")
    done: dict[str, Graded | Exception] = {}

    def get(assignment: str) -> Graded:
        if assignment not in done:
            try:
                done[assignment] = _round_trip(assignment, tmp)
            except Exception as exc:  # reported in full once, not rerun by every test
                done[assignment] = exc
                raise
        if isinstance(done[assignment], Exception):
            pytest.fail(f"the round trip of {assignment} failed (see the first failing test)")
        return done[assignment]

    return get


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_marks(graded, assignment):
    g = graded(assignment)
    assert g.scores["solution"].keys() == g.tests.keys()
    assert not g.lost("solution"), (
        f"the solution fails {g.lost('solution')}; see {g.course}/autograded/solution"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_runs_without_errors_under_nbgrader(graded, assignment):
    g = graded(assignment)
    nb = g.notebook("solution")
    errors = [
        f"cell {c.get('id')}: {o.ename}: {o.evalue}"[:300]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_gets_zero(graded, assignment):
    g = graded(assignment)
    passed = [t for t, s in g.scores["release"].items() if s > 0]
    assert not passed, f"the untouched student notebook passes {passed}: those tests check nothing"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_solution_cell_has_a_wrong_answer(assignment):
    covered = {h.read_wrong_answer(p)[0] for p in (h.WRONG_ANSWERS / assignment).glob("*.py")}
    nb = nbformat.read(next((h.ROOT / "solutions" / assignment).glob("*.ipynb")), as_version=4)
    code_solutions = {h.grade_id(c) for c in nb.cells if h.is_solution(c) and c.cell_type == "code"}
    assert code_solutions <= covered, (
        f"no wrong answer in tests/wrong_answers/{assignment}/ for {sorted(code_solutions - covered)}"
    )


@pytest.mark.parametrize(("assignment", "path"), WRONG)
def test_wrong_answer_loses_points_only_where_wrong(graded, assignment, path):
    g = graded(assignment)
    cell_id, _ = h.read_wrong_answer(path)
    student, group = g.wrong_groups[path.stem]
    nb = g.notebook(student)
    own_test = _test_after(nb, cell_id, g.tests)
    broken = {_test_after(nb, h.read_wrong_answer(p)[0], g.tests): p.name for p in group}
    lost = g.lost(student)
    why = {t: h.error_summary(nb, t) for t in lost}
    assert own_test in lost, (
        f"{path.name} breaks {cell_id}, but {own_test} still passes: the tests miss it"
    )
    assert set(lost) <= set(broken), (
        f"{student} = {sorted(broken.values())} breaks the cells tested by {sorted(broken)} only, "
        f"but loses points in {why}"
    )
    assert 0 < g.total(student) < sum(g.tests.values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_messy_submission_is_still_graded(graded, assignment):
    g = graded(assignment)
    assert g.lost("messy") == [g.expected_messy_loss], (
        f"deleted, duplicated and retyped cells: expected to lose {g.expected_messy_loss} only, "
        f"lost {g.lost('messy')}"
    )
    assert "Missing grade cell" in g.log and "exists multiple times" in g.log
    restored = [c for c in g.notebook("messy").cells if "was missing from the submission" in c.source]
    assert len(restored) == 2, "the two deleted test cells come back, each with a note"


@pytest.mark.parametrize(("assignment", "path"), CORRECT)
def test_correct_alternative_gets_full_marks(graded, assignment, path):
    g = graded(assignment)
    student = f"correct-{path.stem}"
    nb = g.notebook(student)
    why = {t: h.error_summary(nb, t) for t in g.lost(student)}
    assert not why, f"{path.name} answers correctly in another style, but loses {why}"
    assert not h.withheld_reasons(nb), f"{path.name} is flagged: {h.withheld_reasons(nb)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_solution_cell_has_correct_alternatives(assignment):
    nb = nbformat.read(next((h.ROOT / "solutions" / assignment).glob("*.ipynb")), as_version=4)
    code_solutions = {h.grade_id(c) for c in nb.cells if h.is_solution(c) and c.cell_type == "code"}
    counts = dict.fromkeys(code_solutions, 0)
    for path in (h.CORRECT_ANSWERS / assignment).glob("*.py"):
        for cell_id, _ in h.read_answer_blocks(path):
            counts[cell_id] = counts.get(cell_id, 0) + 1
    few = {c: n for c, n in counts.items() if n < 3}
    assert not few, f"fewer than three correct alternatives in tests/correct_answers/{assignment}/: {few}"


@pytest.mark.parametrize(("assignment", "path"), TAMPERING)
def test_tampering_gets_zero_and_a_flag(graded, assignment, path):
    g = graded(assignment)
    student = f"tamper-{path.stem}"
    nb = g.notebook(student)
    assert g.total(student) == 0, (
        f"{path.name} tampers, yet scores {g.total(student):g}: "
        f"{ {t: s for t, s in g.scores[student].items() if s} }"
    )
    assert h.withheld_reasons(nb), f"{path.name} is not flagged for review"
    assert student in g.log and "withheld" in g.log, "the autograde log names the flagged student"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_clean_notebooks_are_not_flagged(graded, assignment):
    g = graded(assignment)
    for student in ("solution", "release", "messy", *(s for s in g.scores if s.startswith("wrong-"))):
        assert not h.withheld_reasons(g.notebook(student)), f"{student} is flagged"
