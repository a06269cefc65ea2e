"""Bundled, offline datasets: emoji in three styles and 10,000 MNIST digits.

Every loader returns float32 tensors in [-1, 1] with channels first, ready to index in a
training loop:

    x = data.load_emoji("google", split="train", size=32)   # (N, 3, 32, 32)
    y = data.load_emoji("windows", split="train", size=32)  # same emoji, same order: pairs
    digits, labels = data.load_mnist(split="train")         # (8000, 1, 28, 28), (8000,)

The files live in `labutils/bundled/` and are rebuilt by `scripts/build_data.py`; each is
checked against the sha256 in `MANIFEST.json` before it is used. Licences and attribution
are in `labutils/bundled/ATTRIBUTION.md`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "BUNDLED_DIR",
    "DataError",
    "EMOJI_SIZES",
    "MNIST_SIZES",
    "SPLITS",
    "STYLES",
    "emoji_names",
    "load_emoji",
    "load_image_folder",
    "load_mnist",
    "verify",
]

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
STYLES = ("google", "twitter", "windows")
"""Emoji styles: Google/Noto, Twitter/Twemoji, Windows/Fluent flat."""
SPLITS = ("train", "test", "all")
EMOJI_SIZES = (16, 32, 64)
"""64 is native; smaller sizes are exact box (area) averages of the 64 px images."""
MNIST_SIZES = (28, 32)
"""28 is native; 32 pads 2 background pixels on every side."""
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


class DataError(RuntimeError):
    """A bundled data file is missing, corrupted or unreadable."""


def check_images(x, name: str = "images", *, min_batch: int = 1) -> None:
    """Raise ValueError unless ``x`` is a (B, C, H, W) tensor, B >= min_batch, in [-1, 1].

    The range is what the loaders return and what a tanh generator makes (1e-3 of slack for
    rounding); NaN fails it too.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[0] < min_batch:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: need a batch of at least {min_batch} image(s) (N, C, H, W), got {shape}")
    lo, hi = float(x.min()), float(x.max())
    if not (-1.001 <= lo and hi <= 1.001):  # also False for NaN
        raise ValueError(
            f"{name}: images must be scaled to [-1, 1] (a generator ends in tanh), "
            f"got values in [{lo:.3g}, {hi:.3g}]"
        )


# --------------------------------------------------------------------------- files


def _manifest() -> dict:
    path = BUNDLED_DIR / "MANIFEST.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(
            f"missing {path}; reinstall labutils or run scripts/build_data.py"
        ) from None
    except (OSError, ValueError) as err:
        raise DataError(f"unreadable {path} ({err}); reinstall labutils") from err


@functools.cache
def _checked(path: Path, size: int, mtime_ns: int, expected: str) -> None:
    """Hash a file once per process (per size/mtime, so a replaced file is hashed again)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise DataError(
            f"{path} is corrupted: expected sha256 {expected}, got {digest}; "
            "reinstall labutils or run scripts/build_data.py"
        )


def verify(filename: str) -> Path:
    """Check a bundled file against MANIFEST.json and return its path.

    The hash is computed once per process for each file (a file changed on disk is
    checked again). Raises DataError if the file is missing, unknown or corrupted.
    """
    entry = _manifest()["files"].get(filename)
    if entry is None:
        raise DataError(f"{filename!r} is not listed in {BUNDLED_DIR / 'MANIFEST.json'}")
    path = BUNDLED_DIR / filename
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataError(
            f"missing bundled file {path}; reinstall labutils or run scripts/build_data.py"
        ) from None
    _checked(path, stat.st_size, stat.st_mtime_ns, entry["sha256"])
    return path


@functools.lru_cache(maxsize=8)
def _npz(path: Path, key: str, mtime_ns: int) -> np.ndarray:
    """One array of a verified npz (cached, read-only: callers copy before changing it)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arr = z[key]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"cannot read {key!r} from {path} ({err}); reinstall labutils") from err
    arr.flags.writeable = False
    return arr


def _array(filename: str, key: str) -> np.ndarray:
    path = verify(filename)
    return _npz(path, key, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _index_rows(path: Path, mtime_ns: int) -> tuple[dict, ...]:
    try:
        return tuple(json.loads(path.read_text()))
    except ValueError as err:
        raise DataError(f"cannot read {path} ({err}); reinstall labutils") from err


def _emoji_index() -> tuple[dict, ...]:
    path = verify("emoji_index.json")
    return _index_rows(path, path.stat().st_mtime_ns)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def _mask(is_test: np.ndarray, split: str) -> np.ndarray:
    _check_split(split)
    if split == "all":
        return np.ones(len(is_test), dtype=bool)
    return is_test if split == "test" else ~is_test


def _to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) in 0..255 -> float32 in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


# --------------------------------------------------------------------------- emoji


def _emoji_is_test() -> np.ndarray:
    rows = _emoji_index()
    return np.array([row["is_test"] for row in rows], dtype=bool)


def load_emoji(style: str = "google", *, split: str = "train", size: int = 32) -> torch.Tensor:
    """Emoji images of one style, on a white background.

    Args:
        style: one of STYLES ("google", "twitter", "windows").
        split: "train" (about 90%), "test" (about 10%) or "all". The split is by emoji and
            the same for every style, so index i of two styles is the same emoji.
        size: one of EMOJI_SIZES (16, 32, 64). 64 is native; smaller sizes are area
            (box filter) averages, `F.interpolate(mode="area")`, which is antialiased.

    Returns:
        float32 tensor (N, 3, size, size) in [-1, 1] (white is 1), on the CPU, in the order of
        `emoji_names(split=split)`.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    if size not in EMOJI_SIZES:
        raise ValueError(f"size must be one of {EMOJI_SIZES}, got {size!r}")
    images = _array(f"emoji_{style}.npz", "images")  # (N, 64, 64, 3) uint8
    images = images[_mask(_emoji_is_test(), split)]
    x = _to_float(torch.from_numpy(images).permute(0, 3, 1, 2))  # (N, 3, 64, 64)
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="area")
    return x.contiguous()


def emoji_names(*, split: str = "train") -> list[str]:
    """Short names (e.g. "grinning") of the emoji, in the order `load_emoji` returns them."""
    _check_split(split)
    rows = _emoji_index()
    return [r["short_name"] for r in rows if split == "all" or r["is_test"] == (split == "test")]


# --------------------------------------------------------------------------- MNIST


def _cache_dir() -> Path:
    """Where full=True downloads go: $LABUTILS_CACHE, else ~/.cache/labutils."""
    return Path(os.environ.get("LABUTILS_CACHE", Path.home() / ".cache" / "labutils"))


def _full_mnist(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    parts = {"train": [True], "test": [False], "all": [True, False]}[split]
    sets = [MNIST(root=str(_cache_dir()), train=t, download=True) for t in parts]
    images = torch.cat([s.data for s in sets])  # (N, 28, 28) uint8
    labels = torch.cat([s.targets for s in sets]).long()
    return images, labels


def load_mnist(
    *, split: str = "train", size: int = 28, full: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST digits and their labels.

    Args:
        split: "train", "test" or "all". Bundled: 8,000 / 2,000 / 10,000, stratified by digit.
            With full=True: torchvision's 60,000 / 10,000 / 70,000.
        size: 28 (native) or 32 (2 pixels of background padding on every side).
        full: download the full MNIST with torchvision into $LABUTILS_CACHE (default
            ~/.cache/labutils). If that fails for any reason (e.g. offline), warn and use
            the bundled 10,000. Nothing is ever downloaded unless full=True.

    Returns:
        images: float32 (N, 1, size, size) in [-1, 1], background -1, ink towards 1.
        labels: int64 (N,) digits 0..9.
    """
    _check_split(split)
    if size not in MNIST_SIZES:
        raise ValueError(f"size must be one of {MNIST_SIZES}, got {size!r}")
    images = labels = None
    if full:
        try:
            images, labels = _full_mnist(split)
        except Exception as err:  # noqa: BLE001 - any failure means: use the bundled set
            warnings.warn(
                f"could not get the full MNIST ({type(err).__name__}: {err}); "
                "using the 10,000 bundled digits instead",
                RuntimeWarning,
                stacklevel=2,
            )
    if images is None:
        mask = _mask(_array("mnist.npz", "is_test"), split)
        images = torch.from_numpy(_array("mnist.npz", "images")[mask])  # (N, 28, 28) uint8
        labels = torch.from_numpy(_array("mnist.npz", "labels")[mask])  # (N,) int64
    x = _to_float(images.unsqueeze(1))  # (N, 1, 28, 28)
    if size != 28:
        pad = (size - 28) // 2
        x = F.pad(x, (pad, pad, pad, pad), value=-1.0)
    return x, labels


# --------------------------------------------------------------------------- your images


def load_image_folder(path: str | os.PathLike, *, size: int = 32) -> torch.Tensor:
    """Every .png/.jpg/.jpeg under a folder (recursively, sorted by path) as one tensor.

    Transparent images are composited onto white; non-square images are centre-cropped to
    a square; all are resized to size x size with PIL's antialiased Lanczos filter.

    Returns:
        float32 tensor (N, 3, size, size) in [-1, 1].
    """
    from PIL import Image

    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist (or is not a folder)")
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise DataError(f"no {'/'.join(IMAGE_EXTENSIONS)} images found under {folder}")
    arrays = []
    for file in files:
        try:
            with Image.open(file) as im:
                rgba = im.convert("RGBA")
        except OSError as err:
            raise DataError(f"cannot read image {file} ({err})") from err
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
        w, h = rgb.size
        s = min(w, h)
        rgb = rgb.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
        arrays.append(np.asarray(rgb))
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)  # (N, 3, size, size) uint8
    return _to_float(x).contiguous()
