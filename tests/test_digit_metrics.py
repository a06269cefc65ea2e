"""The MNIST kit: the bundled digit classifier and the metrics built on it mean what they say."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
import torchvision.transforms.functional as TF
from conftest import corrupt
from torch import nn

from labutils import config, data, metrics, models, train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def held_out():
    return data.load_mnist(split="test")  # (2000, 1, 28, 28), (2000,)


@pytest.fixture(scope="module")
def digit_metrics():
    return metrics.DigitMetrics()


@pytest.fixture(scope="module")
def floor(digit_metrics):
    return digit_metrics.floor()


def test_classifier_accuracy_on_held_out_digits(held_out):
    x, y = held_out
    clf = metrics.mnist_classifier()
    assert not clf.training and not any(p.requires_grad for p in clf.parameters())
    with torch.no_grad():
        acc = float((clf(x).argmax(1) == y).float().mean())
    assert acc >= 0.98
    manifest = json.loads((data.BUNDLED_DIR / "MANIFEST.json").read_text())
    assert acc == pytest.approx(manifest["files"][metrics.CLASSIFIER_FILE]["source"]["test_accuracy"], abs=1e-4)
    assert metrics.class_accuracy(x, y) == pytest.approx(acc)
    assert metrics.class_accuracy(x, y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]) < 0.2
    x32, _ = data.load_mnist(split="test", size=32)
    assert metrics.class_accuracy(x32, y) == pytest.approx(acc), "32x32 digits are cropped to the same 28x28"


def test_held_out_digits_score_the_floor(digit_metrics, floor):
    train_digits, _ = data.load_mnist(split="train")
    train_part = digit_metrics.score(train_digits[:2000])  # seen digits: the same distribution
    assert floor["fcd"] < 5 and train_part["fcd"] < 5
    assert floor["covered"] == 10 and floor["kl"] < 0.01
    assert floor["confidence"] > 0.97 and floor["plausible"] > 0.9


def _blur(x, sigma):
    return TF.gaussian_blur(x, 4 * math.ceil(sigma) + 1, sigma)


@pytest.mark.parametrize("kind", ["gaussian noise", "uniform noise", "blank", "grey", "blurred", "inverted"])
def test_non_digits_score_far_worse(digit_metrics, floor, held_out, kind):
    x, _ = held_out
    g = torch.Generator().manual_seed(1)
    images = {
        "gaussian noise": lambda: (0.5 * torch.randn(x.shape, generator=g)).clamp(-1, 1),
        "uniform noise": lambda: torch.rand(x.shape, generator=g) * 2 - 1,
        "blank": lambda: torch.full_like(x, -1.0),
        "grey": lambda: torch.zeros_like(x),
        "blurred": lambda: _blur(x, 2.0),
        "inverted": lambda: -x,
    }[kind]()
    s = digit_metrics.score(images)
    assert s["fcd"] > 50 * floor["fcd"], s
    assert s["confidence"] < floor["confidence"] - 0.4, s
    assert s["plausible"] < 0.2, s


def test_blur_worsens_fcd_monotonically(digit_metrics, held_out):
    x, _ = held_out
    fcds = [digit_metrics.score(_blur(x, s))["fcd"] if s else digit_metrics.score(x)["fcd"] for s in (0, 0.7, 1.2, 2.0)]
    assert fcds == sorted(fcds) and fcds[-1] > 100 * fcds[0], fcds


def test_one_digit_class_covers_one_class(held_out):
    x, y = held_out
    freq = torch.bincount(data.load_mnist(split="train")[1], minlength=10).double() / 8000
    for digit in (1, 7):
        only = x[y == digit]
        cov = metrics.mode_coverage(only)
        assert cov["covered"] == 1 and max(cov["histogram"]) > 0.97
        assert cov["histogram"].index(max(cov["histogram"])) == digit
        assert cov["kl"] == pytest.approx(-math.log(freq[digit]), abs=0.1)
    balanced = metrics.mode_coverage(x)
    assert balanced["covered"] == 10 and balanced["kl"] < 0.01
    assert sum(balanced["histogram"]) == pytest.approx(1)
    five = metrics.mode_coverage(x[y < 5])
    # the real proportions within 0..4: KL = log(1 / their total share)
    assert five["covered"] == 5 and five["kl"] == pytest.approx(-math.log(freq[:5].sum()), abs=0.05)  # a few misread as 5..9


def test_metrics_reject_bad_input(held_out):
    x, y = held_out
    with pytest.raises(ValueError, match="28, 28"):
        metrics.mode_coverage(torch.zeros(4, 3, 28, 28))
    with pytest.raises(ValueError, match="range|\\[-1, 1\\]"):
        metrics.plausibility(x[:4] * 3)
    with pytest.raises(ValueError, match="threshold"):
        metrics.plausibility(x[:4], threshold=1.5)
    with pytest.raises(ValueError, match="labels"):
        metrics.class_accuracy(x[:4], y[:3])
    with pytest.raises(ValueError, match="0..9"):
        metrics.class_accuracy(x[:2], torch.tensor([3, 10]))
    with pytest.raises(ValueError, match="real_frequencies"):
        metrics.mode_coverage(x[:4], real_frequencies=[0.5, 0.5])


def test_fcd_agrees_with_torchmetrics(held_out):
    """torchmetrics' FID with the classifier's features as its feature extractor: the same number."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    x, _ = held_out
    feats = metrics.mnist_classifier().features

    class Features(nn.Module):
        num_features = 128

        def forward(self, images):
            return feats(images).double()

    real = data.load_mnist(split="train")[0][:3000]
    fake = _blur(x, 1.0)
    fid = FrechetInceptionDistance(feature=Features(), normalize=False)
    fid.set_dtype(torch.float64)
    fid.update(real, real=True)
    fid.update(fake, real=False)
    ours = metrics.DigitMetrics(real).score(fake)["fcd"]
    assert ours == pytest.approx(float(fid.compute()), rel=1e-4)


def test_corrupted_classifier_is_caught(bundled_copy, held_out):
    corrupt(bundled_copy / metrics.CLASSIFIER_FILE)
    with pytest.raises(data.DataError, match="corrupted"):
        metrics.mnist_classifier()
    (bundled_copy / metrics.CLASSIFIER_FILE).unlink()
    with pytest.raises(data.DataError, match="missing"):
        metrics.DigitMetrics()


def test_default_features_for_digits_are_the_classifier():
    feats = metrics.default_features(1)
    assert isinstance(feats, nn.Sequential) and feats(torch.zeros(2, 1, 28, 28)).shape == (2, 128)


def test_trained_generator_beats_its_early_self(tmp_path):
    """The same run scored at iteration 50 and, resumed from its checkpoint, at 1,000."""
    cfg = dataclasses.replace(config.MNISTGANConfig(), ngf=16, ndf=16, iters=50, sample_every=10**6, eval_every=10**6)
    digits, _ = data.load_mnist(split="train")
    gen, disc = train.mnist_models(cfg)
    ckpt = tmp_path / "run.pt"
    train.train_gan(gen, disc, digits, cfg, checkpoint=ckpt, progress=False, device="cpu")
    m = metrics.DigitMetrics(n=1000)
    early = m(gen)
    train.train_gan(gen, disc, digits, dataclasses.replace(cfg, iters=1000), checkpoint=ckpt, progress=False, device="cpu")
    late = m(gen)
    assert late["fcd"] < early["fcd"] / 3, (early, late)
    assert late["confidence"] > early["confidence"] + 0.2, (early, late)
    assert late["covered"] >= 8, late


def test_digit_metrics_scores_a_generator_deterministically():
    torch.manual_seed(0)
    gen = models.MNISTGenerator(nz=8, ngf=4)
    m = metrics.DigitMetrics(n=64)
    gen.train()
    assert m(gen) == m(gen) and gen.training, "fixed noise; the generator's mode restored"
