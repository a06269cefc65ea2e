"""Shared fixtures. Every test runs with HOME, Jupyter, IPython and Matplotlib folders in a
temporary directory, so nothing reads or writes the user's own files."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_url  # noqa: E402
import hermetic  # noqa: E402  (tests/hermetic.py)

from labutils import config  # noqa: E402

# A fixed thread count in the test process: labutils' default follows the machine's load
# (config.LoadFollower), and a changed count changes the last bits of a run, which tests that
# compare two runs bit for bit would see as a flaky failure. Not in the environment: a grading
# worker's kernels must keep the share of the cores scripts/grade.py gives them.
config.configure_threads(follow=False)

SOLUTIONS = course_url.solution_notebooks()  # solutions/<lab>/<lab>.ipynb


@pytest.fixture(autouse=True, scope="session")
def hermetic_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ.update(hermetic.home_env(home), PYDEVD_DISABLE_FILE_VALIDATION="1")
    os.environ.pop("NBGRADER_EXECUTION", None)
    os.environ.pop("LABUTILS_PROFILE", None)
    os.environ.pop("LABUTILS_DEVICE", None)
    yield home
    os.environ.clear()
    os.environ.update(saved)


def smoke_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that runs notebooks: smoke profile, CPU, this Python first."""
    env = dict(os.environ)
    env.update(LABUTILS_PROFILE="smoke", LABUTILS_DEVICE="cpu", **extra)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture
def bundled_copy(tmp_path, monkeypatch):
    """A private copy of labutils' bundled folder that the loaders read instead."""
    from labutils import data

    copy = tmp_path / "bundled"
    shutil.copytree(data.BUNDLED_DIR, copy)
    monkeypatch.setattr(data, "BUNDLED_DIR", copy)
    return copy


def corrupt(path: Path) -> None:
    """Flip every bit of the middle byte of ``path``."""
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module: on a shared 2-core machine two threads wait on each other."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
