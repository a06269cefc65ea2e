"""The autograder's helpers (labutils.grading): each check passes the right answer and fails
a plausible wrong one, with a message that says what was expected and what was found."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labutils import grading, losses, models, train

# ------------------------------------------------------------------------------- fixtures


def images(batch: int, seed: int) -> torch.Tensor:
    return grading.pseudo_random((batch, 3, 32, 32), seed)


def noise(nz: int):
    return lambda batch, seed: grading.pseudo_random((batch, nz), seed)


class Liar:
    """Equal to everything; an int, a shape and True to every comparison."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __int__(self):
        return 3


class LyingInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class LyingTensor(torch.Tensor):
    def __eq__(self, other):
        return torch.ones((), dtype=torch.bool)


def disc(
    ndf: int = 8, *, act=lambda: nn.LeakyReLU(0.2), before=False, extra=None, logit=None, norm=None
):
    """The DC discriminator of the layer table, with the variations the tests need."""
    norm = norm or (lambda c: nn.BatchNorm2d(c))
    layers = [nn.Conv2d(3, ndf, 4, 2, 1, bias=False), act()]
    for c_in in (ndf, 2 * ndf):
        conv = nn.Conv2d(c_in, 2 * c_in, 4, 2, 1, bias=False)
        layers += [conv, act(), norm(2 * c_in)] if before else [conv, norm(2 * c_in), act()]
    if extra is not None:
        layers.append(extra)
    layers.append(nn.Conv2d(4 * ndf, 1, 4, 1, 0))
    if logit is not None:
        layers.append(logit)

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(*layers)

        def forward(self, x):
            return self.net(x).flatten()

    return D()


class NamedDisc(nn.Module):
    """The table with named layers, registered convs first: another order of parameters."""

    def __init__(self, ndf: int = 8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, ndf, 4, 2, 1, bias=False)
        self.conv2 = nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False)
        self.conv3 = nn.Conv2d(2 * ndf, 4 * ndf, 4, 2, 1, bias=False)
        self.head = nn.Conv2d(4 * ndf, 1, 4, 1, 0)
        self.bn2 = nn.BatchNorm2d(2 * ndf)
        self.bn3 = nn.BatchNorm2d(4 * ndf)

    def forward(self, x):
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = F.leaky_relu(self.bn2(self.conv2(x)), 0.2)
        x = F.leaky_relu(self.bn3(self.conv3(x)), 0.2)
        return self.head(x).view(-1)


class Gen(nn.Module):
    """The DC generator of the layer table with another output function."""

    def __init__(self, out=torch.tanh, nz: int = 16, ngf: int = 8, act=nn.ReLU):
        super().__init__()
        self.nz, self.out = nz, out
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 4 * ngf, 4, 1, 0, bias=False),
            nn.BatchNorm2d(4 * ngf),
            act(),
            nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * ngf),
            act(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            act(),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1),
        )

    def forward(self, z):
        return self.out(self.net(z.view(z.shape[0], self.nz, 1, 1)))


def same_d(student, ndf: int = 8):
    grading.assert_same_function(student, models.DCDiscriminator(ndf=ndf), images, what="your D")


def same_g(student, nz: int = 16, ngf: int = 8):
    ref = models.DCGenerator(nz=nz, ngf=ngf)
    grading.assert_same_function(student, ref, noise(nz), what="your G")


# ------------------------------------------------------------------------------- types


def test_exact_int_takes_ints_and_integer_scalars():
    assert grading.exact_int(3, "n") == 3
    assert type(grading.exact_int(np.int64(3), "n")) is int
    assert grading.exact_int(torch.tensor(7), "n") == 7


@pytest.mark.parametrize(
    "x",
    [
        Liar(),
        LyingInt(3),
        True,
        3.0,
        np.float32(3),
        torch.tensor(3.0),
        torch.tensor([3]),
        "3",
        None,
    ],
    ids=[
        "liar",
        "int-subclass",
        "bool",
        "float",
        "numpy-float",
        "float-tensor",
        "1d",
        "str",
        "None",
    ],
)
def test_exact_int_refuses_everything_else(x):
    with pytest.raises(AssertionError, match="n: expected an int"):
        grading.exact_int(x, "n")


def test_as_tensor_and_as_scalar_check_type_shape_and_graph():
    t = torch.zeros(2, 3)
    assert grading.as_tensor(t, "x", shape=(2, 3)) is t
    with pytest.raises(AssertionError, match=r"expected shape \(3, 2\), got \(2, 3\)"):
        grading.as_tensor(t, "x", shape=(3, 2))
    with pytest.raises(AssertionError, match="expected a torch.Tensor"):
        grading.as_tensor(t.as_subclass(LyingTensor), "x")
    with pytest.raises(AssertionError, match="expected a torch.Tensor, got an object of type"):
        grading.as_tensor(Liar(), "x")
    with pytest.raises(AssertionError, match="floating-point"):
        grading.as_tensor(torch.zeros(2, dtype=torch.long), "x")
    with pytest.raises(AssertionError, match="inf or NaN"):
        grading.as_tensor(torch.tensor([1.0, float("nan")]), "x")

    logit = torch.tensor([0.5], requires_grad=True)
    loss = F.softplus(-logit).mean()
    assert grading.as_scalar(loss, "loss", requires_grad=True) == pytest.approx(0.474077, abs=1e-6)
    with pytest.raises(AssertionError, match="no gradient can flow"):
        grading.as_scalar(loss.detach(), "loss", requires_grad=True)
    with pytest.raises(AssertionError, match="detached"):
        grading.as_scalar(loss, "loss", requires_grad=False)
    with pytest.raises(AssertionError, match=r"expected shape \(\), got \(1,\)"):
        grading.as_scalar(loss.reshape(1), "loss")
    with pytest.raises(AssertionError, match="got float"):
        grading.as_scalar(loss.item(), "loss")


def test_assert_close_refuses_lying_objects():
    grading.assert_close(torch.tensor([1.0, 2.0]), [1.0, 2.0], "x")
    grading.assert_close(nn.Parameter(torch.ones(2)), [1.0, 1.0], "p")
    for liar in (Liar(), torch.zeros(2).as_subclass(LyingTensor)):
        with pytest.raises(AssertionError, match="x: expected a number or a torch.Tensor"):
            grading.assert_close(liar, [1.0, 2.0], "x")
    with pytest.raises(AssertionError, match=r"x: expected \[1.0, 2.0\]"):
        grading.assert_close(torch.tensor([1.0, 2.5]), [1.0, 2.0], "x")


def test_count_params_ignores_a_lying_parameters_method():
    class Cheat(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def parameters(self, recurse=True):
            return iter([torch.zeros(167809)])

    assert grading.count_params(Cheat()) == 8


# ------------------------------------------------------------------------------- seeded data


def test_pseudo_random_is_pinned():
    """Hidden tests paste values computed from these numbers: they must never change."""
    x = grading.pseudo_random((2, 3), 0)
    assert x.dtype == torch.float32 and x.shape == (2, 3)
    assert torch.equal(x, grading.pseudo_random((2, 3), 0))
    assert not torch.equal(x, grading.pseudo_random((2, 3), 1))
    assert x.flatten()[:4].tolist() == PINNED_PSEUDO_RANDOM  # an integer hash: exact
    big = grading.pseudo_random((100_000,), 3, low=2.0, high=5.0)
    assert 2.0 <= big.min() and big.max() < 5.0
    assert big.mean().item() == pytest.approx(3.5, abs=0.02)
    assert big.std().item() == pytest.approx(3 / 12**0.5, abs=0.01)


PINNED_PSEUDO_RANDOM = [
    0.5676184892654419,
    -0.4017265737056732,
    0.8168436288833618,
    -0.8430144786834717,
]


def test_scramble_is_pinned():
    """Lab 1's hidden discriminator test pastes these logits (scramble_ and pseudo_random fixed)."""
    d = grading.scramble_(models.DCDiscriminator(ndf=16), 5).eval()
    with torch.no_grad():
        out = d(grading.pseudo_random((3, 3, 32, 32), 6))
    assert out.tolist() == pytest.approx([-0.5032279, -0.7017409, -0.5719402], rel=1e-4, abs=1e-4)


def test_scramble_sets_every_norm_statistic():
    d = grading.scramble_(models.DCDiscriminator(ndf=8), 3)
    bn = [m for m in d.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(0.5 <= m.weight.min() and m.weight.max() <= 1.5 for m in bn)
    assert all(0.5 <= m.running_var.min() and m.running_var.max() <= 2 for m in bn)
    assert all(m.running_mean.abs().max() > 0.1 for m in bn)
    again = grading.scramble_(models.DCDiscriminator(ndf=8), 3)
    assert all(
        torch.equal(a, b) for a, b in zip(d.state_dict().values(), again.state_dict().values())
    )


# ------------------------------------------------------------------------------- weights


def test_copy_weights_by_order_and_shape_names_free():
    ref = grading.scramble_(models.DCDiscriminator(ndf=8), 0)
    stu = NamedDisc(ndf=8)  # convs registered first: matched by shape
    pairs = grading.copy_weights(ref, stu)
    assert len(pairs.params) == 9 and len(pairs.buffers) == 6
    assert torch.equal(stu.bn3.running_var, ref.net[6].running_var)
    x = images(4, 0)
    ref.eval(), stu.eval()
    assert torch.allclose(stu(x), ref(x), atol=1e-6)


def test_copy_weights_names_the_first_mismatch():
    ref = models.DCDiscriminator(ndf=8)
    with_bias = disc(norm=lambda c: nn.BatchNorm2d(c))
    with_bias.net[0] = nn.Conv2d(3, 8, 4, 2, 1, bias=True)
    with pytest.raises(AssertionError) as err:
        grading.copy_weights(ref, with_bias, what="your discriminator")
    msg = str(err.value)
    assert "your discriminator has 10 parameter tensors, the layer table gives 9" in msg
    assert (
        "your discriminator's 2nd parameter has shape (8,), the layer table gives (16, 8, 4, 4)"
        in msg
    )

    wide = disc(ndf=16)
    with pytest.raises(AssertionError, match=r"1st parameter has shape \(16, 3, 4, 4\)"):
        grading.copy_weights(ref, wide)

    no_stats = disc(norm=lambda c: nn.BatchNorm2d(c, track_running_stats=False))
    with pytest.raises(AssertionError, match="has 0 buffer"):
        grading.copy_weights(ref, no_stats)
    with pytest.raises(AssertionError, match="expected an nn.Module"):
        grading.copy_weights(ref, Liar())


def test_assert_same_params():
    a = grading.scramble_(models.DCGenerator(nz=8, ngf=4), 1)
    b = copy.deepcopy(a)
    grading.assert_same_params(b, a)
    with torch.no_grad():
        b.net[4].bias[2] += 1e-3
    with pytest.raises(AssertionError, match=r"the 6th parameter \(8,\) differs .* by up to 0.001"):
        grading.assert_same_params(b, a, what="your G")


# ------------------------------------------------------------------------------- functions


@pytest.mark.parametrize(
    "student",
    [
        lambda: disc(),
        lambda: NamedDisc(),
        lambda: disc(extra=nn.Identity()),
        lambda: disc(extra=nn.Dropout(0.0)),  # parameter-free and the identity: the same function
        lambda: disc(act=lambda: nn.LeakyReLU(0.2, inplace=True)),
    ],
    ids=["sequential", "named-functional", "extra-identity", "extra-dropout-0", "inplace"],
)
def test_same_function_passes_the_table_written_otherwise(student):
    same_d(student())


@pytest.mark.parametrize(
    "student,where",
    [
        (lambda: disc(act=lambda: nn.LeakyReLU(0.1)), "train mode"),
        (lambda: disc(act=nn.ReLU), "train mode"),
        (lambda: disc(act=nn.ELU), "train mode"),
        (lambda: disc(before=True), "train mode"),  # activation before the norm
        (lambda: disc(extra=nn.Sigmoid()), "train mode"),
        (lambda: disc(extra=nn.ReLU()), "train mode"),
        (lambda: disc(logit=nn.LeakyReLU(0.2)), "train mode"),
        (lambda: disc(logit=nn.Sigmoid()), "train mode"),
        (lambda: disc(extra=nn.Dropout(0.5)), "train mode"),
        (lambda: disc(norm=lambda c: nn.BatchNorm2d(c, eps=1e-3)), "train mode"),
        (lambda: disc(norm=lambda c: nn.BatchNorm2d(c, momentum=0.2)), "running statistics"),
    ],
    ids=[
        "leaky-0.1",
        "relu",
        "elu",
        "act-before-norm",
        "extra-sigmoid",
        "extra-relu",
        "act-on-logit",
        "sigmoid-on-logit",
        "dropout",
        "bn-eps",
        "bn-momentum",
    ],
)
def test_same_function_fails_parameter_free_differences(student, where):
    with pytest.raises(AssertionError, match=where):
        same_d(student())


def test_same_function_checks_batch_of_one_in_eval_mode():
    class Squeezed(nn.Module):  # .squeeze(): a batch of 1 gives a 0-dim tensor
        def __init__(self):
            super().__init__()
            self.d = disc()

        def forward(self, x):
            return self.d.net(x).squeeze()

    with pytest.raises(
        AssertionError, match=r"eval mode.*batch of 1.*expected shape \(1,\), got \(\)"
    ):
        same_d(Squeezed())


def test_same_function_reports_bad_outputs_and_errors():
    class Raises(nn.Module):
        def __init__(self):
            super().__init__()
            self.d = disc()

        def forward(self, x):
            raise RuntimeError("boom")

    class Tuple(Raises):
        def forward(self, x):
            return (self.d(x),)

    class Lies(Raises):
        def forward(self, x):
            return self.d(x).as_subclass(LyingTensor)

    class Detached(Raises):
        def forward(self, x):
            return self.d(x).detach()

    with pytest.raises(
        AssertionError, match="train mode, on a batch of 2: raised RuntimeError: boom"
    ):
        same_d(Raises())
    with pytest.raises(AssertionError, match="expected a torch.Tensor, got a tuple of length 1"):
        same_d(Tuple())
    with pytest.raises(AssertionError, match="expected a torch.Tensor"):
        same_d(Lies())
    with pytest.raises(AssertionError, match="no gradient flows back"):
        same_d(Detached())
    with pytest.raises(AssertionError, match="expected an nn.Module"):
        grading.assert_same_function(lambda x: x, models.DCDiscriminator(ndf=8), images)


def test_same_function_takes_a_list_of_inputs():
    xs = [images(1, 0), images(3, 1)]
    grading.assert_same_function(NamedDisc(), models.DCDiscriminator(ndf=8), xs)
    with pytest.raises(AssertionError, match=r"eval mode.*on a batch of 1"):
        grading.assert_same_function(disc(act=nn.ReLU), models.DCDiscriminator(ndf=8), xs[:1])


def test_same_function_generator_output_layers():
    same_g(Gen(torch.tanh))
    same_g(Gen(nn.Tanh()))
    for out in (
        F.hardtanh,
        lambda x: x.clamp(-1, 1),
        lambda x: torch.sigmoid(x) * 2 - 1,
        F.softsign,
    ):
        with pytest.raises(AssertionError, match="the output differs"):
            same_g(Gen(out))
    with pytest.raises(AssertionError, match="the output differs"):
        same_g(Gen(act=lambda: nn.LeakyReLU(0.2)))


def test_assert_output_range_both_ways():
    gen = Gen(torch.tanh)
    with torch.no_grad():
        gen.net[-1].weight.mul_(50)
    out = gen(torch.randn(8, 16))
    grading.assert_output_range(out, -1, 1, what="G(z)", reach=0.01)
    with pytest.raises(AssertionError, match=r"must lie in \[-1, 1\]"):
        grading.assert_output_range(out * 1.5, -1, 1, what="G(z)")
    with pytest.raises(AssertionError, match="come within 0.01"):
        grading.assert_output_range(out * 0.9, -1, 1, what="G(z)", reach=0.01)
    with pytest.raises(AssertionError, match="NaN"):
        grading.assert_output_range(torch.tensor([float("nan")]), -1, 1)


# ------------------------------------------------------------------------------- steps


def tiny(seed: int):
    gen = grading.scramble_(models.DCGenerator(nz=8, ngf=4), seed)
    dis = grading.scramble_(models.DCDiscriminator(ndf=4), seed + 100)
    return gen, dis


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))


def batch(seed: int):
    return grading.pseudo_random((4, 3, 32, 32), seed), grading.pseudo_random((4, 8), seed + 1)


def no_zero_grad(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    d_loss = d_loss_fn(disc(real), disc(fake.detach()))
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()


def g_first(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    opt_g.zero_grad()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    opt_d.zero_grad()
    d_loss = d_loss_fn(disc(real), disc(fake.detach()))
    d_loss.backward()
    opt_d.step()
    return d_loss.detach(), g_loss.detach()


def zero_both_first(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    """Correct, in another style: every gradient zeroed once, at the start."""
    gen.zero_grad(set_to_none=False)
    disc.zero_grad(set_to_none=False)
    fake = gen(z)
    fake_logits = disc(fake.detach())
    d_loss = d_loss_fn(disc(real), fake_logits)
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()


def run_step(step, seed: int, *, stale: bool, steps: int = 2):
    """``steps`` iterations of ``step`` from a seeded start; (record per iteration, models)."""
    gen, dis = tiny(seed)
    if stale:
        grading.stale_grads([gen, dis], seed)
    opt_g, opt_d = adam(gen), adam(dis)
    recs, outs = [], []
    for i in range(steps):
        real, z = batch(seed * 10 + i)
        with grading.record_steps({"D": opt_d, "G": opt_g}, {"G": gen, "D": dis}) as rec:
            outs.append(step(gen, dis, opt_g, opt_d, real, z, losses.bce_d_loss, losses.bce_g_loss))
        recs.append(rec)
    return recs, outs, gen, dis


def test_stale_grads_are_seeded_and_non_zero():
    a, b = tiny(0), tiny(0)
    grading.stale_grads(a, 5)
    grading.stale_grads({"G": b[0], "D": b[1]}, 5)
    for p, q in zip([p for m in a for p in m.parameters()], [p for m in b for p in m.parameters()]):
        assert p.grad is not None and p.grad.abs().min() >= 0.5 and torch.equal(p.grad, q.grad)


def test_a_missing_zero_grad_shows_only_from_stale_grads():
    ref, ref_out, rg, rd = run_step(train.gan_step, 0, stale=False, steps=1)
    fresh, _, g, d = run_step(no_zero_grad, 0, stale=False, steps=1)
    grading.assert_same_steps(fresh[0], ref[0])  # from fresh models it goes unseen
    grading.assert_same_params(g, rg)
    stale, _, g, d = run_step(no_zero_grad, 0, stale=True, steps=1)
    with pytest.raises(AssertionError, match=r"1st step \(D\).*Were the gradients zeroed"):
        grading.assert_same_steps(stale[0], ref[0])
    with pytest.raises(AssertionError, match="differs"):
        grading.assert_same_params(d, rd)


def test_recorder_sees_order_changes_and_hooks_go_away():
    recs, outs, gen, dis = run_step(train.gan_step, 1, stale=True)
    for rec in recs:
        assert rec.order == ["D", "G"]
        assert [e.changed for e in rec.events] == [("D",), ("G",)]
        assert all(e.moved_before == () for e in rec.events) and rec.after == ()
        assert set(rec.events[0].grads) == {"D"} and set(rec.events[1].grads) == {"G"}
    opt = recs[0].optimizers["D"]
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks

    other, _, _, _ = run_step(zero_both_first, 1, stale=True)
    for a, b in zip(other, recs):
        grading.assert_same_steps(a, b)
    wrong, _, _, _ = run_step(g_first, 1, stale=True)
    with pytest.raises(
        AssertionError, match=r"expected the optimiser steps \['D', 'G'\].*found \['G', 'D'\]"
    ):
        grading.assert_same_steps(wrong[0], recs[0])


def test_recorder_for_wgan_and_cyclegan_shapes():
    # WGAN: n_critic critic steps with weight clipping after each, then one generator step
    gen, critic = tiny(2)
    opt_g, opt_c = adam(gen), adam(critic)
    with grading.record_steps({"C": opt_c, "G": opt_g}, {"G": gen, "C": critic}) as rec:
        for _ in range(3):
            opt_c.zero_grad()
            real, z = batch(3)
            (critic(gen(z).detach()).mean() - critic(real).mean()).backward()
            opt_c.step()
            with torch.no_grad():
                for p in critic.parameters():
                    p.clamp_(-0.01, 0.01)
        opt_g.zero_grad()
        (-critic(gen(z)).mean()).backward()
        opt_g.step()
    assert rec.order == ["C", "C", "C", "G"]
    assert [e.moved_before for e in rec.events] == [(), ("C",), ("C",), ("C",)]  # the clipping
    assert rec.after == ()

    # CycleGAN: one optimiser over two generators
    g_xy, g_yx = tiny(4)[0], tiny(5)[0]
    opt = torch.optim.SGD([*g_xy.parameters(), *g_yx.parameters()], lr=0.1)
    with grading.record_steps({"G": opt}, {"G_XY": g_xy, "G_YX": g_yx}) as rec:
        opt.zero_grad()
        z = batch(0)[1]
        (g_xy(z).mean() + g_yx(z).square().mean()).backward()
        opt.step()
        with torch.no_grad():
            g_yx.net[1].bias.add_(1)  # outside any step
    assert rec.events[0].changed == ("G_XY", "G_YX")
    assert set(rec.events[0].grads) == {"G_XY", "G_YX"}
    assert rec.after == ("G_YX",)


def test_recorder_refuses_non_optimizers():
    with pytest.raises(TypeError, match="expected a torch.optim.Optimizer"):
        grading.record_steps({"D": Liar()}, {})
