"""The committed student notebooks (notebooks/) are exactly what nbgrader generates from solutions/."""

from __future__ import annotations

import json

from nbgrader_harness import ROOT, release

FIX = "run `make release` and commit notebooks/"


def _files(folder):
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


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
        want, have = _files(fresh), _files(committed) if committed.exists() else set()
        problems += [f"missing: notebooks/{name}/{p}" for p in sorted(want - have)]
        problems += [f"not generated: notebooks/{name}/{p}" for p in sorted(have - want)]
        for rel in sorted(want & have):
            a, b = fresh / rel, committed / rel
            same = (
                json.loads(a.read_text()) == json.loads(b.read_text())
                if rel.suffix == ".ipynb"
                else a.read_bytes() == b.read_bytes()
            )
            if not same:
                problems.append(f"differs from solutions/{name}: notebooks/{name}/{rel}")
    assert not problems, "\n".join(problems + [f"The student notebooks are out of date: {FIX}."])
