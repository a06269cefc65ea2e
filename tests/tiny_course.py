"""A tiny nbgrader assignment (no torch) for the tests of the grading machinery itself.

The sandbox, the limits and parallel grading do not depend on a lab: a notebook whose kernel
starts in about a second grades a hundred submissions in minutes. The assignment goes through
the course's own nbgrader_config.py (the same preprocessors, sandbox and gradebook as a lab).

    source = write_source(tmp / "src")             # src/tiny/tiny.ipynb, the instructor notebook
    course = nbgrader_harness.make_course(tmp / "course", "tiny", source)
    nb = answer(release_nb, add="return a + b", mul="return a * b")
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ASSIGNMENT = "tiny"
POINTS = {"test_add": 1.0, "test_mul": 2.0}
SOLUTION = {"add": "return a + b", "mul": "return a * b"}
HIDDEN = "HIDDEN-TEST-SECRET-7f3a"  # a string only the instructor's source holds


def _cell(kind: str, source: str, **nbgrader) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False, **nbgrader}
    return cell


def source_notebook() -> NotebookNode:
    def solution(name):
        body = f"def {name}(a, b):\n    ### BEGIN SOLUTION\n    {SOLUTION[name]}\n    ### END SOLUTION"
        return _cell("code", body, grade_id=name, solution=True)

    def test(name, calls):
        src = "\n".join(calls) + f"\n### BEGIN HIDDEN TESTS\nassert '{HIDDEN}'\n### END HIDDEN TESTS"
        return _cell("code", src, grade_id=f"test_{name}", grade=True, locked=True, points=POINTS[f"test_{name}"])

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "# A tiny assignment", grade_id="intro", locked=True),
        _cell("code", "import os", grade_id="setup", locked=True),
        solution("add"),
        test("add", ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]),
        solution("mul"),
        test("mul", ["assert mul(2, 3) == 6", "assert mul(0, 5) == 0"]),
    ]
    return nb


def write_source(folder: Path) -> Path:
    """``folder/tiny/tiny.ipynb``; returns ``folder`` (the source root for make_course)."""
    path = folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(), path)
    return folder


def answer(release_nb: NotebookNode, **bodies: str) -> NotebookNode:
    """The release with the named solution cells answered (``add="return a + b"``); a body
    that starts with ``def`` or another statement at column 0 replaces the whole cell."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in bodies:
            body = bodies[gid]
            cell.source = body if not body.startswith("return") else f"def {gid}(a, b):\n    {body}"
    return nb
