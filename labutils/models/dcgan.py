"""Reference DCGAN (Radford et al. 2016): discriminator, generator and initialisation.

Layer tables for 32x32 images (ndf = ngf = 32, nz = 64); 64x64 adds one block to each.

Discriminator (returns logits, no sigmoid):

    conv 3 -> ndf,     k4 s2 p1, LeakyReLU 0.2          (B, 32, 16, 16)
    conv ndf -> 2ndf,  k4 s2 p1, BatchNorm, LeakyReLU   (B, 64, 8, 8)
    conv 2ndf -> 4ndf, k4 s2 p1, BatchNorm, LeakyReLU   (B, 128, 4, 4)
    conv 4ndf -> 1,    k4 s1 p0                         (B, 1, 1, 1) -> (B,)

Generator:

    z (B, nz) -> (B, nz, 1, 1)
    convT nz -> 4ngf,   k4 s1 p0, BatchNorm, ReLU       (B, 128, 4, 4)
    convT 4ngf -> 2ngf, k4 s2 p1, BatchNorm, ReLU       (B, 64, 8, 8)
    convT 2ngf -> ngf,  k4 s2 p1, BatchNorm, ReLU       (B, 32, 16, 16)
    convT ngf -> 3,     k4 s2 p1, tanh                  (B, 3, 32, 32)
"""

from __future__ import annotations

import math

from torch import Tensor, nn


def _n_blocks(image_size: int) -> int:
    n = math.log2(image_size) - 2  # halvings from image_size down to 4
    if image_size < 8 or n != int(n):
        raise ValueError(f"image_size must be a power of two >= 8 (32 or 64), got {image_size}")
    return int(n)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use 'batch', 'instance' or 'none'")


class DCDiscriminator(nn.Module):
    """DCGAN discriminator: strided convs halve the image down to 4x4, then one conv to a logit.

    Input (B, channels, S, S) in [-1, 1]; output (B,) logits.
    """

    def __init__(
        self, *, image_size: int = 32, channels: int = 3, ndf: int = 32, norm: str = "batch"
    ) -> None:
        super().__init__()
        self.image_size = image_size
        self.channels = channels
        layers: list[nn.Module] = []
        c_in, c_out = channels, ndf
        for i in range(_n_blocks(image_size)):
            # k4 s2 p1 halves: floor((W + 2 - 4) / 2) + 1 = W / 2
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False))
            if i > 0:  # no norm on the first layer (DCGAN)
                layers.append(_norm(norm, c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in, c_out = c_out, c_out * 2
        layers.append(nn.Conv2d(c_in, 1, 4, stride=1, padding=0))  # (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"discriminator expects (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        return self.net(x).flatten()  # (B,)


class DCGenerator(nn.Module):
    """DCGAN generator: z (B, nz) -> (B, channels, S, S) in [-1, 1].

    ``upsample='transpose'`` uses transposed convs (k4 s2 p1 doubles the size);
    ``'nearest'`` uses nearest-neighbour upsampling then a k3 conv (no checkerboard artefacts).
    """

    def __init__(
        self,
        *,
        nz: int = 64,
        image_size: int = 32,
        channels: int = 3,
        ngf: int = 32,
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        if upsample not in ("transpose", "nearest"):
            raise ValueError(f"unknown upsample {upsample!r}; use 'transpose' or 'nearest'")
        self.nz = nz
        n = _n_blocks(image_size)
        c = ngf * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, c, 4, stride=1, padding=0, bias=False),  # (B, c, 4, 4)
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
        ]
        for i in range(n):
            last = i == n - 1
            c_out = channels if last else c // 2
            if upsample == "transpose":
                layers.append(nn.ConvTranspose2d(c, c_out, 4, stride=2, padding=1, bias=last))
            else:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
                layers.append(nn.Conv2d(c, c_out, 3, padding=1, bias=last))
            if last:
                layers.append(nn.Tanh())  # (B, channels, S, S) in [-1, 1]
            else:
                layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            c = c_out
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(as_latent(z, self.nz))


def as_latent(z: Tensor, nz: int) -> Tensor:
    """z of shape (B, nz) or (B, nz, 1, 1) as (B, nz, 1, 1); a clear error for any other shape."""
    if z.dim() == 2:
        z = z[:, :, None, None]  # (B, nz, 1, 1)
    if z.dim() != 4 or z.shape[1] != nz or z.shape[2:] != (1, 1):
        raise ValueError(f"generator expects z of shape (B, {nz}), got {tuple(z.shape)}")
    return z


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation, for ``model.apply(dcgan_init)``.

    Conv and linear weights ~ N(0, 0.02); norm weights ~ N(1, 0.02); all biases 0.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)):
        if module.weight is not None:
            nn.init.normal_(module.weight, 1.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
