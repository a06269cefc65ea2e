"""The browser check itself (tests/book_browser.py) on a made-up book: it finds each problem a
reader would see, and passes a clean page. The real book is checked in test_book.py."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import pytest
from test_book import chromium_or_skip

# a 2x2 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
CLEAN = '<h1 id="top">Title</h1><p>Text.</p><img src="fig.png"><a href="good.html#top">here</a><a href="https://example.org">out</a>'
PAGES = {
    "good": (CLEAN, None),
    "raw_tex": ("<p>The weight \\(\\lambda_\\text{cycle}\\) is 10.</p>", "raw TeX"),
    "pipes": ("<p>| run | mean D loss | | --- | --- |</p>", "table pipes"),
    "broken_image": ('<img src="missing.png">', "image did not load"),
    "network": ('<script src="https://cdn.example.org/lib.js"></script>', "request outside the build"),
    "dead_link": ('<a href="missing.html">x</a>', "broken link"),
    "dead_anchor": ('<a href="good.html#nowhere">x</a>', "no anchor #nowhere"),
    "traceback": ("<pre>Traceback (most recent call last):\n  File x</pre>", "Traceback"),
    "stderr": ('<div class="output stderr"><pre>UserWarning: careful</pre></div>', "stderr"),
    "console": ('<script>console.error("boom")</script>', "console error"),
    "exception": ('<script>null.f()</script>', "page error"),
    "leak": ("<pre>### BEGIN SOLUTION</pre>", "nbgrader marker"),
    "hidden_leak": ("<details><summary>more</summary>### END HIDDEN TESTS</details>", "nbgrader marker"),
    "printed_table": (
        '<div class="cell_output"><pre> K | S=2: P | sizes\n 4 |   1    | 32 -> 16</pre></div>',
        "a table printed as text",
    ),
    "printed_markdown_table": (
        '<div class="cell_output"><pre>run  | loss\n---- | ----\nbasic | 1.2</pre></div>',
        "a table printed as text",
    ),
    "sibling_folder": ('<script src="../../html2/lib.js"></script>', "request outside the build"),
    "meta_anchor": ('<meta name="viewport" content="x"><a href="good.html#viewport">x</a>', "no anchor #viewport"),
    "math_error": (
        '<script>window.MathJax = {}</script><script src="../mathjax/tex-chtml.js"></script>'
        '<p><span class="math">\\(x = \\notamacro{1}\\)</span></p>',
        "MathJax could not render",
    ),
    "math_ok": (
        '<script>window.MathJax = {}</script><script src="../mathjax/tex-chtml.js"></script>'
        '<p><span class="math">\\(\\lambda_\\text{cycle} = \\frac{1}{2}\\)</span></p>',
        None,
    ),
}


def page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    book_browser = chromium_or_skip()
    html = tmp_path_factory.mktemp("fake") / "html"
    (html / "book" / "_generated").mkdir(parents=True)
    (html / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/good.html" />')
    (html / "book" / "fig.png").write_bytes(PNG)
    for name, (body, _) in PAGES.items():
        (html / "book" / f"{name}.html").write_text(page(body))
    mathjax = Path(importlib.util.find_spec("sphinx-mathjax-offline").origin).parent / "static" / "mathjax"
    (html / "mathjax").symlink_to(mathjax)  # inside the build, as _static/mathjax is
    badge = '<article><a href="{url}"><img src="../fig.png"></a></article>'
    pages = {
        "lab7_y": badge.format(url=colab("lab7_y")),
        "lab8_x": badge.format(url=colab("lab7_y")),  # another lab's notebook
        "lab6_z": badge.format(url=colab("lab6_z").replace("/o/r/", "/someone/fork/")),
        "lab5_w": f'<nav><a href="{colab("lab5_w")}"><img src="../fig.png"></a></nav>',  # a header button only
    }
    for name, body in pages.items():
        (html / "book" / "_generated" / f"{name}.html").write_text(page(body))
    return book_browser.check_book(html, tmp_path_factory.mktemp("shots"), colab_url=colab)


def colab(lab: str) -> str:
    return f"https://colab.research.google.com/github/o/r/blob/main/notebooks/{lab}/{lab}.ipynb"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAGES))
def test_browser_check_finds_the_problem(results, name):
    problems = results[f"book/{name}.html"]
    expected = PAGES[name][1]
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


@pytest.mark.slow
def test_browser_check_reads_colab_badges_and_redirects(results):
    assert results["index.html"] == []
    assert results["book/_generated/lab7_y.html"] == []
    for lab in ("lab8_x", "lab6_z", "lab5_w"):
        assert any("Colab badge" in p for p in results[f"book/_generated/{lab}.html"]), lab
