"""Reference DCGAN for 28x28 MNIST digits (Lab 2): generator and discriminator of any width.

Layer tables (nz = 100, ngf = ndf = 32). Widths scale with ``ngf`` / ``ndf``; the latent size
``nz`` changes only the generator's first layer.

Generator:

    z (B, nz) -> (B, nz, 1, 1)
    convT nz -> 2ngf,  k7 s1 p0, BatchNorm, ReLU      (B, 64, 7, 7)
    convT 2ngf -> ngf, k4 s2 p1, BatchNorm, ReLU      (B, 32, 14, 14)
    convT ngf -> 1,    k4 s2 p1 (+ bias), tanh        (B, 1, 28, 28)

Discriminator (returns logits, no sigmoid):

    conv 1 -> ndf,     k4 s2 p1, LeakyReLU 0.2        (B, 32, 14, 14)
    conv ndf -> 2ndf,  k4 s2 p1, BatchNorm, LeakyReLU (B, 64, 7, 7)
    conv 2ndf -> 1,    k7 s1 p0 (+ bias)              (B, 1, 1, 1) -> (B,)

As in Lab 1, a conv followed by a BatchNorm has no bias (the norm's shift replaces it); only
the last layer of each network has one. Initialise with ``dcgan_init`` (Lab 1) or leave
PyTorch's default (Kaiming-uniform) initialisation: Lab 2 compares the two.
"""

from __future__ import annotations

from torch import Tensor, nn

from .dcgan import as_latent

MNIST_SHAPE = (1, 28, 28)


class MNISTGenerator(nn.Module):
    """z (B, nz) -> digits (B, 1, 28, 28) in [-1, 1] (table in the module docstring)."""

    def __init__(self, *, nz: int = 100, ngf: int = 32) -> None:
        super().__init__()
        if nz < 1 or ngf < 1:
            raise ValueError(f"nz and ngf must be positive, got nz={nz}, ngf={ngf}")
        self.nz, self.ngf = nz, ngf
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 2 * ngf, 7, stride=1, padding=0, bias=False),  # (B, 2ngf, 7, 7)
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False),  # (B, ngf, 14, 14)
            nn.BatchNorm2d(ngf),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(ngf, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28)
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(as_latent(z, self.nz))


class MNISTDiscriminator(nn.Module):
    """Digits (B, 1, 28, 28) in [-1, 1] -> logits (B,) (table in the module docstring)."""

    def __init__(self, *, ndf: int = 32) -> None:
        super().__init__()
        if ndf < 1:
            raise ValueError(f"ndf must be positive, got {ndf}")
        self.ndf = ndf
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, stride=2, padding=1, bias=False),  # (B, ndf, 14, 14)
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1, bias=False),  # (B, 2ndf, 7, 7)
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * ndf, 1, 7, stride=1, padding=0),  # (B, 1, 1, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != MNIST_SHAPE:
            raise ValueError(f"discriminator expects (B, 1, 28, 28), got {tuple(x.shape)}")
        return self.net(x).flatten()  # (B,)
