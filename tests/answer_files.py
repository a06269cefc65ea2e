"""Reading the answer files of tests/wrong_answers/ and tests/correct_answers/.

An answer file is Python source made of blocks, each starting with a line ``# cell: <grade_id>``
and holding the full replacement source of that solution cell, up to the next such line or the
end of the file:

    # cell: discriminator_solution
    # (a comment saying what this answer does)
    class Discriminator(nn.Module):
        ...

    # cell: generator_solution
    class Generator(nn.Module):
        ...

A wrong answer has one block (one mistake, in one cell); a correct answer may have several
(each file is one submission, so that many alternatives share one autograding round trip).
"""

from __future__ import annotations

import re
from pathlib import Path

CELL_LINE = re.compile(r"^#\s*cell:\s*(\S+)\s*$")


def read_answer_blocks(path: Path | str) -> list[tuple[str, str]]:
    """[(grade_id, source), ...] of an answer file, in file order.

    Raises ValueError if the first line is not ``# cell: <grade_id>``, if a block is empty, or
    if a grade_id appears twice (the second block would silently win).
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    if not lines or not CELL_LINE.match(lines[0]):
        first = lines[0] if lines else ""
        raise ValueError(f"{path}: the first line must be '# cell: <grade_id>', got {first!r}")
    blocks: list[tuple[str, list[str]]] = []
    for line in lines:
        m = CELL_LINE.match(line)
        if m:
            blocks.append((m.group(1), []))
        else:
            blocks[-1][1].append(line)
    out: list[tuple[str, str]] = []
    for grade_id, body in blocks:
        source = "\n".join(body).strip("\n")
        if not source.strip():
            raise ValueError(f"{path}: the block for {grade_id!r} is empty")
        if any(grade_id == g for g, _ in out):
            raise ValueError(f"{path}: {grade_id!r} appears in two blocks")
        out.append((grade_id, source))
    return out
