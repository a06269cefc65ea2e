"""Batch augmentations: shapes, ranges, seeding, gradients."""

from __future__ import annotations

import pytest
import torch

from labutils import augment


def batch(b=8, c=3, size=32, seed=0):
    return torch.rand(b, c, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_basic_is_identity():
    x = batch()
    assert augment.basic(x, generator=gen()) is x


@pytest.mark.parametrize("name", sorted(augment.AUGMENTATIONS))
@pytest.mark.parametrize("shape", [(8, 3, 32, 32), (4, 1, 28, 28), (2, 3, 64, 64)])
def test_shape_dtype_and_seeding(name, shape):
    fn = augment.get(name)
    x = torch.rand(shape, generator=gen(1)) * 2 - 1
    a, b = fn(x, generator=gen(5)), fn(x, generator=gen(5))
    assert a.shape == x.shape and a.dtype == x.dtype
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    if name != "basic":
        assert not torch.equal(fn(x, generator=gen(6)), a)


def test_deluxe_changes_images_keeps_range():
    x = batch(64)
    y = augment.deluxe(x, generator=gen())
    assert y.min() >= -1 and y.max() <= 1
    changed = (y - x).abs().flatten(1).amax(1) > 1e-3
    assert changed.all()


def test_deluxe_crop_and_flip_pick_from_upscaled_image():
    # a horizontal ramp: every output row must be a contiguous (maybe reversed) window
    # of the upscaled ramp, so columns are monotonic and rows are all equal
    ramp = torch.linspace(-1, 1, 32).expand(64, 3, 32, 32).contiguous()
    y = augment.deluxe(ramp, generator=gen())
    torch.testing.assert_close(y, y[:, :, :1].expand_as(y))
    steps = y[:, 0, 0].diff(dim=1)
    increasing, decreasing = (steps > 0).all(1), (steps < 0).all(1)
    assert (increasing | decreasing).all()
    assert 16 < decreasing.sum() < 48  # about half flipped


def test_flip_only_sanity():
    # a horizontally symmetric image is unchanged by flips, so flipped and unflipped
    # crops at the same offsets agree with the unflipped upscale-and-crop
    x = batch(16)
    sym = (x + x.flip(-1)) / 2
    top = torch.zeros(16, dtype=torch.long)
    flip = torch.arange(16) % 2 == 0
    out = augment._crop(sym, top, top, 32, 32, flip)
    torch.testing.assert_close(out, sym)
    out = augment._crop(x, top, top, 32, 32, flip)
    torch.testing.assert_close(out[flip], x[flip].flip(-1))
    torch.testing.assert_close(out[~flip], x[~flip])


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_diff_augment_gradient_flows(policy):
    x = batch(4).requires_grad_()
    y = augment.diff_augment(x, policy, generator=gen())
    assert y.shape == x.shape
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_diff_augment_translation_and_cutout_content():
    x = torch.ones(32, 3, 32, 32)
    t = augment.diff_augment(x, "translation", generator=gen())
    assert set(t.unique().tolist()) <= {0.0, 1.0}
    filled = (t == 0).float().mean((1, 2, 3))
    assert filled.max() <= 1 - (28 / 32) ** 2 + 1e-6  # shifts of at most 4 of 32 px
    c = augment.diff_augment(x, "cutout", generator=gen())
    cut = (c == 0).float().mean((1, 2, 3))
    assert (cut > 0).all() and (cut <= 0.25 + 1e-6).all()


def test_diff_augment_empty_policy_and_errors():
    x = batch()
    assert torch.equal(augment.diff_augment(x, ""), x)
    with pytest.raises(ValueError, match="policy"):
        augment.diff_augment(x, "color,rotate")
    with pytest.raises(ValueError, match="deluxe"):
        augment.get("fancy")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(augment.AUGMENTATIONS))
def test_cuda(name):
    x = batch().cuda()
    g = torch.Generator(device="cuda").manual_seed(0)
    y = augment.get(name)(x, generator=g)
    assert y.device == x.device and y.shape == x.shape
