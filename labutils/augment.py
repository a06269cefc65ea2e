"""Batch augmentations for GAN training, on tensors, on any device.

All functions take a batch x of shape (B, C, H, W) (float, in [-1, 1] as the loaders return
it) and return a batch of the same shape. Randomness comes from `generator`, a
`torch.Generator` on x's device (`torch.Generator(device=x.device).manual_seed(0)`), or from
torch's global generator when it is None. There are no Python loops over the batch.

    aug = augment.get("deluxe")
    real = aug(real, generator=gen_aug)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["AUGMENTATIONS", "DIFF_POLICIES", "basic", "deluxe", "diff_augment", "get"]


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One U(0, 1) number per image, shaped (B, 1, 1, 1) to broadcast."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def _randint(high: int, n: int, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """n integers uniform in [0, high), on x's device."""
    return torch.randint(0, high, (n,), generator=generator, device=x.device)


def _crop(
    x: torch.Tensor,
    top: torch.Tensor,
    left: torch.Tensor,
    height: int,
    width: int,
    flip: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-image crop: out[b, :, i, j] = x[b, :, top[b] + i, left[b] + j].

    With flip (bool, (B,)), the crop of image b is mirrored left-right where flip[b].
    One gather, differentiable with respect to x.
    """
    b, c, h, w = x.shape
    rows = top[:, None] + torch.arange(height, device=x.device)  # (B, height)
    cols = left[:, None] + torch.arange(width, device=x.device)  # (B, width)
    if flip is not None:
        cols = torch.where(flip[:, None], cols.flip(1), cols)
    index = (rows[:, :, None] * w + cols[:, None, :]).reshape(b, 1, height * width)
    out = x.reshape(b, c, h * w).gather(2, index.expand(b, c, height * width))
    return out.reshape(b, c, height, width)


def basic(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """No augmentation: returns x itself.

    The "basic" pipeline is resize + normalise, which the loaders in `labutils.data` already
    did when the images were loaded, so at training time there is nothing left to do.
    `generator` is accepted (and ignored) so every augmentation has the same signature.
    """
    return x


def deluxe(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Upscale to 1.1x, random crop back to the original size, random horizontal flip.

    The whole batch is upscaled once (bilinear) to round(1.1 * H) x round(1.1 * W); each
    image then gets its own crop offset and, with probability 0.5, a left-right flip.
    Bilinear interpolation keeps values inside the input's range.

    Args:
        x: (B, C, H, W) float.
        generator: torch.Generator on x.device, or None for the global one.

    Returns:
        (B, C, H, W), same dtype and device.
    """
    b, _, h, w = x.shape
    big_h, big_w = round(1.1 * h), round(1.1 * w)
    up = F.interpolate(x, size=(big_h, big_w), mode="bilinear", align_corners=False)
    top = _randint(big_h - h + 1, b, x, generator)
    left = _randint(big_w - w + 1, b, x, generator)
    flip = torch.rand(b, generator=generator, device=x.device) < 0.5
    return _crop(up, top, left, h, w, flip)


# --------------------------------------------------------------------------- DiffAugment
# Differentiable augmentation (Zhao et al., "Differentiable Augmentation for Data-Efficient
# GAN Training", NeurIPS 2020): apply the SAME random transform family to real and fake
# images before the discriminator, in both the D and the G update. Every op is
# differentiable with respect to x, so gradients reach the generator.


def _color(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Random brightness (+U(-0.5, 0.5)), saturation (x U(0, 2)), contrast (x U(0.5, 1.5))."""
    x = x + (_uniform(x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)  # per-pixel grey, (B, 1, H, W)
    x = (x - mean) * (2 * _uniform(x, generator)) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # per-image mean, (B, 1, 1, 1)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def _translation(
    x: torch.Tensor, generator: torch.Generator | None, ratio: float = 0.125
) -> torch.Tensor:
    """Shift each image by up to ratio * size pixels in x and y, filling with zeros."""
    b, _, h, w = x.shape
    ry, rx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    padded = F.pad(x, (rx, rx, ry, ry))  # (B, C, H + 2ry, W + 2rx), zeros around
    top = _randint(2 * ry + 1, b, x, generator)
    left = _randint(2 * rx + 1, b, x, generator)
    return _crop(padded, top, left, h, w)


def _cutout(x: torch.Tensor, generator: torch.Generator | None, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of side ratio * size per image, centred anywhere (may be clipped)."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = _randint(h, b, x, generator) - sy // 2  # (B,)
    left = _randint(w, b, x, generator) - sx // 2
    i = torch.arange(h, device=x.device)
    j = torch.arange(w, device=x.device)
    in_rows = (i >= top[:, None]) & (i < top[:, None] + sy)  # (B, H)
    in_cols = (j >= left[:, None]) & (j < left[:, None] + sx)  # (B, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (B, H, W)
    return x * keep[:, None].to(x.dtype)


DIFF_POLICIES: dict[str, Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "color": _color,
    "translation": _translation,
    "cutout": _cutout,
}


def diff_augment(
    x: torch.Tensor,
    policy: str = "color,translation,cutout",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """DiffAugment: differentiable colour, translation and cutout, applied in policy order.

    - color: brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5),
      per image. Values may leave [-1, 1] (as in the paper; do not clamp, it would stop
      gradients).
    - translation: shift by up to 1/8 of the size in each direction, zero fill.
    - cutout: zero a square of half the size at a random position.

    Args:
        x: (B, C, H, W) float; gradients flow back to it.
        policy: comma-separated names from DIFF_POLICIES; "" means no augmentation.
        generator: torch.Generator on x.device, or None for the global one.

    Returns:
        (B, C, H, W), same dtype and device.
    """
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in DIFF_POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown}; choose from {list(DIFF_POLICIES)}")
    for name in names:
        x = DIFF_POLICIES[name](x, generator)
    return x


AUGMENTATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "basic": basic,
    "deluxe": deluxe,
    "diffaugment": diff_augment,
}


def get(name: str) -> Callable[..., torch.Tensor]:
    """The augmentation called `name` ("basic", "deluxe" or "diffaugment").

    Every one is called as `fn(x, generator=None)` and returns a batch shaped like x.
    """
    try:
        return AUGMENTATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown augmentation {name!r}; choose from {list(AUGMENTATIONS)}"
        ) from None
