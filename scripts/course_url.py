"""The course's public repository URL, read from its one home: `_config.yml`'s `repository`.

Everything that names the repository is derived from it here: the Colab links to the student
notebooks (the badges in the solution notebooks and the README, the Colab button of the book's
lab pages) and the requirement `labutils @ git+<url>@<branch>` that each notebook's setup cell
installs on Colab.

    python scripts/course_url.py --check   # exit 1 and list what disagrees with _config.yml
    python scripts/course_url.py --write   # rewrite them (then run `make release`)

It is also a Sphinx extension (`_config.yml`: `sphinx.local_extensions`): the theme's Colab
button on a lab page would open `book/_generated/<lab>.ipynb`, which is not in the
repository, so `setup()` points it at the student notebook `notebooks/<lab>/<lab>.ipynb`
(and drops the launch buttons of the other executed pages, which are not notebooks).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
COLAB = "https://colab.research.google.com"
BADGE_IMAGE = f"{COLAB}/assets/colab-badge.svg"

# What --check/--write look for, whatever URL or branch they hold now.
COLAB_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/[^)\s\"'<>]+?/(notebooks/[\w.-]+/[\w.-]+\.ipynb)"
)
REQUIREMENT = re.compile(r"labutils @ git\+[^\"'\s]+")


def _repository(config: Path = CONFIG) -> dict:
    with open(config, encoding="utf-8") as f:
        return yaml.safe_load(f)["repository"]


def course_url(config: Path = CONFIG) -> str:
    """The public repository, e.g. ``https://github.com/gan-course-lab/gan-lab``."""
    url = str(_repository(config)["url"]).rstrip("/").removesuffix(".git")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(
            f"{config}: repository.url must be https://github.com/ORG/REPO, not {url!r}"
        )
    return url


def branch(config: Path = CONFIG) -> str:
    return str(_repository(config).get("branch", "main"))


def student_notebook(lab: str) -> str:
    """Repository path of a lab's student notebook, e.g. ``notebooks/lab1_dcgan/lab1_dcgan.ipynb``."""
    return f"notebooks/{lab}/{lab}.ipynb"


def colab_url(notebook_path: str, config: Path = CONFIG) -> str:
    """Colab link that opens ``notebook_path`` (relative to the repository root) from GitHub."""
    github = course_url(config).removeprefix("https://github.com/")
    return f"{COLAB}/github/{github}/blob/{branch(config)}/{notebook_path}"


def colab_badge(notebook_path: str, config: Path = CONFIG, image: str = BADGE_IMAGE) -> str:
    """Markdown for the "Open in Colab" badge of ``notebook_path`` (Colab's image by default;
    the book passes its own local copy, so that the badge shows offline)."""
    return f"[![Open In Colab]({image})]({colab_url(notebook_path, config)})"


def requirement(config: Path = CONFIG) -> str:
    """The pip requirement the setup cell installs on Colab: labutils only (Colab has torch)."""
    return f"labutils @ git+{course_url(config)}@{branch(config)}"


def pip_install_line(config: Path = CONFIG) -> str:
    """The install command as a notebook line, e.g. for the README."""
    return f'%pip install -q "{requirement(config)}"'


# ---------------------------------------------------------------------------- check / write


def _fix_text(text: str, config: Path) -> str:
    text = COLAB_LINK.sub(lambda m: colab_url(m.group(1), config), text)
    return REQUIREMENT.sub(lambda m: requirement(config), text)


def solution_notebooks(root: Path = ROOT) -> list[Path]:
    """The labs' solution notebooks, ``solutions/<lab>/<lab>.ipynb``, sorted."""
    return sorted(p for p in (root / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


def targets(root: Path = ROOT) -> list[Path]:
    """Files that name the repository: the README and the solution notebooks."""
    return [root / "README.md", *solution_notebooks(root)]


def sync(root: Path = ROOT, *, write: bool = False) -> list[str]:
    """Problems found: files whose Colab links or install requirement disagree with ``_config.yml``.

    With ``write=True`` the files are rewritten and the problems that remain are returned.
    """
    config = root / "_config.yml"
    problems = []
    for path in targets(root):
        if not path.exists():
            continue
        rel = path.relative_to(root)
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            changed = False
            for cell in nb.cells:
                fixed = _fix_text(cell.source, config)
                changed |= fixed != cell.source
                cell.source = fixed
            if changed and write:
                nbformat.write(nb, path)
            elif changed:
                problems.append(
                    f"{rel}: a Colab link or the install requirement does not match _config.yml"
                )
            code = [c.source for c in nb.cells if c.cell_type == "code"]
            if code and requirement(config) not in code[0]:
                problems.append(
                    f"{rel}: the first code cell does not install {requirement(config)!r}"
                )
        else:
            text = path.read_text(encoding="utf-8")
            fixed = _fix_text(text, config)
            if fixed != text and write:
                path.write_text(fixed, encoding="utf-8")
            elif fixed != text:
                problems.append(f"{rel}: a Colab link does not match _config.yml")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report disagreements (exit 1)")
    mode.add_argument(
        "--write", action="store_true", help="rewrite badges and install requirements"
    )
    args = parser.parse_args(argv)
    if not (args.check or args.write):
        print(course_url())
        return 0
    problems = sync(write=args.write)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.write and not problems:
        print("Colab links and install requirements follow _config.yml; now run `make release`")
    return 1 if problems else 0


# ---------------------------------------------------------------------------- Sphinx extension


def _student_launch_button(app, pagename, templatename, context, doctree) -> None:
    """Lab pages: the Colab button opens the student notebook. Other pages: no launch buttons."""
    buttons = context.get("header_buttons", [])
    if not pagename.startswith("book/_generated/"):
        buttons[:] = [b for b in buttons if b.get("label") != "launch-buttons"]
        return
    url = colab_url(student_notebook(pagename.rsplit("/", 1)[-1]), Path(app.srcdir) / "_config.yml")
    for group in buttons:
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = url
                button["tooltip"] = "Open the student notebook in Colab"


def setup(app):
    # After sphinx-book-theme adds its launch buttons (priority 501), before the page renders.
    app.connect("html-page-context", _student_launch_button, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())
