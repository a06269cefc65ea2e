"""What a new student sees: each student notebook run untouched, top to bottom, as `Run All`
with errors allowed does it (smoke profile). Every test cell fails with the NotImplementedError
of a cell still to write; every other error is one that says what is missing (a NameError with
labutils' hint, "no training run has finished yet" from a plot, table or sweep of runs that do
not exist), and no cell writes to stderr (the empty loss plot of old warned there)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import nbgrader_harness as h
import pytest
from conftest import ROOT
from nbclient import NotebookClient

from labutils import hints, plot

STUDENT_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*/*.ipynb"))


def kind(cell, tests: dict[str, float]) -> str:
    if h.grade_id(cell) in tests:
        return "test"
    return "solution" if h.is_solution(cell) else "code"


def plain(error) -> bool:
    """An error that tells the student what to do."""
    if error.ename == "NotImplementedError":
        return True
    if error.ename == "NameError":
        return "has not run to the end" in error.evalue and "YOUR CODE HERE" in error.evalue
    if error.ename == "ValueError":
        return "no training run has finished yet" in error.evalue
    return False


@pytest.mark.slow
@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=[p.stem for p in STUDENT_NOTEBOOKS])
def test_untouched_student_notebook(path: Path, tmp_path, monkeypatch):
    monkeypatch.setenv("LABUTILS_PROFILE", "smoke")
    monkeypatch.setenv("LABUTILS_DEVICE", "cpu")
    monkeypatch.setenv("LABUTILS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    problems, first_error, tests = [], None, h.autograded_tests(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {i} ({kind(cell, tests)} {cell.metadata.get('nbgrader', {}).get('grade_id', '')})"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        first_error = first_error or (errors[0] if errors else None)
        if kind(cell, tests) == "test" and not any(e.ename == "NotImplementedError" for e in errors):
            problems.append(f"{where}: a test cell that does not fail with NotImplementedError: "
                            f"{[(e.ename, e.evalue[:100]) for e in errors]}")
        for e in errors:
            if not plain(e):
                problems.append(f"{where}: unclear error {e.ename}: {e.evalue[:200]}")
        if stderr:
            problems.append(f"{where}: stderr {''.join(stderr)[:200]!r}")
    assert first_error is not None and first_error.ename == "NotImplementedError", first_error
    assert not problems, "\n".join(problems)


def test_name_error_hint():
    error = hints.explain(NameError("name 'runs' is not defined", name="runs"))
    assert str(error).startswith("name 'runs' is not defined. If an earlier cell defines `runs`")
    assert str(hints.explain(error)) == str(error), "explained once"
    bare = NameError("no name attribute")
    assert str(hints.explain(bare)) == "no name attribute"


def test_name_error_handler_registered_in_a_shell():
    class Shell:
        custom_exceptions = ()

        def set_custom_exc(self, exc_tuple, handler):
            self.custom_exceptions, self.handler = exc_tuple, handler

        def showtraceback(self, exc_tuple, tb_offset=None):
            self.shown = exc_tuple

    shell = Shell()
    assert hints.install(shell) and shell.custom_exceptions == (NameError,)
    assert hints.install(shell), "installing twice keeps one handler"
    error = NameError("name 'gen' is not defined", name="gen")
    shell.handler(shell, NameError, error, None)
    assert shell.shown[1] is error and "YOUR CODE HERE" in str(error)
    other = Shell()
    other.custom_exceptions = (KeyError,)
    assert not hints.install(other) and other.custom_exceptions == (KeyError,), "someone else's handler"
    assert hints.install(None) is False, "outside IPython nothing happens"


def test_no_runs_is_a_clear_error():
    for draw in (plot.loss_curves, plot.loss_table, lambda r: plot.metric_curves(r, "KD")):
        with pytest.raises(ValueError, match="no training run has finished yet"):
            draw({})
