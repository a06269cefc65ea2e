import pytest
import torch
from torch import nn

from labutils import grading, models


@pytest.mark.parametrize("size,n_convs", [(32, 4), (64, 5)])
def test_discriminator_shapes_at_two_sizes(size, n_convs):
    disc = models.DCDiscriminator(image_size=size, ndf=8)
    x = torch.randn(3, 3, size, size)
    assert disc(x).shape == (3,)
    shapes = grading.layer_shapes(disc, x)
    assert len(shapes) == n_convs
    assert [s[-1] for s in shapes] == [size // 2**i for i in range(1, n_convs)] + [1]
    assert not grading.has_module(disc, nn.Sigmoid)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("upsample", ["transpose", "nearest"])
def test_generator_shapes_and_range(size, upsample):
    gen = models.DCGenerator(nz=10, image_size=size, ngf=8, upsample=upsample)
    out = gen(torch.randn(4, 10))
    assert out.shape == (4, 3, size, size)
    assert out.abs().max() <= 1
    assert gen(torch.randn(4, 10, 1, 1)).shape == (4, 3, size, size)


def test_parameter_counts_of_the_lab_tables():
    # the numbers Lab 1's hidden tests use
    assert grading.count_params(models.DCDiscriminator(ndf=32)) == 167809
    assert grading.count_params(models.DCGenerator(nz=64, ngf=32)) == 296899


def test_mnist_sized_models_take_one_channel():
    gen = models.DCGenerator(nz=8, image_size=32, channels=1, ngf=8)
    disc = models.DCDiscriminator(image_size=32, channels=1, ndf=8)
    assert disc(gen(torch.randn(2, 8))).shape == (2,)


def test_bad_shapes_give_clear_errors():
    with pytest.raises(ValueError, match="expects"):
        models.DCDiscriminator()(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match="z of shape"):
        models.DCGenerator(nz=10)(torch.randn(2, 11))
    with pytest.raises(ValueError, match="power of two"):
        models.DCGenerator(image_size=28)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    gen = models.DCGenerator(nz=100, ngf=64).apply(models.dcgan_init)
    conv = [m for m in gen.modules() if isinstance(m, nn.ConvTranspose2d)]
    norms = [m for m in gen.modules() if isinstance(m, nn.BatchNorm2d)]
    w = torch.cat([m.weight.flatten() for m in conv])
    assert abs(w.std().item() - 0.02) < 0.001 and abs(w.mean().item()) < 0.001
    nw = torch.cat([m.weight for m in norms])
    assert abs(nw.mean().item() - 1) < 0.005 and abs(nw.std().item() - 0.02) < 0.005
    assert all(torch.all(m.bias == 0) for m in norms)
    assert torch.all(conv[-1].bias == 0)


@pytest.mark.parametrize("nz, ngf", [(100, 32), (10, 8), (1000, 4)])
def test_lab2_generator_shapes_range_and_widths(nz, ngf):
    g = models.MNISTGenerator(nz=nz, ngf=ngf)
    out = g(torch.randn(3, nz))
    assert out.shape == (3, 1, 28, 28) and out.abs().max() <= 1
    shapes = grading.layer_shapes(g.net, torch.randn(2, nz, 1, 1))
    assert (2, 2 * ngf, 7, 7) in shapes and (2, ngf, 14, 14) in shapes
    first = g.net[0].weight
    assert first.shape == (nz, 2 * ngf, 7, 7), "nz widens only the first layer"
    rest = grading.count_params(g) - first.numel()
    assert rest == grading.count_params(models.MNISTGenerator(nz=1, ngf=ngf)) - 2 * ngf * 49


def test_lab2_discriminator_returns_one_logit_per_image():
    d = models.MNISTDiscriminator(ndf=8)
    assert d(torch.rand(5, 1, 28, 28) * 2 - 1).shape == (5,)
    assert not grading.has_module(d, nn.Sigmoid)
    assert grading.count_params(models.MNISTDiscriminator(ndf=32)) == 36545


def test_lab2_models_reject_bad_input():
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        models.MNISTDiscriminator()(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 100\)"):
        models.MNISTGenerator()(torch.zeros(2, 64))
    with pytest.raises(ValueError, match="positive"):
        models.MNISTGenerator(ngf=0)
