"""Reference networks of Lab 4 (Wasserstein GANs on 28x28 MNIST digits), latent size 64.

Convolutional generator (nz = 64, ngf = 32): project and reshape, then upsample.

    z (B, nz)
    Linear nz -> 2ngf*7*7 (no bias), BatchNorm1d, ReLU, reshape  (B, 64, 7, 7)
    convT 2ngf -> ngf, k4 s2 p1 (no bias), BatchNorm, ReLU       (B, 32, 14, 14)
    convT ngf -> 1,    k4 s2 p1 (+ bias), tanh                    (B, 1, 28, 28)

Convolutional critic (ndf = 32): a score per image, no sigmoid, no batch norm.

    conv 1 -> ndf,    k4 s2 p1, LeakyReLU 0.2                     (B, 32, 14, 14)
    conv ndf -> 2ndf, k4 s2 p1, LeakyReLU 0.2                     (B, 64, 7, 7)
    conv 2ndf -> 1,   k7 s1 p0                                    (B, 1, 1, 1) -> (B,)

Every conv of the critic has a bias (there is no norm whose shift would replace it).

Fully connected generator and critic (hidden = 256), for the comparisons of the lab:

    FCGenerator: z (B, nz) -> Linear nz -> h, ReLU -> Linear h -> 2h, ReLU
                 -> Linear 2h -> 784, tanh -> reshape (B, 1, 28, 28)
    FCCritic:    (B, 1, 28, 28) -> flatten 784 -> Linear 784 -> 2h, LeakyReLU 0.2
                 -> Linear 2h -> h, LeakyReLU 0.2 -> Linear h -> 1 -> (B,)

``FCCritic`` is also the fully connected *discriminator* of the vanilla GAN: its output is then
read as a logit (the BCE losses take logits), as a score by the Wasserstein losses.
"""

from __future__ import annotations

from torch import Tensor, nn

from .mnist import MNIST_SHAPE

__all__ = ["ConvCritic", "ConvGenerator", "FCCritic", "FCGenerator"]

_PIXELS = MNIST_SHAPE[0] * MNIST_SHAPE[1] * MNIST_SHAPE[2]


def _check_latent(z: Tensor, nz: int) -> None:
    if z.dim() != 2 or z.shape[1] != nz:
        raise ValueError(f"the generator expects z of shape (B, {nz}), got {tuple(z.shape)}")


def _check_digits(x: Tensor) -> None:
    if x.dim() != 4 or tuple(x.shape[1:]) != MNIST_SHAPE:
        raise ValueError(f"the critic expects (B, 1, 28, 28), got {tuple(x.shape)}")


def _positive(**sizes: int) -> None:
    bad = {k: v for k, v in sizes.items() if not isinstance(v, int) or v < 1}
    if bad:
        raise ValueError(f"sizes must be positive integers, got {bad}")


class ConvGenerator(nn.Module):
    """z (B, nz) -> digits (B, 1, 28, 28) in [-1, 1]: a linear projection to a 7x7 map, then
    two transposed convolutions that double the side (table in the module docstring).

    The first layer is a linear map, not a 7x7 transposed convolution of a 1x1 input: the two
    compute the same thing (every output unit sees all of z), the linear form says so.
    """

    def __init__(self, *, nz: int = 64, ngf: int = 32) -> None:
        super().__init__()
        _positive(nz=nz, ngf=ngf)
        self.nz, self.ngf = nz, ngf
        self.project = nn.Sequential(
            nn.Linear(nz, 2 * ngf * 7 * 7, bias=False),
            nn.BatchNorm1d(2 * ngf * 7 * 7),
            nn.ReLU(inplace=True),
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False),  # (B, ngf, 14, 14)
            nn.BatchNorm2d(ngf),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(ngf, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28)
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        _check_latent(z, self.nz)
        return self.net(self.project(z).view(-1, 2 * self.ngf, 7, 7))


class ConvCritic(nn.Module):
    """Digits (B, 1, 28, 28) -> scores (B,): strided convolutions, no sigmoid, no batch norm.

    **No sigmoid**: the Wasserstein critic is a real-valued function f whose mean on real minus
    mean on fake images estimates the Wasserstein-1 distance (for a 1-Lipschitz f); a sigmoid
    would squash that difference into (0, 1) and its gradient would vanish wherever the
    critic is sure, which is the very problem WGAN removes.

    **No batch norm**: the gradient penalty constrains the gradient of f at each single input
    x, ``||grad_x f(x)|| = 1``. With batch norm f(x) depends on the other images of the batch,
    so there is no per-image gradient to constrain (the penalty would mix samples), and the
    critic's score of an image would change with its batch-mates. The WGAN-GP paper drops it
    for this reason (layer norm, per image, is the alternative it suggests). With weight
    clipping the WGAN paper kept DCGAN's batch norm; this critic has none in either case, so
    the two objectives are compared on the same network.
    """

    def __init__(self, *, ndf: int = 32) -> None:
        super().__init__()
        _positive(ndf=ndf)
        self.ndf = ndf
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, stride=2, padding=1),  # (B, ndf, 14, 14)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1),  # (B, 2ndf, 7, 7)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * ndf, 1, 7, stride=1, padding=0),  # (B, 1, 1, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        _check_digits(x)
        return self.net(x).flatten()  # (B,)


class FCGenerator(nn.Module):
    """z (B, nz) -> digits (B, 1, 28, 28) in [-1, 1] through three linear layers; the 784
    outputs are reshaped to an image (table in the module docstring)."""

    def __init__(self, *, nz: int = 64, hidden: int = 256) -> None:
        super().__init__()
        _positive(nz=nz, hidden=hidden)
        self.nz, self.hidden = nz, hidden
        self.net = nn.Sequential(
            nn.Linear(nz, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 2 * hidden),
            nn.ReLU(inplace=True),
            nn.Linear(2 * hidden, _PIXELS),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        _check_latent(z, self.nz)
        return self.net(z).view(-1, *MNIST_SHAPE)


class FCCritic(nn.Module):
    """Digits (B, 1, 28, 28) -> scores (B,) through three linear layers, no sigmoid.

    The critic of the fully connected WGAN, and (its output read as a logit) the
    discriminator of the fully connected vanilla GAN.
    """

    def __init__(self, *, hidden: int = 256) -> None:
        super().__init__()
        _positive(hidden=hidden)
        self.hidden = hidden
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(_PIXELS, 2 * hidden),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(2 * hidden, hidden),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        _check_digits(x)
        return self.net(x).flatten()  # (B,)
