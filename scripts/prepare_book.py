"""Write the pages the book executes: solutions/<lab>/<lab>.ipynb -> book/_generated/<lab>.ipynb.

The reader sees the reference solution as clean code and the reference answers, never
nbgrader's markers or hidden tests:

- lines with ``BEGIN SOLUTION`` / ``END SOLUTION`` (and the stubs ``# YOUR CODE HERE``,
  ``raise NotImplementedError()``) are deleted; so are the regions ``BEGIN HIDDEN TESTS`` ..
  ``END HIDDEN TESTS`` and ``BEGIN MARK SCHEME`` .. ``END MARK SCHEME``;
- autograder test cells (grade, not solution) get the tag ``remove-cell``: the book still runs
  them, so a build proves that the solution passes its visible tests;
- manually graded written answers (grade and solution, markdown) go into a "Reference answer"
  admonition;
- nbgrader metadata and outputs are dropped, other tags kept, cells left empty removed;
- an "Open in Colab" badge for the student notebook goes under the title, unless the notebook
  already has one; its image is the book's own (book/images/), so that it shows offline.

It also writes the snippets other pages include: the Colab links and setup cell (book/setup.md)
and the tables of the committed benchmark results (book/performance.md).

The output depends only on the input and `_config.yml`, so a rerun changes nothing.

    python scripts/prepare_book.py [SOLUTION.ipynb ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import course_url
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import results_table  # noqa: E402  (benchmarks/ is not a package)

GENERATED = "book/_generated"
BADGE = "../images/open-in-colab.svg"  # book/images/open-in-colab.svg, from book/_generated/

MARKERS = ("BEGIN SOLUTION", "END SOLUTION")  # matched anywhere in a line, as nbgrader does
STUBS = ("# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE")
REGIONS = {"BEGIN HIDDEN TESTS": "END HIDDEN TESTS", "BEGIN MARK SCHEME": "END MARK SCHEME"}


def clean_source(source: str) -> str:
    """``source`` without solution markers, stubs, hidden tests and mark schemes."""
    kept: list[str] = []
    end = None  # the end marker of the region being skipped
    for line in source.splitlines():
        if end is not None:
            end = None if end in line else end
            continue
        end = next((e for b, e in REGIONS.items() if b in line), None)
        if end is None and not any(m in line for m in MARKERS) and line.strip() not in STUBS:
            kept.append(line)
    return "\n".join(kept).strip("\n")


def reference_answer(source: str) -> str:
    """A written answer inside a "Reference answer" admonition (fence longer than any inside)."""
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`{3,}", source))])
    return f"{fence}{{admonition}} Reference answer\n:class: tip\n\n{source}\n{fence}"


def _add_tag(cell, tag: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def transform(nb, lab: str, config: Path = course_url.CONFIG):
    """The book page for ``lab`` made from its solution notebook ``nb`` (left unchanged)."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        grading = cell.metadata.pop("nbgrader", {})
        cell.source = clean_source(cell.source)
        if not cell.source.strip():
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if grading.get("grade") and not grading.get("solution"):
                _add_tag(cell, "remove-cell")
        elif cell.cell_type == "markdown" and grading.get("grade") and grading.get("solution"):
            cell.source = reference_answer(cell.source)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("celltoolbar", None)

    student = course_url.student_notebook(lab)
    if not any(student in c.source for c in cells if c.cell_type == "markdown"):
        badge = nbformat.v4.new_markdown_cell(
            f"{course_url.colab_badge(student, config, image=BADGE)} "
            "The student notebook, without the solutions.",
            id="open-in-colab",
        )
        titled = (
            bool(cells) and cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
        )
        nb.cells.insert(1 if titled else 0, badge)
    return nb


def snippets(pages: dict[str, dict], config: Path = course_url.CONFIG) -> dict[str, str]:
    """Markdown files that book/setup.md includes: the Colab links and the real setup cell."""
    links = []
    for lab, nb in pages.items():
        title = next(
            (c.source.splitlines()[0].lstrip("# ") for c in nb.cells if c.source.startswith("# ")),
            lab,
        )
        links.append(
            f"- [{title}]({course_url.colab_url(course_url.student_notebook(lab), config)})"
        )
    code = [c.source for nb in pages.values() for c in nb.cells if c.cell_type == "code"]
    setup = (
        f"```ipython3\n{code[0]}\n```"
        if code
        else f"```ipython3\n{course_url.pip_install_line(config)}\n```"
    )
    return {"colab_links.md": "\n".join(links) + "\n", "setup_cell.md": setup + "\n"}


def benchmark_snippets(folder: Path = results_table.RESULTS) -> dict[str, str]:
    """Markdown files that book/performance.md includes: the committed benchmark results."""
    return {
        "benchmark_cpu.md": results_table.markdown(
            results_table.result_files("cpu", folder),
            none="No CPU results: run `make benchmark` and commit `benchmarks/results/cpu.json`.",
        ),
        "benchmark_gpu.md": results_table.markdown(
            results_table.result_files("cuda", folder),
            none="No GPU results yet: no GPU was available to the sessions that measured. "
            "On a machine with one, run `make benchmark-gpu` and commit "
            "`benchmarks/results/cuda-*.json`; the tables appear here.",
        ),
        "profile_cpu.md": results_table.profile_markdown(profile)
        if (profile := folder / "profiles" / "cpu-b16.json").is_file()
        else "No profile: run `python benchmarks/step_profile.py` and commit its JSON.\n",
    }


def _write(path: Path, text: str) -> None:
    """Write only when the text changes, so a rerun leaves the files untouched."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _toc_files(node):
    if isinstance(node, dict):
        yield from [node["file"]] if "file" in node else []
        for value in node.values():
            yield from _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _toc_files(item)


def toc_labs(root: Path = ROOT) -> list[str]:
    """The labs whose generated page `_toc.yml` lists."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    prefix = f"{GENERATED}/"
    return [
        f.removeprefix(prefix).removesuffix(".ipynb")
        for f in _toc_files(toc)
        if f.startswith(prefix)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "sources",
        nargs="*",
        type=Path,
        help="solution notebooks (default: solutions/<lab>/<lab>.ipynb)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / GENERATED, help="output folder (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    sources = args.sources or course_url.solution_notebooks()
    args.out.mkdir(parents=True, exist_ok=True)
    pages = {}
    for src in sources:
        pages[src.stem] = transform(nbformat.read(src, as_version=4), src.stem)
        _write(args.out / f"{src.stem}.ipynb", nbformat.writes(pages[src.stem]) + "\n")
        print(f"{src} -> {args.out / src.stem}.ipynb")
    for name, text in {**snippets(pages), **benchmark_snippets()}.items():
        _write(args.out / name, text)

    missing = [lab for lab in toc_labs() if not (args.out / f"{lab}.ipynb").exists()]
    if missing:
        print(
            f"_toc.yml lists {missing}, but there is no solutions/<lab>/<lab>.ipynb for them",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
