"""labutils/bundled/MANIFEST.json in one format, for the scripts that write bundled files.

scripts/build_data.py writes the data files' entries, scripts/train_feature_net.py the metric
weights' entry; labutils.data checks every file against its sha256 when it loads it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def write_json(path: Path, obj) -> None:
    """JSON as the bundled files keep it: indent 1, sorted keys, ASCII, final newline."""
    path.write_text(json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=True) + "\n")


def file_entry(path: Path) -> dict:
    """The checksum part of a manifest entry: sha256 and size of the file's bytes."""
    raw = path.read_bytes()
    return {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
