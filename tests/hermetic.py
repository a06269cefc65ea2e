"""The environment that keeps Jupyter, IPython and Matplotlib out of the user's own files: every
folder they write under one temporary ``home``. Used by the tests (conftest.py) and the benchmarks
that run notebooks."""

from __future__ import annotations

from pathlib import Path


def home_env(home: Path) -> dict[str, str]:
    """HOME, the Jupyter, IPython and Matplotlib folders under ``home``; no progress bars and no
    widgets (no one moves a slider here, labutils/widgets.py says why)."""
    return dict(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
        IPYTHONDIR=str(home / ".ipython"),
        MPLCONFIGDIR=str(home / ".matplotlib"),
        LABUTILS_PROGRESS="0",
        LABUTILS_WIDGETS="0",
    )
