"""Sample-quality metrics that need no download: Frechet and kernel distances of image features.

Both compare features f(x) in R^d of a fixed set of N real images (the reference) with the
features of n generated images. Lower is better; 0 means "same distribution".

- Frechet distance (the "F" of FID): fit a Gaussian to each set of features and compare them,
  FD = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)).
  It is BIASED: estimated from n images it is too large by a term that shrinks like 1/n, so
  the same generator scores FD 56 on 64 images, 47 on 169 and 42 on 1,000. Compare FDs only
  between sets of the SAME size n.
- Kernel distance (the "K" of KID, Binkowski et al. 2018): the squared maximum mean discrepancy
  with the kernel k(x, y) = (x.y / d + 1)^3, computed with the UNBIASED estimator
  MMD^2 = mean_{i!=j} k(r_i, r_j) + mean_{i!=j} k(g_i, g_j) - 2 mean_{i,j} k(r_i, g_j).
  Its expected value does not depend on n, so a score of 169 images and one of 1,000 images are
  comparable (the smaller set is only noisier). Unbiased also means it is about 0, and can be
  slightly negative, when both sets come from the same distribution.

Features. FID uses an Inception network trained on ImageNet; it cannot be downloaded here and
does not suit 32x32 emoji. For 3-channel images the default is ``EmojiFeatures``: a small CNN
trained by ``scripts/train_feature_net.py`` to tell the 1,417 training emoji apart in all three
styles (and to name the style); its 128-d penultimate layer, rescaled to length sqrt(128), is
the embedding. Its weights are bundled (``bundled/emoji_features.pt``, checked against
MANIFEST.json). For 1-channel images (MNIST) it is the penultimate layer of the bundled digit
classifier (``MNISTClassifier``, below); for any other channel count ``RandomConvFeatures``, a
fixed, seeded, untrained conv net, which is far less discriminative. Numbers depend on the features and
on the reference set: they are comparable with each other, never with published FID/KID values.

The floor (real vs real). Score held-out real images of the same style against the reference:
``metric.score(data.load_emoji(style, split="test"))``, 169 emoji that are not in the reference.
That is what a generator drawing new emoji from the true distribution would score; one that
copies training images can score lower. With ``KernelDistance`` this floor (169 images) and a
generator scored on any n are comparable. With ``FrechetDistance`` they are only if the
generator is scored on 169 images too, ``FrechetDistance(real_train, n=169)``: with n=1000 its
FD is lower by the bias, not by quality.

Windows style, reference = the 1,417 training emoji, generators scored on n=1000 (KD) / 169 (FD):

    images                               KD       FD
    169 test emoji (the floor)          -0.01     7.6
    169 test emoji, google style         0.22    20.9
    DCGAN, 3,200 iterations              0.67    47
    DCGAN, 300 iterations                5.7    218
    untrained DCGAN (noise)              7.5    275
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import data

__all__ = [
    "DigitMetrics",
    "EmojiFeatures",
    "FrechetDistance",
    "MNISTClassifier",
    "KernelDistance",
    "RandomConvFeatures",
    "class_accuracy",
    "default_features",
    "emoji_features",
    "ink_mass",
    "mnist_classifier",
    "mode_coverage",
    "plausibility",
    "slant",
    "style_correlation",
    "translation_errors",
]

M = TypeVar("M", bound=nn.Module)
FEATURES_FILE = "emoji_features.pt"
CLASSIFIER_FILE = "mnist_classifier.pt"


class RandomConvFeatures(nn.Module):
    """Fixed random conv features: three conv-ReLU-pool blocks, global averages of each block.

    Input (B, C, S, S) in [-1, 1] (resized to 32x32); output (B, 224) for ``width=32``.
    """

    def __init__(self, *, channels: int = 3, width: int = 32, seed: int = 1234) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        widths = [channels, width, 2 * width, 4 * width]
        self.blocks = nn.ModuleList()
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            with torch.no_grad():
                std = (2 / (9 * c_in)) ** 0.5
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * std)
                conv.bias.zero_()
            self.blocks.append(nn.Sequential(conv, nn.ReLU(), nn.AvgPool2d(2)))
        self.channels = channels
        self.num_features = sum(widths[1:])
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        x = _resize32(x)
        feats = []
        for block in self.blocks:
            x = block(x)  # 32 -> 16 -> 8 -> 4
            feats.append(x.mean(dim=(2, 3)))
        return torch.cat(feats, dim=1)  # (B, num_features)


class EmojiFeatures(nn.Module):
    """Small CNN whose penultimate layer embeds 32x32 emoji; weights from ``emoji_features()``.

    Input (B, 3, S, S) in [-1, 1] (resized to 32x32); output (B, num_features):

        4 x [conv3x3, BatchNorm, ReLU], max-pool 2 after the first three   (B, 4w, 4, 4)
        global average pool                                                 (B, 4w)
        linear 4w -> num_features, BatchNorm1d (no ReLU)                    (B, num_features)
        e -> sqrt(num_features) e / ||e||                                   (B, num_features)

    with widths w, 2w, 4w, 4w. Trained (``scripts/train_feature_net.py``) with a linear
    classifier on the BatchNorm output for emoji identity and one for style; the heads are not
    kept. The last step puts every embedding on the sphere of radius sqrt(d): x.y / d is then
    the cosine similarity, so the kernel of ``KernelDistance`` is (cos + 1)^3, between 0 and 8,
    and no odd image with huge activations (noise) can dominate a score.
    """

    def __init__(self, *, width: int = 32, num_features: int = 128) -> None:
        super().__init__()
        widths = [3, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out)]
            layers += [nn.ReLU(inplace=True)] + ([nn.MaxPool2d(2)] if i < 3 else [])
        self.conv = nn.Sequential(*layers)
        self.embed = nn.Sequential(
            nn.Linear(widths[-1], num_features), nn.BatchNorm1d(num_features)
        )
        self.channels = 3
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        e = self.unnormalized(x)
        return F.normalize(e, dim=1) * e.shape[1] ** 0.5

    def unnormalized(self, x: Tensor) -> Tensor:
        """The BatchNorm output (B, num_features), before the rescaling (what the heads see)."""
        return self.embed(self.conv(_resize32(x)).mean(dim=(2, 3)))


def _resize32(x: Tensor) -> Tensor:
    """(B, C, S, S) -> (B, C, 32, 32), antialiased; 32x32 input is returned as is."""
    if x.shape[-2:] == (32, 32):
        return x
    return F.interpolate(x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)


def emoji_features() -> EmojiFeatures:
    """The bundled, trained ``EmojiFeatures`` (eval mode, no gradients), on the CPU.

    Raises ``data.DataError`` if the weights file is missing, corrupted or unreadable.
    """
    return _load_bundled(EmojiFeatures(), FEATURES_FILE)


def _load_bundled(model: M, filename: str) -> M:
    """``model`` with the bundled weights ``filename`` (checksum verified), eval mode, frozen."""
    path = data.verify(filename)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)  # float16 on disk, copied into float32 parameters
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as err:
        raise data.DataError(f"cannot load {path} ({err}); reinstall labutils") from err
    return model.requires_grad_(False).eval()


def default_features(channels: int) -> nn.Module:
    """``emoji_features()`` for 3-channel images, the digit classifier's penultimate layer
    (``mnist_classifier().features``) for 1-channel images, ``RandomConvFeatures`` otherwise."""
    if channels == 3:
        return emoji_features()
    if channels == 1:
        return mnist_classifier().features
    return RandomConvFeatures(channels=channels)


class _FeatureDistance:
    """Shared machinery: embed a fixed real set once, then score images or a generator.

    ``m = Metric(real)`` embeds ``real`` (N, C, H, W) in [-1, 1] once, on real's device;
    ``m.score(images)`` scores (B, C, H, W) in [-1, 1], B >= 2; ``m(gen)`` draws ``n`` samples
    from the same seeded noise z ~ N(0, I) of shape (n, nz) every call (``nz`` defaults to
    ``gen.nz``), in eval mode, and scores them.
    """

    def __init__(
        self,
        real: Tensor,
        *,
        features: nn.Module | None = None,
        n: int = 1000,
        nz: int | None = None,
        batch_size: int = 250,
        seed: int = 0,
    ) -> None:
        data.check_images(real, "real", min_batch=2)
        if n < 2:
            raise ValueError(f"n must be at least 2, got {n}")
        self.device = real.device
        features = default_features(real.shape[1]) if features is None else features
        wanted = getattr(features, "channels", real.shape[1])
        if wanted != real.shape[1]:
            raise ValueError(f"the features take {wanted}-channel images, real has {real.shape[1]}")
        self.features = features.to(self.device).eval()
        self.n, self.nz, self.batch_size, self.seed = n, nz, batch_size, seed
        self.channels = real.shape[1]
        feats = self.embed(real)
        with _one_thread():
            self._fit_real(feats)

    @torch.no_grad()
    def embed(self, images: Tensor) -> Tensor:
        """Features of ``images`` (B, C, H, W) in [-1, 1]: float64 (B, d) on the CPU."""
        chunks = [
            self.features(c.to(self.device, torch.float32)).cpu().double()
            for c in images.split(self.batch_size)
        ]
        return torch.cat(chunks)

    def score(self, images: Tensor) -> float:
        """Distance between the real set and ``images`` (B, C, H, W) in [-1, 1], B >= 2."""
        data.check_images(images, "images", min_batch=2)
        if images.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels}-channel images, got {tuple(images.shape)}")
        return self.score_features(self.embed(images))

    def score_features(self, feats: Tensor) -> float:
        """Distance between the real set and images whose features ``feats`` (B, d) are given."""
        if feats.dim() != 2 or feats.shape[0] < 2:
            raise ValueError(f"expected features of shape (B >= 2, d), got {tuple(feats.shape)}")
        with _one_thread():
            return float(self._distance(feats.detach().cpu().double()))

    def samples(self, gen: nn.Module) -> Tensor:
        """``n`` samples of ``gen`` (eval mode) from the fixed noise seeded by ``seed``, on the CPU."""
        from .train import sample  # here: train imports the data loaders, not the metrics

        return torch.cat([sample(gen, c) for c in self.fixed_noise(self.nz or gen.nz).split(self.batch_size)])

    def fixed_noise(self, nz: int) -> Tensor:
        """The ``n`` noise vectors (n, nz) that ``samples`` draws from, the same at every call."""
        return torch.randn(self.n, nz, generator=torch.Generator().manual_seed(self.seed))

    def __call__(self, gen: nn.Module) -> float:
        """Score ``n`` samples of ``gen`` from the fixed noise (seeded by ``seed``)."""
        return self.score(self.samples(gen))

    def _fit_real(self, feats: Tensor) -> None:
        raise NotImplementedError

    def _distance(self, feats: Tensor) -> Tensor:
        raise NotImplementedError


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run small float64 linear algebra (d x d, N x n) on one CPU thread.

    On a busy 2-core machine MKL's threaded eigh of a 128 x 128 matrix took 1.4 s instead of
    1.4 ms: its threads wait for cores the other processes hold. One thread is never slow here.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class FrechetDistance(_FeatureDistance):
    """Frechet distance ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) of the features.

    mu: (d,) feature means; S: (d, d) covariances with the 1/(n-1) normalisation. Computed in
    float64 as Tr((S_r S_g)^(1/2)) = sum sqrt(eig(A S_g A)), A = S_r^(1/2) (symmetric, PSD).
    Biased upwards by O(1/n): compare only scores of equally many images (module docstring).
    """

    def _fit_real(self, feats: Tensor) -> None:
        self.mu_r, cov = feats.mean(0), feats.T.cov()
        w, v = torch.linalg.eigh(cov)
        self.sqrt_r = (v * w.clamp(min=0).sqrt()) @ v.T  # S_r^(1/2)
        self.trace_r = cov.trace()

    def _distance(self, feats: Tensor) -> Tensor:
        mu, cov = feats.mean(0), feats.T.cov()
        cross = torch.linalg.eigvalsh(self.sqrt_r @ cov @ self.sqrt_r).clamp(min=0).sqrt().sum()
        return (self.mu_r - mu).square().sum() + self.trace_r + cov.trace() - 2 * cross


class KernelDistance(_FeatureDistance):
    """Unbiased squared MMD of the features with the cubic kernel k(x, y) = (x.y / d + 1)^3 (KID).

    The estimate is::

        MMD^2 = sum_{i!=j} k(r_i, r_j) / (N(N-1)) + sum_{i!=j} k(g_i, g_j) / (n(n-1))
                - 2 sum_{i,j} k(r_i, g_j) / (N n)

    over all N real and n generated feature vectors (no random subsets, so it is deterministic).
    Its expectation does not depend on N or n: scores of different sample sizes are comparable.
    """

    def _kernel(self, a: Tensor, b: Tensor) -> Tensor:
        return (a @ b.T / a.shape[1] + 1) ** 3

    @staticmethod
    def _off_diagonal_mean(k: Tensor) -> Tensor:
        m = k.shape[0]
        return (k.sum() - k.diagonal().sum()) / (m * (m - 1))

    def _fit_real(self, feats: Tensor) -> None:
        self.real = feats
        self.k_rr = self._off_diagonal_mean(self._kernel(feats, feats))

    def _distance(self, feats: Tensor) -> Tensor:
        k_gg = self._off_diagonal_mean(self._kernel(feats, feats))
        return self.k_rr + k_gg - 2 * self._kernel(self.real, feats).mean()


def _apply(net: nn.Module, x: Tensor, batch_size: int) -> Tensor:
    from .train import sample  # here: train imports the data loaders, not the metrics

    return torch.cat([sample(net, c.float()) for c in x.split(batch_size)])


@torch.no_grad()
def translation_errors(
    g_xy: nn.Module,
    g_yx: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    features: nn.Module | None = None,
    kd_y: KernelDistance | None = None,
    batch_size: int = 250,
) -> dict[str, float]:
    """How well G: X -> Y translates paired test images, and how well F brings them back.

    x, y: (N, C, H, W) in [-1, 1], TRUE PAIRS (row i of both is the same emoji in the two
    styles, as ``data.load_emoji(style, split="test")`` returns them). Both networks run in
    eval mode. Returns (lower is better for all):

    - ``pixel_l1``: mean ``|G(x) - y|`` over pixels, channels and pairs (0 = the true counterpart;
      copying x unchanged scores mean ``|x - y|``, the style gap);
    - ``feature_l2``: mean ``||f(G(x)) - f(y)||`` in the emoji features ``features`` (default: the
      bundled ``emoji_features()``, on the sphere of radius sqrt(128), so between 0 and 22.6);
    - ``cycle_l1``: mean ``|F(G(x)) - x|``, the cycle-reconstruction error;
    - ``kd``: the kernel distance of the translations G(x) to ``kd_y``'s real Y images (only
      when ``kd_y`` is given), i.e. how much G(x) looks like the target style at all.
    """
    data.check_images(x, "x")
    data.check_images(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must be paired images of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    fake_y = _apply(g_xy, x, batch_size)  # G(x): (N, C, H, W)
    rec_x = _apply(g_yx, fake_y, batch_size)  # F(G(x))
    features = emoji_features() if features is None else features
    f_fake = _apply(features, fake_y, batch_size).double()
    f_true = _apply(features, y, batch_size).double()
    out = {
        "pixel_l1": float((fake_y - y.float().cpu()).abs().mean()),
        "feature_l2": float((f_fake - f_true).norm(dim=1).mean()),
        "cycle_l1": float((rec_x - x.float().cpu()).abs().mean()),
    }
    if kd_y is not None:
        out["kd"] = kd_y.score(fake_y)
    return out


# --------------------------------------------------------------------------- MNIST digits
#
# Labs 2, 4 and 5 answer with numbers: a bundled digit classifier (trained by
# scripts/train_mnist_classifier.py on the 8,000 bundled training digits; its accuracy on the
# 2,000 held-out digits is in MANIFEST.json and on the book's data page) and four metrics on it.
#
# The Frechet classifier distance reuses FrechetDistance above with the classifier's penultimate
# features. torchmetrics' FrechetInceptionDistance accepts a custom feature module too, and
# tests/test_metrics.py checks that both give the same number; it is not used here so that the
# course has one Frechet implementation (float64, the same for emoji and digits) whose real
# statistics are computed once per reference set, not streamed through update() every call.

DIGIT_CLASSES = 10


class MNISTClassifier(nn.Module):
    """LeNet-like digit classifier; weights from ``mnist_classifier()``.

    Input (B, 1, 28, 28) in [-1, 1] (32x32 is cropped to the centre 28x28); output logits
    (B, 10). ``features`` is everything but the last layer: (B, 128), the penultimate
    activations the Frechet classifier distance compares::

        conv 1 -> 32, k5, BatchNorm, ReLU, max-pool 2     (B, 32, 12, 12)
        conv 32 -> 64, k5, BatchNorm, ReLU, max-pool 2    (B, 64, 4, 4)
        flatten, linear 1024 -> 128, ReLU                 (B, 128)   = features(x)
        dropout 0.3, linear 128 -> 10                     (B, 10)    logits
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _Crop28(),
            nn.Conv2d(1, 32, 5, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 128),
            nn.ReLU(inplace=True),
        )
        self.features.channels = 1  # what FrechetDistance checks
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, DIGIT_CLASSES))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class _Crop28(nn.Module):
    """(B, 1, 28, 28) as is; (B, 1, 32, 32) (``load_mnist(size=32)``) cropped to the centre."""

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2:] not in ((28, 28), (32, 32)):
            raise ValueError(f"the digit classifier takes (B, 1, 28, 28) or (B, 1, 32, 32) images, got {tuple(x.shape)}")
        return x[..., 2:30, 2:30] if x.shape[-1] == 32 else x


def mnist_classifier() -> MNISTClassifier:
    """The bundled, trained ``MNISTClassifier`` (eval mode, no gradients), on the CPU.

    Raises ``data.DataError`` if the weights file is missing, corrupted or unreadable.
    """
    return _load_bundled(MNISTClassifier(), CLASSIFIER_FILE)


def _check_digits(images: Tensor, name: str = "images") -> None:
    data.check_images(images, name)
    if images.shape[1] != 1 or images.shape[2:] not in ((28, 28), (32, 32)):
        raise ValueError(f"{name} must be digits of shape (B, 1, 28, 28), got {tuple(images.shape)}")


def _classify(images: Tensor, classifier: nn.Module | None, batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """One pass of the classifier (eval mode) over ``images``: its penultimate features (B, 128)
    and its softmax (B, 10), both float64 on the CPU."""
    from .train import evaluating  # here: train imports the data loaders, not the metrics

    _check_digits(images)
    classifier = mnist_classifier() if classifier is None else classifier
    device = next(classifier.parameters()).device
    feats, probs = [], []
    with evaluating(classifier):
        for c in images.split(batch_size):
            f = classifier.features(c.to(device, torch.float32))
            feats.append(f.double().cpu())
            probs.append(classifier.head(f).double().softmax(1).cpu())
    return torch.cat(feats), torch.cat(probs)


def _probabilities(images: Tensor, classifier: nn.Module | None) -> Tensor:
    """Softmax of the classifier on ``images``: float64 (B, 10) on the CPU."""
    return _classify(images, classifier)[1]


def mode_coverage(
    images: Tensor,
    *,
    classifier: nn.Module | None = None,
    real_frequencies: Sequence[float] | Tensor | None = None,
    min_share: float = 0.02,
) -> dict:
    """Which digits a set of samples contains, by the classifier's predicted class.

    images: (B, 1, 28, 28) in [-1, 1]. Returns:

    - ``histogram``: list of 10 shares (predicted-class counts / B), summing to 1;
    - ``covered``: how many of the 10 classes get at least ``min_share`` of the samples (default
      2%, a fifth of the 10% each digit has in MNIST: one stray sample does not cover a class);
    - ``kl``: KL(samples || real) = sum_c p_c log(p_c / q_c) in nats, p = ``histogram``, q =
      ``real_frequencies`` (default: the bundled training digits' class shares, about 0.1
      each). 0 when the classes come in the real proportions; log(10) = 2.30 when every
      sample is one digit. This direction stays finite when classes are missing.
    """
    return _coverage(_probabilities(images, classifier), real_frequencies, min_share)


def _coverage(probs: Tensor, real_frequencies=None, min_share: float = 0.02) -> dict:
    if not 0 < min_share <= 1:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")
    predicted = probs.argmax(1)
    p = torch.bincount(predicted, minlength=DIGIT_CLASSES).double() / len(predicted)
    q = _real_frequencies() if real_frequencies is None else torch.as_tensor(real_frequencies, dtype=torch.float64)
    if q.shape != (DIGIT_CLASSES,) or (q <= 0).any():
        raise ValueError(f"real_frequencies must be 10 positive shares, got {q.tolist()}")
    q = q / q.sum()
    nz = p > 0
    kl = float((p[nz] * (p[nz] / q[nz]).log()).sum())
    return {"histogram": p.tolist(), "covered": int((p >= min_share).sum()), "kl": max(kl, 0.0)}


def _real_frequencies() -> Tensor:
    _, labels = data.load_mnist(split="train")
    return torch.bincount(labels, minlength=DIGIT_CLASSES).double() / len(labels)


def plausibility(images: Tensor, *, classifier: nn.Module | None = None, threshold: float = 0.9) -> dict:
    """How sure the classifier is that each image is some digit.

    images: (B, 1, 28, 28) in [-1, 1]. Returns ``confidence``, the mean over images of the top
    softmax probability (between 0.1 and 1; held-out real digits score about 0.99), and
    ``plausible``, the fraction of images whose top probability exceeds ``threshold``. The
    classifier was also trained to answer "1/10 for each digit" on noise, blank and smeared
    images (scripts/train_mnist_classifier.py), so it is not confident on everything.
    """
    return _plausibility(_probabilities(images, classifier), threshold)


def _plausibility(probs: Tensor, threshold: float = 0.9) -> dict:
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    top = probs.max(1).values
    return {"confidence": float(top.mean()), "plausible": float((top > threshold).double().mean())}


def _check_labels(labels: Tensor, n: int) -> Tensor:
    labels = torch.as_tensor(labels)
    if labels.shape != (n,) or labels.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"labels must be B={n} integer classes, got {tuple(labels.shape)} {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= DIGIT_CLASSES):
        raise ValueError("labels must be digits 0..9")
    return labels.cpu().long()


def class_accuracy(images: Tensor, labels: Tensor, *, classifier: nn.Module | None = None) -> float:
    """Fraction of ``images`` (B, 1, 28, 28) that the classifier assigns to ``labels`` (B,).

    For a conditional generator (Lab 5): labels are the classes it was asked to draw. Real
    held-out digits score the classifier's accuracy (in MANIFEST.json).
    """
    return _accuracy(_probabilities(images, classifier), _check_labels(labels, len(images)))


def _accuracy(probs: Tensor, labels: Tensor) -> float:
    """Share of the rows of ``probs`` (B, 10) whose most likely class is ``labels`` (B,)."""
    return float((probs.argmax(1) == labels).double().mean())


def _ink(images: Tensor) -> Tensor:
    _check_digits(images)
    return (images.detach().cpu().double()[:, 0] + 1) / 2  # (B, H, W): 0 background, 1 full stroke


def ink_mass(images: Tensor) -> Tensor:
    """Mean ink per pixel of each digit (B, 1, 28, 28) in [-1, 1]: (B,) in [0, 1] (thick strokes
    and large digits score high)."""
    return _ink(images).mean(dim=(1, 2))


def slant(images: Tensor) -> Tensor:
    """Slant of each digit (B, 1, 28, 28) from its ink's second moments: (B,), the horizontal
    shift of the strokes per row going up (0 upright, > 0 leaning right, < 0 leaning left).

    It is -cov(column, row) / var(row) over the pixels weighted by their ink (rows grow downward,
    so a digit leaning right has its top to the right: negative covariance). A blank image gives 0.
    """
    ink = _ink(images)
    h, w = ink.shape[1:]
    rows = torch.arange(h, dtype=ink.dtype)[:, None].expand(h, w)
    cols = torch.arange(w, dtype=ink.dtype)[None, :].expand(h, w)
    mass = ink.sum(dim=(1, 2)).clamp_min(1e-12)
    mr, mc = ((ink * rows).sum(dim=(1, 2)) / mass), ((ink * cols).sum(dim=(1, 2)) / mass)
    dr, dc = rows - mr[:, None, None], cols - mc[:, None, None]
    var_r = (ink * dr * dr).sum(dim=(1, 2)) / mass
    cov = (ink * dr * dc).sum(dim=(1, 2)) / mass
    return torch.where(var_r > 1e-12, -cov / var_r.clamp_min(1e-12), torch.zeros_like(cov))


def style_correlation(values: Tensor) -> float:
    """How much a style measure follows z across classes: ``values`` (n_z, n_classes) holds the
    measure (``ink_mass``, ``slant``) of the digit drawn from noise i for class c. Returns the
    mean, over every pair of classes, of the Pearson correlation across the n_z noise vectors.

    Near 1: the same z gives the same style whatever the class; near 0: the style does not
    follow z (e.g. the rows shuffled independently per class, the control).
    """
    values = torch.as_tensor(values, dtype=torch.float64)
    if values.dim() != 2 or values.shape[0] < 3 or values.shape[1] < 2:
        raise ValueError(f"values must be (n_z >= 3, n_classes >= 2), got {tuple(values.shape)}")
    centred = values - values.mean(0)
    norms = centred.norm(dim=0)
    if bool((norms < 1e-12).any()):
        raise ValueError("a class's values are constant across z: the correlation is undefined")
    corr = (centred / norms).T @ (centred / norms)  # (n_classes, n_classes)
    i, j = torch.triu_indices(len(corr), len(corr), offset=1)
    return float(corr[i, j].mean())


class DigitMetrics:
    """All four digit metrics of a generator or of a set of images, against one reference.

    ``m = DigitMetrics(reference)`` (default: the 8,000 bundled training digits) embeds the
    reference once. ``m.score(images)`` returns a dict:

    - ``fcd``: Frechet classifier distance (``FrechetDistance`` in the classifier's 128-d
      penultimate features; lower is better);
    - ``covered`` (a float here, so that every value is a number) and ``kl``: ``mode_coverage``
      (call it for the histogram);
    - ``confidence``, ``plausible``: ``plausibility``.

    ``m(gen)`` scores ``n`` samples of ``gen`` from fixed, seeded noise (``gen.nz`` wide, eval
    mode). The FCD is biased upwards by O(1/n): score generators on as many images as the floor,
    ``m.floor()``, the 2,000 held-out real digits against the reference (the default ``n``).
    """

    def __init__(
        self,
        reference: Tensor | None = None,
        *,
        n: int = 2000,
        classifier: nn.Module | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        self.classifier = mnist_classifier() if classifier is None else classifier
        if device is not None:
            self.classifier.to(device)
        if reference is None:
            reference, _ = data.load_mnist(split="train")
        _check_digits(reference, "reference")
        device = next(self.classifier.parameters()).device
        self.fcd = FrechetDistance(reference.to(device), features=self.classifier.features, n=n, seed=seed, batch_size=500)
        self.n = n

    def score(self, images: Tensor, labels: Tensor | None = None) -> dict[str, float]:
        """``fcd``, ``covered``, ``kl``, ``confidence`` and ``plausible`` of ``images`` (B, 1, 28, 28);
        with ``labels`` (B,), the classes the images were asked to be, also ``accuracy``
        (``class_accuracy``)."""
        if len(images) < 2:
            raise ValueError("score at least 2 images")
        if labels is not None:
            labels = _check_labels(labels, len(images))
        feats, probs = _classify(images, self.classifier)  # one pass for all the metrics
        coverage = _coverage(probs)
        scores = {
            "fcd": self.fcd.score_features(feats),
            "covered": float(coverage["covered"]),
            "kl": coverage["kl"],
            **_plausibility(probs),
        }
        if labels is not None:
            scores["accuracy"] = _accuracy(probs, labels)
        return scores

    def conditional_samples(self, gen: nn.Module) -> tuple[Tensor, Tensor]:
        """``n`` samples of a conditional ``gen(z, y)`` (eval mode) and the classes asked for: the
        fixed noise of ``samples``, class i % 10 for the i-th (equal shares); on the CPU."""
        from .models.conditional import one_hot
        from .train import sample  # here: train imports the data loaders, not the metrics

        n_classes = getattr(gen, "n_classes", DIGIT_CLASSES)
        z = self.fcd.fixed_noise(gen.nz)
        labels = torch.arange(self.n) % n_classes
        chunks = zip(z.split(self.fcd.batch_size), labels.split(self.fcd.batch_size))
        return torch.cat([sample(gen, zc, one_hot(lc, n_classes)) for zc, lc in chunks]), labels

    def conditional(self, gen: nn.Module) -> dict:
        """``score`` of ``conditional_samples(gen)``: the four metrics and the class ``accuracy``."""
        return self.score(*self.conditional_samples(gen))

    def samples(self, gen: nn.Module) -> Tensor:
        """``n`` samples of ``gen`` from the fixed noise, on the CPU (``FrechetDistance.samples``)."""
        return self.fcd.samples(gen)

    def __call__(self, gen: nn.Module) -> dict:
        return self.score(self.samples(gen))

    def floor(self) -> dict:
        """The scores of the 2,000 held-out real digits: what a perfect generator would get."""
        held_out, _ = data.load_mnist(split="test")
        return self.score(held_out)
