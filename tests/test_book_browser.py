"""The browser check itself (tests/book_browser.py) on a made-up book: it finds each problem a
reader would see, and passes a clean page. The real book is checked in test_book.py."""

from __future__ import annotations

import base64

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
    badge = '<a href="https://colab.research.google.com/github/o/r/blob/main/notebooks/lab8_x/lab8_x.ipynb"><img src="../fig.png"></a>'
    (html / "book" / "_generated" / "lab9_toy.html").write_text(page(badge))
    good_badge = badge.replace("lab8_x", "lab7_y")
    (html / "book" / "_generated" / "lab7_y.html").write_text(page(good_badge))
    return book_browser.check_book(html, tmp_path_factory.mktemp("shots"))


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
    assert any("Colab badge" in p for p in results["book/_generated/lab9_toy.html"])
