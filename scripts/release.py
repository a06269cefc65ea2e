"""Regenerate the student notebooks in notebooks/ from the solution notebooks in solutions/.

    python scripts/release.py               # every assignment in solutions/
    python scripts/release.py lab1_dcgan    # only the ones named

Runs nbgrader's `generate_assignment --force` with the repository's nbgrader_config.py in a
temporary course directory (so no gradebook.db or other junk is left in the repository), then
mirrors the result into notebooks/<assignment>/: changed files are rewritten, stale ones
removed, unchanged ones left alone. The output is deterministic: a second run changes nothing.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "solutions"
RELEASE = "notebooks"
# Never released, even outside a git checkout: hidden files, caches, training runs.
JUNK = {"__pycache__", "runs"}


def assignments(source: Path = ROOT / SOURCE) -> list[str]:
    """Every assignment: a folder of solutions/ holding at least one notebook."""
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_files(folder: Path) -> list[Path]:
    """The files of an assignment folder that git would commit (tracked, or new and not ignored).

    Running a solution notebook in place leaves ignored files next to it (checkpoints in runs/,
    .ipynb_checkpoints/); nbgrader would release every file it finds, so only these are copied.
    Outside a git checkout: every file but hidden ones and ``JUNK``.
    """
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\0")
        files = [folder / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        files = list(folder.rglob("*"))
    return sorted(
        f
        for f in files
        if f.is_file()
        and not any(p.startswith(".") or p in JUNK for p in f.relative_to(folder).parts)
    )


def nbgrader_config(course_root: Path):
    """The repository's nbgrader_config.py, with the course (and its gradebook) at ``course_root``."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = f"sqlite:///{course_root / 'gradebook.db'}"
    config.CourseDirectory.source_directory = SOURCE
    config.CourseDirectory.release_directory = RELEASE
    return config


def use_this_python() -> None:
    """Put this interpreter's bin/ first on PATH: nbgrader runs `alembic` from PATH to open a
    gradebook, and `make release` runs .venv/bin/python without activating the venv."""
    bindir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def generate(course_root: Path, names: list[str], source: Path = ROOT / SOURCE) -> None:
    """Copy ``source``/<name> into ``course_root`` and run generate_assignment there for each name.

    Leaves ``course_root/notebooks/<name>/`` and the gradebook in ``course_root``.
    Raises RuntimeError with nbgrader's log when generation fails.
    """
    from nbgrader.apps import NbGraderAPI

    use_this_python()
    for name in names:
        src = source / name
        if not any(src.glob("*.ipynb")):
            raise FileNotFoundError(f"no notebooks in {src}")
        dst = course_root / SOURCE / name
        if dst.exists():
            shutil.rmtree(dst)
        for f in source_files(src):
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    api = NbGraderAPI(config=nbgrader_config(course_root))
    for name in names:
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            raise RuntimeError(
                f"nbgrader generate_assignment {name} failed:\n"
                f"{result.get('log', '')}\n{result.get('error', '')}"
            )


def differences(src: Path, dst: Path) -> tuple[list[Path], list[Path]]:
    """What makes ``dst`` differ from ``src``: (files to write, files to remove), relative paths.

    A file is to write when ``dst`` lacks it or its bytes differ; to remove when only ``dst`` has it.
    """
    wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    present = {p.relative_to(dst) for p in dst.rglob("*") if p.is_file()} if dst.exists() else set()
    write = [r for r in sorted(wanted) if r not in present or not filecmp.cmp(src / r, dst / r, shallow=False)]
    return write, sorted(present - wanted)


def mirror(src: Path, dst: Path) -> list[str]:
    """Make ``dst`` an exact copy of ``src``, touching only what differs; returns what changed."""
    write, remove = differences(src, dst)
    for rel in remove:
        (dst / rel).unlink()
    for p in sorted(dst.rglob("*"), reverse=True) if dst.exists() else []:  # emptied folders
        if p.is_dir() and not any(p.iterdir()):
            p.rmdir()
    for rel in write:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst / rel)
    dst.mkdir(parents=True, exist_ok=True)
    return [f"removed {r}" for r in remove] + [f"wrote {r}" for r in write]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", nargs="*", help="assignments to release (default: all)")
    args = parser.parse_args(argv)
    names = args.assignment or assignments()
    if not names:
        print(f"no assignments in {ROOT / SOURCE}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        generate(Path(tmp), names)
        for name in names:
            changed = mirror(Path(tmp) / RELEASE / name, ROOT / RELEASE / name)
            for line in changed:
                print(f"{RELEASE}/{name}: {line}")
            if not changed:
                print(f"{RELEASE}/{name}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
