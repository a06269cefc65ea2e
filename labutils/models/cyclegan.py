"""Reference CycleGAN building blocks (Zhu et al. 2017) for Lab 3: emoji style transfer.

Names in the paper and in the code:

    X, Y    two image domains; by default X = Google/Noto emoji, Y = Windows/Fluent emoji
    G: X->Y a CycleGenerator, ``g_xy`` in code (Google -> Windows)
    F: Y->X a CycleGenerator, ``g_yx`` in code (Windows -> Google)
    D_X     a discriminator on X (real x vs F(y)), ``d_x`` in code
    D_Y     a discriminator on Y (real y vs G(x)), ``d_y`` in code
    cycle   F(G(x)) ~ x and G(F(y)) ~ y: ``losses.cycle_loss``
    identity G(y) ~ y and F(x) ~ x (optional): ``losses.identity_loss``

Either discriminator may be a ``PatchDiscriminator`` (a grid of logits) or the
``DCDiscriminator`` of Lab 1 (one logit per image); both return logits, never probabilities.
None of the constructors initialise weights: call ``model.apply(dcgan_init)`` for the DCGAN
init (conv weights N(0, 0.02), norm weights N(1, 0.02), biases 0).

CycleGenerator layer table for 32x32 images (ngf = 32, n_res = 2):

    conv 3 -> ngf,      k4 s2 p1, norm, ReLU        (B, 32, 16, 16)
    conv ngf -> 2ngf,   k4 s2 p1, norm, ReLU        (B, 64, 8, 8)
    n_res x ResidualBlock(2ngf)                     (B, 64, 8, 8)
    convT 2ngf -> ngf,  k4 s2 p1, norm, ReLU        (B, 32, 16, 16)
    convT ngf -> 3,     k4 s2 p1, tanh              (B, 3, 32, 32)

PatchDiscriminator layer table for 32x32 images (ndf = 32, n_layers = 3):

    conv 3 -> ndf,      k4 s2 p1, LeakyReLU 0.2         (B, 32, 16, 16)
    conv ndf -> 2ndf,   k4 s2 p1, norm, LeakyReLU 0.2   (B, 64, 8, 8)
    conv 2ndf -> 4ndf,  k4 s2 p1, norm, LeakyReLU 0.2   (B, 128, 4, 4)
    conv 4ndf -> 1,     k3 s1 p1                        (B, 1, 4, 4) logits

Choices made here:

- Norm layers are affine (``InstanceNorm2d(affine=True)``, ``BatchNorm2d``), so they carry the
  scale and shift; the conv before a norm therefore has no bias (the norm would cancel it).
  With ``norm="none"`` every conv has a bias. Instance norm normalises each image on its own,
  so a translation does not depend on the rest of the batch (and batch size 1 works in train
  mode); ``"batch"`` is the DCGAN choice, offered for comparison.
- The residual convs use zero padding (``padding=1``, PyTorch's default mode), like every other
  conv in the course. The paper uses reflection padding, which avoids darkened borders on large
  photos; on 8x8 feature maps of white-background emoji the difference is small, and zero
  padding also works at the smallest size (a 4x4 image gives 1x1 maps, which cannot reflect).
- The patch discriminator is the DC discriminator's trunk with a different head: a k3 s1 p1
  conv keeps the last grid instead of the k4 p0 conv that collapses it to one logit.
"""

from __future__ import annotations

from torch import Tensor, nn

from .dcgan import _norm

NORMS = ("instance", "batch", "none")


def _check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; use 'instance', 'batch' or 'none'")


def _check_positive(**named: int) -> None:
    for name, value in named.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_images(x: Tensor, channels: int, multiple: int, who: str) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"{who} expects images (B, {channels}, H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[2:]
    if h == 0 or w == 0 or h % multiple or w % multiple:
        raise ValueError(
            f"{who} needs H and W to be positive multiples of {multiple}, "
            f"got shape {tuple(x.shape)}"
        )


class ResidualBlock(nn.Module):
    """``x + branch(x)`` with branch = conv3x3, norm, ReLU, conv3x3, norm (shape preserved).

    Input and output (B, channels, H, W). The convs are zero-padded (padding 1) and have no
    bias unless ``norm="none"``. With the branch's last norm (or conv) zeroed the block is the
    identity, which is why residual blocks are easy to stack: each starts close to x -> x.
    """

    def __init__(self, channels: int, *, norm: str = "instance") -> None:
        super().__init__()
        _check_positive(channels=channels)
        _check_norm(norm)
        bias = norm == "none"
        self.branch = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=bias),  # (B, C, H, W)
            _norm(norm, channels),  # (B, C, H, W)
            nn.ReLU(inplace=True),  # (B, C, H, W)
            nn.Conv2d(channels, channels, 3, padding=1, bias=bias),  # (B, C, H, W)
            _norm(norm, channels),  # (B, C, H, W)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.branch(x)  # (B, C, H, W)


class CycleGenerator(nn.Module):
    """Image-to-image generator: (B, C, H, W) in [-1, 1] -> the same shape in [-1, 1].

    Encoder (two k4 s2 p1 convs: H -> H/2 -> H/4), ``n_res`` residual blocks at 2ngf channels
    and H/4, decoder (two k4 s2 p1 transposed convs: H/4 -> H/2 -> H), tanh. H and W must be
    multiples of 4 (32 and 64 in the labs); C = ``in_channels``. ``n_res=0`` leaves the encoder
    and decoder alone.
    """

    def __init__(
        self, *, in_channels: int = 3, ngf: int = 32, n_res: int = 2, norm: str = "instance"
    ) -> None:
        super().__init__()
        _check_positive(in_channels=in_channels, ngf=ngf)
        if isinstance(n_res, bool) or not isinstance(n_res, int) or n_res < 0:
            raise ValueError(f"n_res must be an integer >= 0, got {n_res!r}")
        _check_norm(norm)
        self.in_channels = in_channels
        bias = norm == "none"
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, ngf, 4, stride=2, padding=1, bias=bias),  # (B, ngf, H/2, W/2)
            _norm(norm, ngf),  # (B, ngf, H/2, W/2)
            nn.ReLU(inplace=True),  # (B, ngf, H/2, W/2)
            nn.Conv2d(ngf, 2 * ngf, 4, stride=2, padding=1, bias=bias),  # (B, 2ngf, H/4, W/4)
            _norm(norm, 2 * ngf),  # (B, 2ngf, H/4, W/4)
            nn.ReLU(inplace=True),  # (B, 2ngf, H/4, W/4)
        )
        # an empty Sequential (n_res=0) returns its input
        self.res = nn.Sequential(
            *(ResidualBlock(2 * ngf, norm=norm) for _ in range(n_res))  # (B, 2ngf, H/4, W/4)
        )
        up = {"kernel_size": 4, "stride": 2, "padding": 1}
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * ngf, ngf, **up, bias=bias),  # (B, ngf, H/2, W/2)
            _norm(norm, ngf),  # (B, ngf, H/2, W/2)
            nn.ReLU(inplace=True),  # (B, ngf, H/2, W/2)
            nn.ConvTranspose2d(ngf, in_channels, **up),  # (B, C, H, W)
            nn.Tanh(),  # (B, C, H, W) in [-1, 1]
        )

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, self.in_channels, 4, "CycleGenerator")
        return self.decoder(self.res(self.encoder(x)))  # (B, C, H, W)


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator: (B, in_channels, H, W) -> a grid of logits (B, 1, H/2^n, W/2^n).

    ``n_layers`` k4 s2 p1 convs (channels ndf, 2ndf, 4ndf, ...; LeakyReLU 0.2; no norm on the
    first), then a k3 s1 p1 conv with bias to one channel. No sigmoid: each cell is the logit
    that the patch it sees is real. H and W must be multiples of 2^n_layers.

    Receptive field of one logit through its convs: 5 * 2^n_layers - 2 pixels (38 for
    n_layers=3, 18 for 2); instance norm's per-image statistics still let every pixel shift it.
    Output grid for n_layers=3: (B, 1, 4, 4) at 32x32 and (B, 1, 8, 8) at 64x64; at 32x32 a
    38-pixel field spans most of the image, so each cell judges a large, off-centre patch;
    n_layers=2 gives an (B, 1, 8, 8) grid of 18-pixel patches at 32x32.
    """

    def __init__(
        self, *, in_channels: int = 3, ndf: int = 32, n_layers: int = 3, norm: str = "instance"
    ) -> None:
        super().__init__()
        _check_positive(in_channels=in_channels, ndf=ndf, n_layers=n_layers)
        _check_norm(norm)
        self.in_channels = in_channels
        self.n_layers = n_layers
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1),  # (B, ndf, H/2, W/2)
            nn.LeakyReLU(0.2, inplace=True),  # (B, ndf, H/2, W/2)
        ]
        c, bias = ndf, norm == "none"
        for _ in range(n_layers - 1):  # each takes (B, c, h, w) to (B, 2c, h/2, w/2)
            layers += [
                nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=bias),  # (B, 2c, h/2, w/2)
                _norm(norm, 2 * c),  # (B, 2c, h/2, w/2)
                nn.LeakyReLU(0.2, inplace=True),  # (B, 2c, h/2, w/2)
            ]
            c *= 2
        layers.append(nn.Conv2d(c, 1, 3, stride=1, padding=1))  # (B, 1, H/2^n, W/2^n) logits
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, self.in_channels, 2**self.n_layers, "PatchDiscriminator")
        return self.net(x)  # (B, 1, h, w)
