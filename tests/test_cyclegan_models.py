"""Lab 3 building blocks: CycleGenerator, ResidualBlock, PatchDiscriminator and the image losses."""

import pytest
import torch
from torch import nn

from labutils import grading, losses, models


def seeded(cls, seed=0, **kwargs):
    torch.manual_seed(seed)
    return cls(**kwargs).apply(models.dcgan_init)


# --- CycleGenerator -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("batch", [1, 3])
def test_generator_preserves_the_shape_at_two_sizes(size, batch):
    gen = seeded(models.CycleGenerator, ngf=8, n_res=1)
    x = torch.rand(batch, 3, size, size) * 2 - 1
    out = gen(x)
    assert out.shape == x.shape
    # encoder halves twice, the residual convs keep H/4, the decoder doubles twice
    h, q = size // 2, size // 4
    want = [(8, h), (16, q), (16, q), (16, q), (8, h), (3, size)]
    assert grading.layer_shapes(gen, x) == [(batch, c, s, s) for c, s in want]


def test_generator_takes_any_multiple_of_four_and_other_channel_counts():
    gen = models.CycleGenerator(in_channels=1, ngf=4, n_res=1)
    assert gen(torch.randn(2, 1, 12, 20)).shape == (2, 1, 12, 20)


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_generator_output_is_in_range_and_tanh_saturates(norm):
    gen = seeded(models.CycleGenerator, ngf=8, n_res=1, norm=norm)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    out = gen(x)
    assert out.abs().max() <= 1
    assert grading.has_module(gen, nn.Tanh)
    with torch.no_grad():
        for p in gen.parameters():
            p.mul_(100)
    big = gen(x)
    assert not big.isnan().any() and big.abs().max() <= 1
    assert (big.abs() > 0.99).float().mean() > 0.9  # saturated, not clipped past 1


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_zeroed_last_norm_makes_a_residual_block_the_identity(norm):
    block = seeded(models.ResidualBlock, channels=6, norm=norm)
    x = torch.randn(2, 6, 8, 8)
    with torch.no_grad():
        block.branch[-1].weight.zero_()
        block.branch[-1].bias.zero_()
    assert torch.equal(block(x), x)


def test_zeroed_last_conv_makes_a_block_without_norm_the_identity():
    block = seeded(models.ResidualBlock, channels=6, norm="none")
    x = torch.randn(2, 6, 8, 8)
    conv = [m for m in block.branch if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
    assert torch.equal(block(x), x)


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_a_block_is_its_input_plus_its_branch(norm):
    block = seeded(models.ResidualBlock, channels=6, norm=norm)
    x = torch.randn(2, 6, 8, 8)
    out, branch = block(x), block.branch(x)
    assert out.shape == x.shape
    assert not torch.allclose(out, branch, atol=1e-3)  # the skip connection is there
    assert not torch.allclose(out, x, atol=1e-3)  # and so is the branch
    assert torch.allclose(out - branch, x, atol=1e-6)


def test_generator_with_identity_blocks_equals_the_one_without_blocks():
    # the residual path: every block zeroed leaves encoder -> decoder, i.e. n_res=0
    gen = seeded(models.CycleGenerator, ngf=8, n_res=2).eval()
    bare = models.CycleGenerator(ngf=8, n_res=0).eval()
    missing, unexpected = bare.load_state_dict(gen.state_dict(), strict=False)
    assert missing == [] and all(k.startswith("res.") for k in unexpected)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert not torch.allclose(gen(x), bare(x), atol=1e-4)
    with torch.no_grad():
        for block in gen.res:
            block.branch[-1].weight.zero_()
            block.branch[-1].bias.zero_()
    assert torch.allclose(gen(x), bare(x), atol=1e-6)


def generator_params(c, g, n_res, norm):
    """Hand count: k4 convs have 16 weights per (in, out) pair, k3 convs 9.

    An affine norm on k channels has 2k parameters (scale, shift) and the conv before it no
    bias; with norm="none" that conv has k biases instead. The last transposed conv has c biases.
    """
    after = (lambda k: 2 * k) if norm != "none" else (lambda k: k)
    enc = 16 * c * g + after(g) + 16 * g * 2 * g + after(2 * g)
    block = 2 * (9 * (2 * g) ** 2 + after(2 * g))
    dec = 16 * 2 * g * g + after(g) + 16 * g * c + c
    return enc + n_res * block + dec


def patch_params(c, d, n_layers, norm):
    after = (lambda k: 2 * k) if norm != "none" else (lambda k: k)
    total = 16 * c * d + d  # first conv: bias, no norm
    for i in range(1, n_layers):
        total += 16 * (d * 2 ** (i - 1)) * (d * 2**i) + after(d * 2**i)
    return total + 9 * d * 2 ** (n_layers - 1) + 1  # k3 head to 1 channel, with bias


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_parameter_counts_follow_the_hand_formula(norm):
    # ngf=4, n_res=1, instance norm, by hand:
    # 3*4*16 + 2*4 + 4*8*16 + 2*8 + 2*(8*8*9 + 2*8) + 8*4*16 + 2*4 + 4*3*16 + 3
    # = 192 + 8 + 512 + 16 + 1184 + 512 + 8 + 195 = 2627
    assert generator_params(3, 4, 1, "instance") == 2627
    for n_res in (0, 1, 3):
        gen = models.CycleGenerator(ngf=4, n_res=n_res, norm=norm)
        assert grading.count_params(gen) == generator_params(3, 4, n_res, norm)
    # ndf=4, n_layers=3, instance: 3*4*16 + 4 + 4*8*16 + 2*8 + 8*16*16 + 2*16 + 16*9 + 1
    # = 196 + 528 + 2080 + 145 = 2949
    assert patch_params(3, 4, 3, "instance") == 2949
    for n_layers in (1, 2, 3):
        disc = models.PatchDiscriminator(ndf=4, n_layers=n_layers, norm=norm)
        assert grading.count_params(disc) == patch_params(3, 4, n_layers, norm)


def test_parameter_counts_of_the_default_configs():
    # the numbers Lab 3's hidden tests can use
    assert grading.count_params(models.CycleGenerator()) == 216835
    assert grading.count_params(models.PatchDiscriminator()) == 166945
    assert grading.count_params(models.ResidualBlock(64)) == 73984


def test_generator_without_residual_blocks():
    gen = models.CycleGenerator(ngf=8, n_res=0)
    assert not any(isinstance(m, models.ResidualBlock) for m in gen.modules())
    assert gen(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    with_one = models.CycleGenerator(ngf=8, n_res=1)
    assert grading.count_params(with_one) - grading.count_params(gen) == grading.count_params(
        models.ResidualBlock(16)
    )


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="n_res"):
        models.CycleGenerator(n_res=-1)
    with pytest.raises(ValueError, match="unknown norm"):
        models.CycleGenerator(norm="layer")
    with pytest.raises(ValueError, match="ngf"):
        models.CycleGenerator(ngf=0)
    with pytest.raises(ValueError, match="unknown norm"):
        models.ResidualBlock(8, norm="group")
    with pytest.raises(ValueError, match="n_layers"):
        models.PatchDiscriminator(n_layers=0)
    with pytest.raises(ValueError, match="unknown norm"):
        models.PatchDiscriminator(norm="Instance")
    with pytest.raises(TypeError):
        models.CycleGenerator(3)  # keyword-only


def test_bad_images_name_their_shape():
    gen = models.CycleGenerator(ngf=4, n_res=0)
    with pytest.raises(ValueError, match=r"multiples of 4.*\(2, 3, 30, 30\)"):
        gen(torch.randn(2, 3, 30, 30))
    with pytest.raises(ValueError, match=r"\(2, 1, 32, 32\)"):
        gen(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(3, 32, 32\)"):
        gen(torch.randn(3, 32, 32))
    disc = models.PatchDiscriminator(ndf=4, n_layers=3)
    with pytest.raises(ValueError, match=r"multiples of 8.*\(1, 3, 36, 36\)"):
        disc(torch.randn(1, 3, 36, 36))


# --- PatchDiscriminator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "size,n_layers,grid", [(32, 3, 4), (64, 3, 8), (32, 2, 8), (64, 2, 16), (32, 1, 16)]
)
def test_patch_grid_shape(size, n_layers, grid):
    disc = seeded(models.PatchDiscriminator, ndf=8, n_layers=n_layers)
    for batch in (1, 3):
        assert disc(torch.randn(batch, 3, size, size)).shape == (batch, 1, grid, grid)


def test_patch_discriminator_returns_unbounded_logits():
    disc = seeded(models.PatchDiscriminator, ndf=8)
    assert not grading.has_module(disc, nn.Sigmoid)
    with torch.no_grad():
        disc.net[-1].weight.mul_(1e3)
    logits = disc(torch.randn(4, 3, 32, 32))
    assert logits.max() > 1 and logits.min() < 0


@pytest.mark.parametrize("n_layers,field", [(2, 18), (3, 38)])
def test_receptive_field_of_one_logit(n_layers, field):
    # without norm (instance norm's statistics span the whole image) one logit sees a square of
    # 5 * 2^n - 2 pixels: the pixels with a non-zero gradient
    disc = seeded(models.PatchDiscriminator, ndf=4, n_layers=n_layers, norm="none")
    x = torch.randn(1, 3, 128, 128, requires_grad=True)
    logits = disc(x)
    h = logits.shape[-1] // 2
    (grad,) = torch.autograd.grad(logits[0, 0, h, h], x)
    rows = grad.abs().sum(dim=(0, 1, 3)).nonzero()
    cols = grad.abs().sum(dim=(0, 1, 2)).nonzero()
    assert rows.max() - rows.min() + 1 == field
    assert cols.max() - cols.min() + 1 == field


def test_dc_discriminator_remains_the_other_option():
    x = torch.randn(2, 3, 32, 32)
    for disc in (models.DCDiscriminator(ndf=8), models.PatchDiscriminator(ndf=8)):
        loss = losses.lsgan_d_loss(disc(x), disc(x.flip(-1)))
        assert loss.dim() == 0 and torch.isfinite(loss)


# --- gradients, seeds, init -----------------------------------------------------------------


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_every_parameter_gets_a_gradient(norm):
    gen = seeded(models.CycleGenerator, ngf=8, n_res=1, norm=norm)
    disc = seeded(models.PatchDiscriminator, ndf=8, norm=norm)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    fake = gen(x)
    (losses.lsgan_g_loss(disc(fake)) + 10 * losses.cycle_loss(x, fake)).backward()
    for name, p in [*gen.named_parameters(), *disc.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_two_seeded_constructions_are_identical():
    pairs = [(models.CycleGenerator, {"ngf": 8}), (models.PatchDiscriminator, {"ndf": 8})]
    for cls, kwargs in pairs:
        for init in (True, False):
            torch.manual_seed(3)
            a = cls(**kwargs)
            torch.manual_seed(3)
            b = cls(**kwargs)
            if init:
                torch.manual_seed(4)
                a.apply(models.dcgan_init)
                torch.manual_seed(4)
                b.apply(models.dcgan_init)
            sa, sb = a.state_dict(), b.state_dict()
            assert sa.keys() == sb.keys()
            assert all(torch.equal(sa[k], sb[k]) for k in sa)
            x = torch.randn(2, 3, 32, 32)
            assert torch.equal(a(x), b(x))
    c = seeded(models.CycleGenerator, seed=1, ngf=8)
    d = seeded(models.CycleGenerator, seed=2, ngf=8)
    assert not torch.equal(c.encoder[0].weight, d.encoder[0].weight)


def test_dcgan_init_on_instance_norm():
    torch.manual_seed(0)
    gen = models.CycleGenerator(ngf=64, n_res=6).apply(models.dcgan_init)
    norms = [m for m in gen.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(m.affine for m in norms)
    nw = torch.cat([m.weight for m in norms])  # 1,792 scales
    assert abs(nw.mean().item() - 1) < 0.005 and abs(nw.std().item() - 0.02) < 0.005
    assert all(torch.all(m.bias == 0) for m in norms)
    convs = [m for m in gen.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    w = torch.cat([m.weight.flatten() for m in convs])
    assert abs(w.std().item() - 0.02) < 0.001 and abs(w.mean().item()) < 0.001
    assert torch.all(convs[-1].bias == 0)


# --- losses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [losses.cycle_loss, losses.identity_loss])
def test_l1_losses_by_hand(loss):
    assert loss(torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)).item() == pytest.approx(0.5)
    assert loss(torch.ones(1, 3, 2, 2), torch.ones(1, 3, 2, 2)).item() == 0
    real = torch.tensor([1.0, -1.0, 0.0, 0.5]).reshape(1, 1, 2, 2)
    other = torch.tensor([-1.0, -1.0, 0.25, 1.0]).reshape(1, 1, 2, 2)
    assert loss(real, other).item() == pytest.approx((2 + 0 + 0.25 + 0.5) / 4)  # L1, not L2
    assert loss(real, other).dim() == 0


@pytest.mark.parametrize("loss", [losses.cycle_loss, losses.identity_loss])
def test_l1_losses_reject_bad_input(loss):
    with pytest.raises(ValueError, match=r"same shape.*\(2, 3, 8, 8\).*\(1, 3, 8, 8\)"):
        loss(torch.zeros(2, 3, 8, 8), torch.zeros(1, 3, 8, 8))  # would broadcast
    with pytest.raises(ValueError, match="same shape"):
        loss(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 16, 16))
    with pytest.raises(TypeError, match="Tensor"):
        loss([0.0], torch.zeros(1))
    with pytest.raises(TypeError, match="floating"):
        loss(torch.zeros(1, dtype=torch.long), torch.zeros(1))


@pytest.mark.parametrize("loss", [losses.cycle_loss, losses.identity_loss])
def test_gradients_flow_to_both_images(loss):
    real = torch.tensor([[1.0, -0.5], [0.0, 0.25]], requires_grad=True)
    other = torch.tensor([[0.5, 0.5], [-1.0, 1.0]], requires_grad=True)
    g_real, g_other = torch.autograd.grad(loss(real, other), (real, other))
    sign = torch.sign(real.detach() - other.detach())
    assert torch.allclose(g_real, sign / 4)  # d/da mean |a - b| = sign(a - b) / N
    assert torch.allclose(g_other, -sign / 4)


def test_cycle_loss_through_two_generators():
    g_xy = seeded(models.CycleGenerator, seed=0, ngf=8)
    g_yx = seeded(models.CycleGenerator, seed=1, ngf=8)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    loss = losses.cycle_loss(x, g_yx(g_xy(x)))
    loss.backward()
    assert g_xy.encoder[0].weight.grad.abs().sum() > 0
    assert g_yx.encoder[0].weight.grad.abs().sum() > 0


def test_least_squares_losses_score_every_patch():
    grid = torch.tensor([[[[2.0, 0.0], [0.0, -2.0]]]])  # (B=1, 1, 2, 2), mean 0
    # per patch: 1/2 mean (l - 1)^2 = 1/2 (1 + 1 + 1 + 9) / 4; averaged first it would be 1/2
    assert losses.lsgan_g_loss(grid).item() == pytest.approx(1.5)
    assert losses.lsgan_g_loss(grid.mean(dim=(1, 2, 3))).item() == pytest.approx(0.5)
    # D: 1/2 mean (l - 1)^2 over the real grid + 1/2 mean l^2 over fake (B,) logits
    fake = torch.tensor([1.0, 3.0])
    assert losses.lsgan_d_loss(grid, fake).item() == pytest.approx(0.5 * 3 + 0.5 * (1 + 9) / 2)
    big = torch.randn(4, 1, 8, 8)
    assert losses.lsgan_g_loss(big).item() == pytest.approx(0.5 * ((big - 1) ** 2).mean().item())
