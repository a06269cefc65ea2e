"""Reference conditional DCGAN for 28x28 MNIST digits (Lab 5): cG(z, y) and cD(x, y), one-hot y.

Labels enter as **one-hot** float vectors y of shape (B, n_classes) (``one_hot`` makes them from
class indices). Layer tables for nz = 100, ngf = ndf = 32, 10 classes:

Generator: y is concatenated to z, so every layer sees the class through the first one.

    [z, y] (B, nz + 10) -> (B, nz + 10, 1, 1)
    convT nz+10 -> 2ngf, k7 s1 p0, BatchNorm, ReLU    (B, 64, 7, 7)
    convT 2ngf -> ngf,   k4 s2 p1, BatchNorm, ReLU    (B, 32, 14, 14)
    convT ngf -> 1,      k4 s2 p1 (+ bias), tanh      (B, 1, 28, 28)

Discriminator (logits, no sigmoid): y is broadcast to 10 constant 28x28 maps (map c is 1 where
the label is c, 0 elsewhere) and concatenated to the image's channel, so the first convolution
sees the image and its claimed class at every position.

    [x, y maps] (B, 1 + 10, 28, 28)
    conv 1+10 -> ndf,   k4 s2 p1, LeakyReLU 0.2       (B, 32, 14, 14)
    conv ndf -> 2ndf,   k4 s2 p1, BatchNorm, LeakyReLU (B, 64, 7, 7)
    conv 2ndf -> 1,     k7 s1 p0 (+ bias)             (B, 1, 1, 1) -> (B,)

As in Labs 1 and 2 a conv followed by a BatchNorm has no bias; only the last layer of each has
one. Both are Lab 2's networks with the label added at the input.

``LabelBlind(disc)`` gives an unconditional discriminator the conditional signature
``disc(x, y)`` and ignores y: the Lab 5 variant "without y in D", trained by the same step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .mnist import MNIST_SHAPE

__all__ = ["ConditionalDiscriminator", "ConditionalGenerator", "LabelBlind", "check_one_hot", "one_hot"]


def one_hot(labels: Tensor, n_classes: int = 10) -> Tensor:
    """Class indices (B,) -> one-hot float vectors (B, n_classes) on the same device."""
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.is_floating_point():
        raise TypeError(f"labels must be a 1-d integer tensor of class indices, got {_describe(labels)}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got {int(labels.min())}..{int(labels.max())}")
    return torch.nn.functional.one_hot(labels, n_classes).float()


def _describe(t: object) -> str:
    if isinstance(t, Tensor):
        return f"a {t.dtype} tensor of shape {tuple(t.shape)}"
    return type(t).__name__


def check_one_hot(y: object, batch: int, n_classes: int, what: str = "y") -> None:
    """A clear error unless ``y`` is a float (batch, n_classes) tensor (one-hot labels)."""
    if not isinstance(y, Tensor) or not y.is_floating_point():
        raise TypeError(
            f"{what} must be one-hot float labels of shape ({batch}, {n_classes}), got {_describe(y)}; "
            f"make them from class indices with models.conditional.one_hot(labels)"
        )
    if tuple(y.shape) != (batch, n_classes):
        raise ValueError(f"{what} must have shape ({batch}, {n_classes}) (one-hot labels), got {tuple(y.shape)}")


class ConditionalGenerator(nn.Module):
    """cG: z (B, nz) and one-hot y (B, n_classes) -> digits (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, *, nz: int = 100, ngf: int = 32, n_classes: int = 10) -> None:
        super().__init__()
        if min(nz, ngf, n_classes) < 1:
            raise ValueError(f"nz, ngf and n_classes must be positive, got {nz}, {ngf}, {n_classes}")
        self.nz, self.ngf, self.n_classes = nz, ngf, n_classes
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz + n_classes, 2 * ngf, 7, stride=1, padding=0, bias=False),  # (B, 2ngf, 7, 7)
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False),  # (B, ngf, 14, 14)
            nn.BatchNorm2d(ngf),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(ngf, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28)
            nn.Tanh(),
        )

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"z must have shape (B, {self.nz}), got {tuple(z.shape)}")
        check_one_hot(y, z.shape[0], self.n_classes)
        zy = torch.cat([z, y.to(z.dtype)], dim=1)  # (B, nz + n_classes)
        return self.net(zy[:, :, None, None])


class ConditionalDiscriminator(nn.Module):
    """cD: digits (B, 1, 28, 28) and one-hot y (B, n_classes) -> logits (B,)."""

    def __init__(self, *, ndf: int = 32, n_classes: int = 10) -> None:
        super().__init__()
        if min(ndf, n_classes) < 1:
            raise ValueError(f"ndf and n_classes must be positive, got {ndf}, {n_classes}")
        self.ndf, self.n_classes = ndf, n_classes
        self.net = nn.Sequential(
            nn.Conv2d(1 + n_classes, ndf, 4, stride=2, padding=1, bias=False),  # (B, ndf, 14, 14)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1, bias=False),  # (B, 2ndf, 7, 7)
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * ndf, 1, 7, stride=1, padding=0),  # (B, 1, 1, 1)
        )

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != MNIST_SHAPE:
            raise ValueError(f"the discriminator expects x of shape (B, 1, 28, 28), got {tuple(x.shape)}")
        check_one_hot(y, x.shape[0], self.n_classes)
        maps = y.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])  # (B, n_classes, 28, 28)
        return self.net(torch.cat([x, maps], dim=1)).flatten()  # (B,)


class LabelBlind(nn.Module):
    """An unconditional discriminator called as ``disc(x, y)``: it checks y and never reads it.

    Wraps e.g. Lab 2's ``MNISTDiscriminator`` so that the conditional step trains a generator
    against a discriminator that cannot see the label (Lab 5, Question 3).
    """

    def __init__(self, disc: nn.Module, n_classes: int = 10) -> None:
        super().__init__()
        self.disc, self.n_classes = disc, n_classes

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        check_one_hot(y, x.shape[0], self.n_classes)
        return self.disc(x)
