"""Sample-quality metrics: formulas, the bundled feature net, orderings, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from conftest import corrupt
from torch import nn
from torchmetrics.image.kid import poly_mmd

from labutils import data, metrics, models

METRICS = (metrics.FrechetDistance, metrics.KernelDistance)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def windows_test() -> torch.Tensor:
    return data.load_emoji("windows", split="test")  # (169, 3, 32, 32)


@pytest.fixture(scope="module")
def scorers() -> dict[str, metrics.FrechetDistance | metrics.KernelDistance]:
    real = data.load_emoji("windows", split="train")
    feats = metrics.emoji_features()
    return {cls.__name__: cls(real, features=feats, n=169) for cls in METRICS}


def noise_generator() -> models.DCGenerator:
    torch.manual_seed(0)
    return models.DCGenerator(nz=64, ngf=32).apply(models.dcgan_init)


def test_formulas_match_references():
    """FD against scipy's matrix square root, KD against torchmetrics' KID estimator."""
    g = torch.Generator().manual_seed(0)
    a = torch.rand(300, 1, 2, 3, generator=g) * 2 - 1
    b = (torch.rand(300, 1, 2, 3, generator=g) * 1.6 - 0.9) ** 2 - 0.2
    fa, fb = a.flatten(1).double().numpy(), b.flatten(1).double().numpy()
    sa, sb = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    expected = ((fa.mean(0) - fb.mean(0)) ** 2).sum() + np.trace(sa + sb)
    expected -= 2 * np.trace(scipy.linalg.sqrtm(sa @ sb).real)
    fd = metrics.FrechetDistance(a, features=nn.Flatten())
    assert fd.score(b) == pytest.approx(expected, rel=1e-6)
    kd = metrics.KernelDistance(a, features=nn.Flatten())
    expected_kd = poly_mmd(a.flatten(1).double(), b.flatten(1).double())
    assert kd.score(b) == pytest.approx(float(expected_kd), rel=1e-6)
    assert fd.score(a) == pytest.approx(0, abs=1e-9)


def test_emoji_features_load(windows_test):
    feats = metrics.emoji_features()
    assert isinstance(feats, metrics.EmojiFeatures) and not feats.training
    out = feats(windows_test[:8])
    assert out.shape == (8, feats.num_features) and out.dtype == torch.float32
    assert all(not p.requires_grad for p in feats.parameters())
    # 64x64 input is resized to 32x32 first
    big = F.interpolate(windows_test[:8], scale_factor=2, mode="nearest")
    assert feats(big).shape == (8, feats.num_features)


def test_default_features_by_channels():
    digits, _ = data.load_mnist(split="test", size=32)
    fd = metrics.FrechetDistance(digits[:100], n=10)
    assert fd.features is not None and fd.embed(digits[:4]).shape == (4, 128), "digits: the classifier's features"
    assert isinstance(metrics.default_features(3), metrics.EmojiFeatures)
    assert isinstance(metrics.default_features(2), metrics.RandomConvFeatures)


@pytest.mark.parametrize("name", [cls.__name__ for cls in METRICS])
def test_real_scores_best(scorers, windows_test, name):
    """Held-out real emoji beat a different style, blurred, tile-shuffled and noise images."""
    metric = scorers[name]
    floor = metric.score(windows_test)
    blurred = F.avg_pool2d(F.pad(windows_test, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    tiles = windows_test.unfold(2, 8, 8).unfold(3, 8, 8).reshape(169, 3, 16, 8, 8)
    perm = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    shuffled = tiles[:, :, perm].reshape(169, 3, 4, 4, 8, 8).permute(0, 1, 2, 4, 3, 5)
    shuffled = shuffled.reshape(169, 3, 32, 32)
    noise = metric(noise_generator())  # n = 169, like the floor
    others = {
        "google": metric.score(data.load_emoji("google", split="test")),
        "blurred": metric.score(blurred),
        "shuffled": metric.score(shuffled),
        "noise": noise,
    }
    assert all(floor < v for v in others.values()), (floor, others)
    assert others["blurred"] < others["noise"] and others["shuffled"] < others["noise"]


@pytest.mark.parametrize("cls", METRICS)
def test_deterministic(cls):
    real = data.load_emoji("windows", split="test")
    gen = noise_generator()
    a, b = cls(real, n=64, seed=3), cls(real, n=64, seed=3)
    value = a(gen)
    assert a(gen) == value and b(gen) == value
    assert gen.training  # __call__ restores the generator's mode
    assert cls(real, n=64, seed=4)(gen) != value


def test_kernel_distance_is_unbiased_in_n(scorers, windows_test):
    """KD of a set and of its halves agree on average; FD grows as the set shrinks."""
    kd, fd = scorers["KernelDistance"], scorers["FrechetDistance"]
    google = data.load_emoji("google", split="test")  # ordered by category: halve at random
    halves = google[torch.randperm(169, generator=torch.Generator().manual_seed(0))].split(85)
    assert sum(kd.score(h) for h in halves) / 2 == pytest.approx(kd.score(google), rel=0.25)
    assert sum(fd.score(h) for h in halves) / 2 > 1.2 * fd.score(google)


@pytest.mark.parametrize("cls", METRICS)
def test_bad_images(cls, windows_test):
    metric = cls(windows_test, features=metrics.RandomConvFeatures(), n=8)
    with pytest.raises(ValueError, match="at least 2"):
        metric.score(windows_test[0])
    with pytest.raises(ValueError, match="at least 2"):
        metric.score(windows_test[:1])
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metric.score((windows_test + 1) * 127.5)
    nan = windows_test[:4].clone()
    nan[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metric.score(nan)
    with pytest.raises(ValueError, match="3-channel"):
        metric.score(windows_test[:4, :1])
    with pytest.raises(ValueError, match="at least 2"):
        cls(windows_test[:1])
    with pytest.raises(ValueError, match="take 1-channel images, real has 3"):
        cls(windows_test, features=metrics.RandomConvFeatures(channels=1), n=8)
    with pytest.raises(ValueError, match="n must be"):
        cls(windows_test, n=1)


def test_corrupted_weights_are_caught(bundled_copy, windows_test):
    path = bundled_copy / metrics.FEATURES_FILE
    corrupt(path)
    with pytest.raises(data.DataError, match="corrupt") as err:
        metrics.emoji_features()
    assert "expected sha256" in str(err.value)
    with pytest.raises(data.DataError, match="corrupt"):
        metrics.KernelDistance(windows_test)
    path.unlink()
    with pytest.raises(data.DataError, match="missing"):
        metrics.FrechetDistance(windows_test)
