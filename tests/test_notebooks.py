"""Execute every solution notebook with nbval in the smoke profile (seconds of training)."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SOLUTIONS, smoke_env


@pytest.mark.slow
@pytest.mark.parametrize("notebook", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_notebook_runs_in_the_smoke_profile(notebook: Path, tmp_path):
    # run in a copy so checkpoints (runs/) and outputs land in tmp_path, not in the repo
    copy = tmp_path / notebook.name
    copy.write_bytes(notebook.read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", "--nbval-cell-timeout=300", copy.name],
        cwd=tmp_path, env=smoke_env(LABUTILS_RUNS=str(tmp_path / "runs")),
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert any((tmp_path / "runs").rglob("*.pt")), "the notebook trained and saved checkpoints"
