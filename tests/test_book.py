"""The book: prepare_book's cleaning of a solution notebook (fast), and a real build (slow)."""

from __future__ import annotations

import html
import importlib
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT, SOLUTIONS, smoke_env

LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME")


@pytest.fixture
def prepare_book(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    return importlib.import_module("prepare_book")


def grading(**flags) -> dict:
    meta = dict(grade=False, solution=False, locked=False, task=False, schema_version=3)
    return {"nbgrader": {**meta, "grade_id": "x", **flags}}


def toy_notebook():
    new_code, new_md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook()
    nb.metadata["celltoolbar"] = "Create Assignment"
    nb.cells = [
        new_md("# Lab 9: toy\n\nIntro.", id="title"),
        new_code("import sys", id="setup", metadata={"tags": ["remove-cell"]}),
        new_code(
            "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            id="solution",
            metadata=grading(solution=True),
        ),
        new_code(
            "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(5) == 10  # secret\n### END HIDDEN TESTS",
            id="tests",
            metadata=grading(grade=True, locked=True, points=2),
            outputs=[nbformat.v4.new_output("stream", text="old output")],
            execution_count=3,
        ),
        new_code(
            "### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS",
            id="only-hidden",
            metadata=grading(grade=True, locked=True, points=1),
        ),
        new_md(
            "Because $P = 1$.\n\n=== BEGIN MARK SCHEME ===\nsecret rubric\n=== END MARK SCHEME ===",
            id="answer",
            metadata=grading(grade=True, solution=True, points=2),
        ),
        new_code(
            "# YOUR CODE HERE\nraise NotImplementedError()\nprint(1)",
            id="stub",
            metadata={"tags": ["hide-input"]},
        ),
    ]
    return nb


def test_clean_source(prepare_book):
    src = "a\n### BEGIN SOLUTION\nb\n### END SOLUTION\n### BEGIN HIDDEN TESTS\nc\n### END HIDDEN TESTS\nd"
    assert prepare_book.clean_source(src) == "a\nb\nd"
    assert (
        prepare_book.clean_source("    # YOUR CODE HERE\n    raise NotImplementedError()\nx") == "x"
    )


def test_transform(prepare_book):
    nb = toy_notebook()
    before = nbformat.writes(nb)
    page = prepare_book.transform(nb, "lab9_toy")
    assert nbformat.writes(nb) == before, "the solution notebook itself is left alone"
    cells = {c.id: c for c in page.cells}
    text = nbformat.writes(page)
    for leak in (*LEAKS, "nbgrader", "secret", "YOUR CODE HERE", "NotImplementedError"):
        assert leak not in text, leak

    assert [c.id for c in page.cells] == [
        "title",
        "open-in-colab",
        "setup",
        "solution",
        "tests",
        "answer",
        "stub",
    ]  # badge under the title; the cell that held only hidden tests is gone
    assert "notebooks/lab9_toy/lab9_toy.ipynb" in cells["open-in-colab"].source
    assert "colab.research.google.com/github/" in cells["open-in-colab"].source
    assert cells["solution"].source == "def f(x):\n    return 2 * x"
    assert cells["tests"].source == "assert f(1) == 2"
    assert cells["tests"].metadata["tags"] == ["remove-cell"]
    assert cells["tests"].outputs == [] and cells["tests"].execution_count is None
    assert cells["setup"].metadata["tags"] == ["remove-cell"]
    assert cells["stub"].metadata["tags"] == ["hide-input"] and cells["stub"].source == "print(1)"
    assert cells["answer"].source.startswith("```{admonition} Reference answer")
    assert "Because $P = 1$." in cells["answer"].source
    assert "celltoolbar" not in page.metadata
    nbformat.validate(page)
    assert (
        nbformat.writes(prepare_book.transform(toy_notebook(), "lab9_toy")) == text
    )  # deterministic


def test_transform_keeps_an_existing_badge(prepare_book):
    import course_url

    nb = toy_notebook()
    badge = course_url.colab_badge(course_url.student_notebook("lab9_toy"))
    nb.cells[0].source += f"\n\n{badge}"
    page = prepare_book.transform(nb, "lab9_toy")
    assert "open-in-colab" not in [c.id for c in page.cells]


def test_reference_answer_fence_outlasts_code_in_the_answer(prepare_book):
    boxed = prepare_book.reference_answer("Like this:\n\n````python\nx = 1\n````")
    assert boxed.startswith("`````{admonition}") and boxed.endswith("\n`````")


def test_benchmark_snippets(prepare_book, tmp_path):
    """The appendix shows the committed benchmark JSON, or says that there is none."""
    empty = prepare_book.benchmark_snippets(tmp_path)
    assert empty["benchmark_cpu.md"].startswith("No CPU results")
    assert empty["benchmark_gpu.md"].startswith("No GPU results yet")
    committed = prepare_book.benchmark_snippets()
    assert "| 16 | labutils |" in committed["benchmark_cpu.md"]
    assert committed["benchmark_cpu.md"].startswith("`cpu.json`: cpu")


def test_toc_lists_every_solution(prepare_book):
    assert sorted(prepare_book.toc_labs()) == sorted(p.stem for p in SOLUTIONS)


# ---------------------------------------------------------------------------- the build


@pytest.mark.slow
@pytest.mark.skipif(not SOLUTIONS, reason="no solution notebooks yet")
def test_book_builds_without_warnings(tmp_path):
    env = smoke_env()
    env.pop("MPLBACKEND", None)  # the kernels must use the inline backend, or no figure is saved
    prepare = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "prepare_book.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert prepare.returncode == 0, prepare.stderr
    jupyter_book = shutil.which("jupyter-book", path=env["PATH"])
    build = subprocess.run(
        [
            jupyter_book,
            "build",
            str(ROOT),
            "-W",
            "-n",
            "--keep-going",
            "--path-output",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        # the smoke-profile build takes about 30 s on 2 cores; a kernel that lost a reply (see
        # the ipykernel note in pyproject.toml) would otherwise hold CI for the 3600 s cell limit
        timeout=600,
    )
    log = re.sub(r"\x1b\[[0-9;]*m", "", build.stdout + build.stderr)
    problems = [
        line
        for line in log.splitlines()
        if re.search(r"WARNING|ERROR|Error\b", line) and "over TCP" not in line
    ]
    assert build.returncode == 0, "\n".join(problems[:40]) + "\n...\n" + log[-3000:]

    out = tmp_path / "_build" / "html"
    for page in ("intro", "setup", "data", "instructor", "api"):
        assert (out / "book" / f"{page}.html").is_file(), page
    assert (out / "index.html").is_file()

    for solution in SOLUTIONS:
        page = out / "book" / "_generated" / f"{solution.stem}.html"
        text = page.read_text(encoding="utf-8")
        words = html.unescape(re.sub(r"<[^>]+>", "", text))  # what the reader sees
        for leak in LEAKS:
            assert leak not in words, f"{page.name} shows {leak!r}"
        for line in hidden_lines(solution):
            assert line not in words, f"{page.name} shows a hidden test or mark scheme: {line}"
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', text)
        assert images, f"{page.name} has no figures"
        for src in images:
            assert (page.parent / src).resolve().is_file(), src
        student = f"notebooks/{solution.stem}/{solution.stem}.ipynb"
        assert "colab.research.google.com/github/" in text and student in text
        assert "Reference answer" in text


def hidden_lines(path) -> list[str]:
    """Distinctive lines that only the hidden tests and mark schemes of a solution hold."""
    hidden, shown, inside = set(), set(), False
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            if re.search(r"BEGIN (HIDDEN TESTS|MARK SCHEME)", line):
                inside = True
            elif re.search(r"END (HIDDEN TESTS|MARK SCHEME)", line):
                inside = False
            else:
                (hidden if inside else shown).add(line.strip())
    return sorted(line for line in hidden - shown if len(line) > 30)
