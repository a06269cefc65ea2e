"""Bundled data: shapes, ranges, pairing, splits, checksums and fallbacks."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pytest
import torch
from conftest import ROOT, corrupt
from PIL import Image

from labutils import data


@pytest.mark.parametrize("style", data.STYLES)
@pytest.mark.parametrize("size", [32, 64])
def test_emoji_shape_range_dtype(style, size):
    x = data.load_emoji(style, split="test", size=size)
    assert x.dtype == torch.float32
    assert x.shape == (len(data.emoji_names(split="test")), 3, size, size)
    assert x.min() >= -1 and x.max() <= 1
    corners = x[:, :, 0, 0]  # emoji sit on white, and white is 1
    assert (corners > 0.9).float().mean() > 0.9


def test_emoji_splits_are_pairs():
    names = {s: data.emoji_names(split=s) for s in data.SPLITS}
    n_all, n_test = len(names["all"]), len(names["test"])
    assert n_all > 1500
    assert 0.08 < n_test / n_all < 0.12
    assert len(names["train"]) + n_test == n_all
    assert not set(names["train"]) & set(names["test"])
    assert len(set(names["all"])) == n_all
    for style in data.STYLES:
        assert len(data.load_emoji(style, split="all", size=32)) == n_all
    # the same emoji in two styles look alike: pairs are nearer than a shuffled pairing
    g = data.load_emoji("google", split="test", size=32)
    t = data.load_emoji("twitter", split="test", size=32)
    paired = (g - t).abs().mean()
    shuffled = (g - t.roll(1, dims=0)).abs().mean()
    assert paired < 0.8 * shuffled


def test_emoji_smaller_size_is_area_average():
    x64 = data.load_emoji("windows", split="test", size=64)
    x32 = data.load_emoji("windows", split="test", size=32)
    torch.testing.assert_close(x32, x64.unflatten(3, (32, 2)).unflatten(2, (32, 2)).mean((3, 5)))


def test_loaders_return_fresh_tensors():
    a = data.load_emoji("google", split="test")
    a.fill_(0)
    assert data.load_emoji("google", split="test").max() == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="style"):
        data.load_emoji("apple")
    with pytest.raises(ValueError, match="split"):
        data.load_emoji("google", split="val")
    with pytest.raises(ValueError, match="size"):
        data.load_emoji("google", size=48)
    with pytest.raises(ValueError, match="size"):
        data.load_mnist(size=64)
    with pytest.raises(ValueError, match="split"):
        data.emoji_names(split="validation")


@pytest.mark.parametrize("size", [28, 32])
def test_mnist(size):
    x, y = data.load_mnist(split="train", size=size)
    xt, yt = data.load_mnist(split="test", size=size)
    assert x.shape == (8000, 1, size, size) and xt.shape == (2000, 1, size, size)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() == -1 and x.max() == 1
    counts = torch.bincount(torch.cat([y, yt]), minlength=10)
    assert counts.sum() == 10000 and counts.min() > 800 and counts.max() < 1200
    # stratified: each digit's test share is 20% (rounded)
    share = torch.bincount(yt, minlength=10) / counts
    assert torch.allclose(share, torch.full((10,), 0.2), atol=0.005)
    if size == 32:  # padding is background
        assert (x[:, :, :2] == -1).all() and (x[:, :, :, -2:] == -1).all()


def test_manifest_matches_files():
    manifest = json.loads((data.BUNDLED_DIR / "MANIFEST.json").read_text())
    for name, entry in manifest["files"].items():
        assert data.verify(name).stat().st_size == entry["bytes"]
        assert entry["license"] and entry["source"]["version"]
    assert sum(e["bytes"] for e in manifest["files"].values()) < 15e6


def test_corrupted_file_is_caught(bundled_copy):
    path = bundled_copy / "emoji_windows.npz"
    corrupt(path)
    with pytest.raises(data.DataError, match="corrupt") as err:
        data.load_emoji("windows")
    assert "expected sha256" in str(err.value) and "build_data.py" in str(err.value)


def test_missing_file_is_caught(bundled_copy):
    (bundled_copy / "mnist.npz").unlink()
    with pytest.raises(data.DataError, match="missing"):
        data.load_mnist()
    (bundled_copy / "MANIFEST.json").unlink()
    with pytest.raises(data.DataError, match="MANIFEST"):
        data.load_emoji()


def test_full_mnist_offline_falls_back(monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise RuntimeError("no network")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.warns(RuntimeWarning, match="bundled"):
        x, y = data.load_mnist(split="test", full=True)
    assert x.shape == (2000, 1, 28, 28) and y.shape == (2000,)


def test_no_download_unless_full(monkeypatch):
    import torchvision.datasets

    def forbidden(*args, **kwargs):
        raise AssertionError("downloaded without full=True")

    monkeypatch.setattr(torchvision.datasets, "MNIST", forbidden)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.load_mnist(split="test")


def test_image_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("RGBA", (40, 40), (255, 0, 0, 0)).save(tmp_path / "a_clear.png")  # transparent
    Image.new("RGB", (80, 60), (0, 0, 255)).save(tmp_path / "sub" / "b_blue.jpg")
    Image.new("P", (16, 16), 3).save(tmp_path / "c_palette.PNG")
    (tmp_path / "notes.txt").write_text("not an image")
    x = data.load_image_folder(tmp_path, size=16)
    assert x.shape == (3, 3, 16, 16) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert torch.allclose(x[0], torch.ones(3, 16, 16))  # transparent -> white
    blue = x[2].mean((1, 2))  # sorted by path: a_clear, c_palette, sub/b_blue
    assert blue[2] > 0.9 and blue[0] < -0.9


def test_image_folder_errors(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.load_image_folder(tmp_path / "nope")
    with pytest.raises(data.DataError, match="no .* images"):
        data.load_image_folder(tmp_path)


def test_bundled_arrays_are_uint8_and_consistent():
    n = len(data.emoji_names(split="all"))
    for style in data.STYLES:
        with np.load(data.verify(f"emoji_{style}.npz")) as z:
            assert z["images"].dtype == np.uint8 and z["images"].shape == (n, 64, 64, 3)
    with np.load(data.verify("mnist.npz")) as z:
        assert z["images"].shape == (10000, 28, 28) and z["images"].dtype == np.uint8
        assert z["is_test"].sum() == 2000


def test_unreadable_file_is_caught(bundled_copy):
    path = bundled_copy / "mnist.npz"
    path.write_bytes(b"not a zip file")
    manifest = json.loads((bundled_copy / "MANIFEST.json").read_text())
    manifest["files"]["mnist.npz"]["sha256"] = hashlib.sha256(b"not a zip file").hexdigest()
    (bundled_copy / "MANIFEST.json").write_text(json.dumps(manifest))
    with pytest.raises(data.DataError, match="cannot read"):
        data.load_mnist()


def test_manifest_is_in_the_format_the_scripts_write(monkeypatch, tmp_path):
    """scripts/manifest.py rewrites MANIFEST.json byte for byte and agrees with every file."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import manifest

    path = data.BUNDLED_DIR / "MANIFEST.json"
    committed = json.loads(path.read_text())
    manifest.write_json(tmp_path / "MANIFEST.json", committed)
    assert (tmp_path / "MANIFEST.json").read_bytes() == path.read_bytes()
    for name, entry in committed["files"].items():
        assert manifest.file_entry(data.BUNDLED_DIR / name) == {k: entry[k] for k in ("sha256", "bytes")}
