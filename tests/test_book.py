"""The book: prepare_book's cleaning of a solution notebook (fast), and a real build (slow)."""

from __future__ import annotations

import html
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from book_browser import LEAKS
from conftest import ROOT, SOLUTIONS, corrupt, smoke_env


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


def build_book(path_output, env, *options: str) -> tuple[subprocess.CompletedProcess, str]:
    """`jupyter-book build` of the repository into ``path_output``; (result, log without colours)."""
    jupyter_book = shutil.which("jupyter-book", path=env["PATH"])
    build = subprocess.run(
        [jupyter_book, "build", str(ROOT), *options, "-W", "-n", "--keep-going", "--path-output", str(path_output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        # the smoke-profile build takes about 2.5 min on 2 cores; a kernel that lost a reply (see
        # the ipykernel note in pyproject.toml) would otherwise hold CI for the 3600 s cell limit
        timeout=900,
    )
    return build, re.sub(r"\x1b\[[0-9;]*m", "", build.stdout + build.stderr)


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The book built once in the smoke profile: (output folder, environment, build log)."""
    if not SOLUTIONS:
        pytest.skip("no solution notebooks yet")
    out = tmp_path_factory.mktemp("book")
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
    build, log = build_book(out, env)
    problems = [
        line
        for line in log.splitlines()
        if re.search(r"WARNING|ERROR|Error\b", line) and "over TCP" not in line
    ]
    assert build.returncode == 0, "\n".join(problems[:40]) + "\n...\n" + log[-3000:]
    return out, env, log


@pytest.mark.slow
def test_book_builds_without_warnings(built_book):
    tmp_path, _, log = built_book
    executed = re.findall(r"(\S+): Executed notebook", log)
    assert len(executed) == len(SOLUTIONS) + 1, f"every lab page and the data page run: {executed}"
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


# ---------------------------------------------------------------------------- the execution cache


@pytest.mark.slow
def test_rebuild_with_nothing_changed_executes_nothing(built_book):
    out, env, _ = built_book
    build, log = build_book(out, env)
    assert build.returncode == 0, log[-3000:]
    assert "Executed notebook" not in log and "Executing notebook" not in log, log[-3000:]
    # --all re-reads every page: each executed page now comes from the cache
    build, log = build_book(out, env, "--all")
    assert build.returncode == 0, log[-3000:]
    assert "Executed notebook" not in log, log[-3000:]
    assert len(re.findall(r"Using cached notebook", log)) == len(SOLUTIONS) + 1, log[-3000:]


@pytest.fixture
def book_build(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    return importlib.import_module("book_build")


def fake_root(tmp_path):
    (tmp_path / "labutils" / "bundled").mkdir(parents=True)
    (tmp_path / "labutils" / "models.py").write_text("W = 1\n")
    (tmp_path / "labutils" / "bundled" / "data.npz").write_bytes(b"\x00" * 64)
    return tmp_path


def test_fingerprint_sees_labutils_data_and_profile(book_build, tmp_path):
    root = fake_root(tmp_path)
    env = {"LABUTILS_PROFILE": "quick"}
    key = book_build.fingerprint(root, env)
    assert key == book_build.fingerprint(root, dict(env)), "deterministic"
    (root / "labutils" / "__pycache__").mkdir()
    (root / "labutils" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"x")
    assert book_build.fingerprint(root, env) == key, "byte code is not an input"
    assert book_build.fingerprint(root, {"LABUTILS_PROFILE": "full"}) != key
    assert book_build.fingerprint(root, {**env, "LABUTILS_DEVICE": "cuda"}) != key
    assert book_build.fingerprint(root, {**env, "LABUTILS_WIDGETS": "0"}) != key
    assert book_build.fingerprint(root, {**env, "NBGRADER_EXECUTION": "autograde"}) != key
    assert book_build.fingerprint(root, {**env, "UNRELATED": "1"}) == key
    (root / "labutils" / "models.py").write_text("W = 2\n")
    changed_code = book_build.fingerprint(root, env)
    assert changed_code != key
    corrupt(root / "labutils" / "bundled" / "data.npz")
    assert book_build.fingerprint(root, env) not in (key, changed_code)
    (root / "labutils" / "new.py").write_text("")
    assert book_build.fingerprint(root, env) != changed_code


def test_fingerprint_changes_the_cache_key(book_build, tmp_path):
    """jupyter-cache hashes code cells only: pages that differ only by the key hash differently."""
    from jupyter_cache import get_cache

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    cache = get_cache(tmp_path / "cache")
    pages = [
        nbformat.reads(book_build.with_fingerprint(nbformat.writes(nb), ".ipynb", key), as_version=4)
        for key in ("a" * 64, "a" * 64, "b" * 64)
    ]
    hashes = [cache.create_hashed_notebook(page)[1] for page in pages]
    assert hashes[0] == hashes[1] != hashes[2]
    assert pages[0].cells[-1].metadata["tags"] == ["remove-cell"]
    again = book_build.with_fingerprint(nbformat.writes(pages[0]), ".ipynb", "a" * 64)
    assert len(nbformat.reads(again, as_version=4).cells) == 2, "one fingerprint cell, not two"


def test_fingerprint_cell_in_text_notebooks_only(book_build):
    myst = (ROOT / "book" / "data.md").read_text(encoding="utf-8")
    page = book_build.with_fingerprint(myst, ".md", "c" * 64)
    assert page.startswith(myst.rstrip()) and "c" * 64 in page.split(myst.rstrip())[1]
    assert ":tags: [remove-cell]" in page.split(myst.rstrip())[1]
    plain = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    assert book_build.with_fingerprint(plain, ".md", "c" * 64) == plain
    example = "---\ntitle: x\n---\n\n# A page\n\n```\nkernelspec:\n  name: python3\n```\n"
    assert book_build.with_fingerprint(example, ".md", "c" * 64) == example, "only the front matter counts"


def test_fingerprint_follows_labutils_requirements(book_build):
    required = book_build.requirements()
    assert {"torch", "torchvision", "numpy", "matplotlib"} <= set(required), required


def test_new_fingerprint_rereads_every_page(book_build, monkeypatch):
    class Env:
        found_docs = {"a", "b", "c"}

    env = Env()
    monkeypatch.setattr(book_build, "fingerprint", lambda: "one")
    assert book_build.reread_on_new_fingerprint(None, env, {"a"}, set(), set()) == ["b", "c"]
    assert book_build.reread_on_new_fingerprint(None, env, set(), set(), set()) == []
    monkeypatch.setattr(book_build, "fingerprint", lambda: "two")
    assert book_build.reread_on_new_fingerprint(None, env, set(), {"c"}, set()) == ["a", "b"]


def test_pages_get_no_thebe_and_no_repeated_script(book_build):
    from sphinx.builders.html._assets import _JavaScript

    context = {
        "script_files": [
            _JavaScript("doctools.js"),
            _JavaScript(None, body="var x = 1;"),
            _JavaScript("", body="var x = 1;"),
            _JavaScript(None, body='const THEBE_JS_URL = "https://example.org/thebe.js"'),
            _JavaScript("sphinx-thebe.js", **{"async": "async"}),
            _JavaScript(None, body="var y = 2;"),
        ]
    }
    book_build.offline_scripts(None, "page", "page.html", context, None)
    kept = [(s.filename, s.attributes.get("body")) for s in context["script_files"]]
    assert kept == [("doctools.js", None), (None, "var x = 1;"), (None, "var y = 2;")]


# ---------------------------------------------------------------------------- in a browser


def chromium_or_skip():
    """The Chromium to drive, or a skip saying how to get one (a failure where CI requires it)."""
    import book_browser

    missing = None
    if importlib.util.find_spec("playwright") is None:
        missing = "Playwright is not installed: `pip install -e '.[test]'` (make test does)"
    elif book_browser.find_chromium() is None:
        missing = book_browser.HOW_TO_GET_ONE
    if missing:
        if os.environ.get("LABUTILS_REQUIRE_BROWSER"):
            pytest.fail(f"LABUTILS_REQUIRE_BROWSER is set, but {missing}")
        pytest.skip(missing)
    return book_browser


@pytest.mark.slow
def test_book_in_a_browser(built_book):
    """Every page, offline, in headless Chromium; screenshots land in _build/screenshots/."""
    book_browser = chromium_or_skip()
    out, _, _ = built_book
    html = out / "_build" / "html"
    shots = ROOT / "_build" / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)  # only this run's screenshots
    results = book_browser.check_book(html, shots)
    assert "book/intro.html" in results and len(results) >= 6 + len(SOLUTIONS), sorted(results)
    bad = {page: problems for page, problems in results.items() if problems}
    assert not bad, "\n".join(f"{page}:\n  " + "\n  ".join(p) for page, p in bad.items())
    for page in results:
        if page != "index.html":
            shot = shots / (page.replace("/", "__").removesuffix(".html") + ".png")
            assert shot.is_file() and shot.stat().st_size > 10_000, shot
