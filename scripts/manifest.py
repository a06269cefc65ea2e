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


def half_state(model) -> dict:
    """A model's state_dict with floating-point tensors stored as float16 (bundled weights)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}


def bundle_weights(path: Path, state: dict, *, description: str, copyright: str, source: dict) -> None:
    """Write the state_dict ``state`` the way bundled weights are kept, then add or replace its
    MANIFEST.json entry (MIT, trained here; ``source`` gets the torch version added) when the
    folder has a manifest. Every other entry is left as it is."""
    import io

    import torch

    buf = io.BytesIO()  # the archive's inner folder name is then "archive", not the file's
    torch.save(state, buf)
    path.write_bytes(buf.getvalue())
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")
    manifest_path = path.parent / "MANIFEST.json"
    if not manifest_path.exists():
        return
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][path.name] = {
        **file_entry(path),
        "description": description,
        "copyright": copyright,
        "license": "MIT",
        "source": {**source, "torch": torch.__version__.split("+")[0]},
    }
    write_json(manifest_path, manifest)
    print(f"updated its entry in {manifest_path}")
