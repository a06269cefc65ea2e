"""The committed student notebooks (notebooks/) are exactly what nbgrader generates from solutions/."""

from __future__ import annotations

from nbgrader_harness import ROOT, release

FIX = "run `make release` and commit notebooks/"


def test_every_assignment_is_released():
    source = set(release.assignments())
    released = {p.name for p in (ROOT / release.RELEASE).iterdir() if p.is_dir()}
    assert source, "no assignments in solutions/"
    assert released == source, (
        f"notebooks/ has {sorted(released)}, solutions/ has {sorted(source)}: {FIX}"
    )


def test_committed_release_matches_generated(tmp_path):
    names = release.assignments()
    release.generate(tmp_path, names)
    problems = []
    for name in names:
        fresh, committed = tmp_path / release.RELEASE / name, ROOT / release.RELEASE / name
        write, remove = release.differences(fresh, committed)  # byte for byte, as `make release`
        problems += [f"missing or differs from solutions/{name}: notebooks/{name}/{p}" for p in write]
        problems += [f"not generated: notebooks/{name}/{p}" for p in remove]
    assert not problems, "\n".join(problems + [f"The student notebooks are out of date: {FIX}."])
