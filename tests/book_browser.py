"""Open every page of a built book in headless Chromium, offline, and list what a reader would
see go wrong. The book test runs it on the smoke build; run it yourself on `make book`'s output:

    python tests/book_browser.py [_build/html] [--screenshots DIR]

It drives the system's Chromium (Debian's ``chromium``; ``$CHROMIUM`` names another binary)
through Playwright's Python API: no browser download. Every request that leaves the build
folder is blocked and counted as a problem, so the check is the offline reader's view.

Per page it reports: console errors and uncaught exceptions; failed or blocked requests; images
that did not load (``naturalWidth == 0``); math left as raw TeX; Markdown table pipes in the
text; nbgrader markers; ``Traceback`` and stderr output; internal links to a missing file or
anchor; on a lab page, a Colab badge that does not load or does not open the lab's student
notebook. It saves one full-page screenshot per page.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HOW_TO_GET_ONE = (
    "no Chromium found: install Debian's `chromium` package (`sudo apt-get install chromium`; "
    ".ci/run does this), or point $CHROMIUM at a Chromium or Chrome binary"
)
LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME")  # nbgrader's markers
# TeX that MathJax should have turned into math: delimiters and common commands.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(frac|text|lambda|mathbb|left|right|sum|log|nabla)\b")
TABLE_PIPES = re.compile(r"^\s*\|.*\|\s*$|\|\s*:?-{3,}:?\s*\|", re.M)
# A table printed as text in a cell output: a Markdown separator row, or two lines in a row
# that each hold two or more column bars.
TEXT_TABLE = re.compile(
    r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$|^[^|\n]*\|[^|\n]*\|.*\n[^|\n]*\|[^|\n]*\|.*$", re.M
)
REDIRECT = re.compile(r'http-equiv="Refresh"\s+content="\d+;\s*url=([^"]+)"', re.I)
LAB_PAGE = re.compile(r"_generated/(lab\d+_\w+)\.html$")

# The page's prose: its text without code listings, outputs in <pre> and rendered math.
VISIBLE_TEXT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, mjx-container, .MathJax, script, style, nav.bd-links, .bd-sidebar-primary')
       .forEach(e => e.remove());
  return clone.innerText;
}"""
ALL_TEXT = "() => document.body.textContent"  # closed dropdowns and hidden parts too
IMAGES_LOADED = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null :
    new Promise(done => { img.onload = img.onerror = done; setTimeout(done, 5000); })));
  return images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth}));
}"""
MATH_DONE = """async () => {
  if (!window.MathJax) return {mathjax: false, containers: 0};
  if (MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  return {mathjax: true, containers: document.querySelectorAll('mjx-container').length,
          errors: [...document.querySelectorAll('mjx-merror, mjx-container [style*="color: red"], mjx-container [style*="color:red"]')]
                    .map(e => e.textContent.slice(0, 80))};
}"""
LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
BADGES = """() => [...document.querySelectorAll('article a[href*="colab.research.google.com"], main a[href*="colab.research.google.com"]')]
  .filter(a => a.querySelector('img') && !a.closest('.header-article, .bd-header-article, nav'))
  .map(a => ({href: a.href, src: a.querySelector('img').getAttribute('src'), width: a.querySelector('img').naturalWidth}))"""
COLAB_LINKS = """() => [...document.querySelectorAll('a[href*="colab.research.google.com"]')].map(a => a.href)"""
OUTPUT_TEXT = """() => [...document.querySelectorAll('.cell_output pre, .output pre')].map(e => e.textContent)"""


def find_chromium() -> str | None:
    """The Chromium binary to drive: ``$CHROMIUM``, else the first of CHROMIUM_NAMES on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if Path(named).is_file() else shutil.which(named)
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def pages_of(html: Path) -> list[Path]:
    """Every HTML page of the build (not the copied sources and static files)."""
    skip = {"_static", "_sources", "_images", "_sphinx_design_static"}
    return sorted(p for p in html.rglob("*.html") if not skip & set(p.relative_to(html).parts))


def _ids(page: Path, cache: dict[Path, set[str]]) -> set[str]:
    if page not in cache:
        text = page.read_text(encoding="utf-8", errors="replace")
        cache[page] = set(re.findall(r'(?<![\w-])id="([^"]+)"', text)) | set(
            re.findall(r'<a\s[^>]*?(?<![\w-])name="([^"]+)"', text)
        )
    return cache[page]


def link_problems(page: Path, hrefs: list[str], html: Path, cache: dict) -> list[str]:
    """Internal links of ``page`` to a missing file, or to an anchor the target does not have."""
    problems = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme in ("http", "https", "mailto", "javascript", "data") or parts.netloc:
            continue
        target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link {href!r}")
            continue
        if not target.resolve().is_relative_to(html.resolve()):
            problems.append(f"link {href!r} leaves the book")
        elif parts.fragment and target.suffix == ".html":
            if unquote(parts.fragment) not in _ids(target, cache):
                problems.append(f"link {href!r}: no anchor #{parts.fragment} in {target.name}")
    return problems


def text_problems(visible: str, everything: str, stderr_outputs: int) -> list[str]:
    problems = []
    if m := RAW_TEX.search(visible):
        line = next(li for li in visible.splitlines() if m.group(0) in li)
        problems.append(f"raw TeX in the text: {line.strip()[:120]!r}")
    if m := TABLE_PIPES.search(visible):
        problems.append(f"Markdown table pipes in the text: {m.group(0).strip()[:120]!r}")
    for leak in LEAKS:
        if leak in everything:
            problems.append(f"nbgrader marker {leak!r} on the page")
    if "Traceback" in everything:
        problems.append("a Traceback on the page")
    if stderr_outputs:
        problems.append(f"{stderr_outputs} stderr output(s) on the page")
    return problems


def _listen(page, problems: list[str], root_url: str) -> None:
    """Record on ``problems`` what goes wrong while ``page`` loads; block the network."""

    def route(r):
        url = r.request.url
        if url.startswith((root_url, "data:", "blob:")):
            r.continue_()
        else:
            problems.append(f"request outside the build (blocked): {url[:150]}")
            r.abort()

    def console(msg):
        if msg.type == "error":
            problems.append(f"console error: {msg.text[:200]}")

    def failed(request):
        if request.url.startswith(root_url):  # the others are counted as blocked
            problems.append(f"failed request: {request.url[len(root_url):][:150]}")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", failed)


def course_colab_url(lab: str) -> str:
    """The Colab URL of ``lab``'s student notebook, from the course's one URL (`_config.yml`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import course_url

    return course_url.colab_url(course_url.student_notebook(lab))


def check_book(
    html: Path,
    screenshots: Path | None = None,
    chromium: str | None = None,
    colab_url: Callable[[str], str] = course_colab_url,
) -> dict[str, list[str]]:
    """page (relative to ``html``) -> the problems found on it (empty lists for clean pages).

    ``colab_url(lab)`` is where a lab page's Colab badge and Colab button must point.
    """
    from playwright.sync_api import sync_playwright

    html = html.resolve()
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError(HOW_TO_GET_ONE)
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    root_url = html.as_uri() + "/"  # the build's own files, not a sibling folder's
    results: dict[str, list[str]] = {}
    ids: dict[Path, set[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
        for page_path in pages_of(html):
            name = page_path.relative_to(html).as_posix()
            problems: list[str] = []
            redirect = REDIRECT.search(page_path.read_text(encoding="utf-8", errors="replace"))
            if redirect:  # index.html: a meta refresh to the first page
                results[name] = link_problems(page_path, [redirect.group(1)], html, ids)
                continue
            page = context.new_page()

            _listen(page, problems, root_url)
            page.goto(page_path.as_uri(), wait_until="load")
            images = page.evaluate(IMAGES_LOADED)
            math = page.evaluate(MATH_DONE)
            page.wait_for_load_state("networkidle")
            for img in images:
                if img["width"] == 0:
                    problems.append(f"image did not load: {img['src'][:150]}")
            stderr_outputs = page.locator(".output.stderr, .stderr").count()
            problems += text_problems(page.evaluate(VISIBLE_TEXT), page.evaluate(ALL_TEXT), stderr_outputs)
            problems += link_problems(page_path, page.evaluate(LINKS), html, ids)
            for output in page.evaluate(OUTPUT_TEXT):
                if m := TEXT_TABLE.search(output):
                    problems.append(f"a table printed as text in an output: {m.group(0).strip()[:120]!r}")
            if page.locator("script[type='math/tex'], .math").count() and not math["containers"]:
                problems.append("math on the page, but MathJax rendered none of it")
            for error in math.get("errors", []):
                problems.append(f"MathJax could not render: {error!r}")
            if lab := LAB_PAGE.search(name):
                expected = colab_url(lab.group(1))
                badges = page.evaluate(BADGES)
                if not any(b["href"] == expected and b["width"] > 0 for b in badges):
                    problems.append(f"no loaded Colab badge in the page that opens {expected}: {badges}")
                wrong = [u for u in page.evaluate(COLAB_LINKS) if u != expected]
                if wrong:
                    problems.append(f"Colab links that do not open {expected}: {wrong}")
            if screenshots is not None:
                shot = screenshots / (name.replace("/", "__").removesuffix(".html") + ".png")
                page.screenshot(path=str(shot), full_page=True)
            results[name] = problems
            page.close()
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", nargs="?", type=Path, default=Path("_build/html"))
    parser.add_argument("--screenshots", type=Path, default=None, help="default: HTML/../screenshots")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").is_file():
        print(f"{args.html}: no built book there (run `make book`)", file=sys.stderr)
        return 2
    results = check_book(args.html, args.screenshots or args.html.parent / "screenshots")
    for name, problems in results.items():
        print(f"{'ok ' if not problems else 'BAD'} {name}")
        for p in problems:
            print(f"      {p}")
    return int(any(results.values()))


if __name__ == "__main__":
    sys.exit(main())
