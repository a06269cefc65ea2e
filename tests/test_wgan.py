"""Lab 4's reference code: the networks, the Wasserstein losses, clipping, the gradient penalty,
the n_critic iteration and its runner."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from labutils import config, grading, losses, models, train

LAMBDA = 10.0


def digits(n=64, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


class Linear(nn.Module):
    """f(x) = <w, x> + b over the flattened image: its gradient is w everywhere."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b


def unit(seed=0, n=784):
    w = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return w / w.norm()


# ---------------------------------------------------------------------------- networks


@pytest.mark.parametrize(("make", "nz"), [(lambda: models.ConvGenerator(nz=64, ngf=32), 64),
                                          (lambda: models.FCGenerator(nz=64, hidden=256), 64),
                                          (lambda: models.ConvGenerator(nz=10, ngf=8), 10)])
def test_generators_make_digit_shaped_images_in_range(make, nz):
    g = make()
    out = g(torch.randn(5, nz))
    assert out.shape == (5, 1, 28, 28)
    grading.assert_output_range(out, -1, 1, what="the generator")
    with pytest.raises(ValueError, match=rf"\(B, {nz}\)"):
        g(torch.randn(5, nz + 1))


@pytest.mark.parametrize("critic", [models.ConvCritic(ndf=32), models.FCCritic(hidden=256), models.ConvCritic(ndf=8)])
def test_critics_score_each_image_without_sigmoid_or_batch_norm(critic):
    x = digits(6)
    scores = critic(x)
    assert scores.shape == (6,)
    assert not grading.has_module(critic, nn.Sigmoid)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in critic.modules())
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(20)
        big = critic(x)
    assert float(big.abs().max()) > 1.5, "scores are not squashed into a bounded range"
    # one image's score does not depend on the others in its batch (no batch statistics)
    with torch.no_grad():
        torch.testing.assert_close(critic(x[:1]), big[:1], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        critic(torch.rand(2, 3, 28, 28))


def test_parameter_counts_follow_the_tables():
    # by hand from the module docstring's tables
    ngf, nz = 32, 64
    conv_g = nz * 2 * ngf * 49 + 2 * (2 * ngf * 49) + 2 * ngf * ngf * 16 + 2 * ngf + ngf * 16 + 1
    ndf = 32
    conv_c = (16 * ndf + ndf) + (ndf * 2 * ndf * 16 + 2 * ndf) + (2 * ndf * 49 + 1)
    h = 256
    fc_g = (nz * h + h) + (h * 2 * h + 2 * h) + (2 * h * 784 + 784)
    fc_c = (784 * 2 * h + 2 * h) + (2 * h * h + h) + (h + 1)
    assert grading.count_params(models.ConvGenerator(nz=nz, ngf=ngf)) == conv_g
    assert grading.count_params(models.ConvCritic(ndf=ndf)) == conv_c
    assert grading.count_params(models.FCGenerator(nz=nz, hidden=h)) == fc_g
    assert grading.count_params(models.FCCritic(hidden=h)) == fc_c
    with pytest.raises(ValueError, match="positive"):
        models.ConvCritic(ndf=0)


# ---------------------------------------------------------------------------- losses


def test_wasserstein_losses_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0, 5.0])
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(1.0 - 2.0)
    assert float(losses.wasserstein_g_loss(fake)) == pytest.approx(-1.0)
    assert losses.get("wasserstein") == (losses.wasserstein_critic_loss, losses.wasserstein_g_loss)
    with pytest.raises(TypeError, match="floating-point"):
        losses.wasserstein_g_loss(torch.tensor([1, 2]))


def test_penalty_of_a_unit_linear_critic_is_zero():
    real, fake = digits(16, 1).double(), digits(16, 2).double()
    assert float(losses.gradient_penalty(Linear(unit()), real, fake).detach()) == pytest.approx(0.0, abs=1e-12)


def test_penalty_of_a_constant_critic_is_lambda():
    critic = Linear(torch.zeros(784, dtype=torch.float64))
    real, fake = digits(8, 1).double(), digits(8, 2).double()
    assert float(losses.gradient_penalty(critic, real, fake, gp_lambda=LAMBDA).detach()) == pytest.approx(LAMBDA)
    assert float(losses.gradient_penalty(critic, real, fake, gp_lambda=2.5).detach()) == pytest.approx(2.5)


@pytest.mark.parametrize("scale", [0.25, 3.0])
def test_penalty_of_a_scaled_linear_critic(scale):
    real, fake = digits(8, 1).double(), digits(8, 2).double()
    got = float(losses.gradient_penalty(Linear(scale * unit(3)), real, fake, gp_lambda=LAMBDA).detach())
    assert got == pytest.approx(LAMBDA * (scale - 1) ** 2, rel=1e-9)


class Recorder(nn.Module):
    """f(x) = 1/2 |x|^2 per image (gradient x), recording its inputs."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.scale = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return 0.5 * self.scale * x.flatten(1).square().sum(1)


def test_penalty_interpolates_each_sample_with_its_own_epsilon():
    real, fake = digits(64, 1).double(), digits(64, 2).double()
    critic = Recorder()
    got = losses.gradient_penalty(critic, real, fake, gp_lambda=LAMBDA, generator=torch.Generator().manual_seed(5))
    (x_hat,) = critic.seen
    d = (real - fake).flatten(1)
    eps = ((x_hat - fake).flatten(1) * d).sum(1) / d.square().sum(1)  # position on each segment
    assert bool(((eps >= 0) & (eps <= 1)).all())
    torch.testing.assert_close(x_hat, eps.view(-1, 1, 1, 1) * real + (1 - eps.view(-1, 1, 1, 1)) * fake)
    assert float(eps.std()) > 0.1, "one epsilon for the whole batch"
    # grad f = x_hat: the per-sample norms give the penalty
    expected = LAMBDA * ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(got, expected)


def test_penalty_reaches_the_critics_parameters_and_not_the_generator():
    critic = Linear(2.0 * unit(4))
    real = digits(8, 1).double()
    fake = digits(8, 2).double().requires_grad_()
    penalty = losses.gradient_penalty(critic, real, fake)
    penalty.backward()
    # d/dw lambda (|w| - 1)^2 = 2 lambda (|w| - 1) w / |w|
    torch.testing.assert_close(critic.w.grad, 2 * LAMBDA * (2.0 - 1) * unit(4))
    assert fake.grad is None, "the penalty must not train the generator (fake is detached)"


def test_penalty_checks_shapes():
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(Linear(unit()), digits(4), digits(5))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_penalty_double_backward_on_cuda():
    critic = models.ConvCritic(ndf=8).cuda()
    penalty = losses.gradient_penalty(critic, digits(8, 1).cuda(), digits(8, 2).cuda())
    penalty.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in critic.parameters())


def test_penalty_through_the_conv_critic_on_the_cpu_matches_finite_differences():
    torch.manual_seed(0)
    critic = models.ConvCritic(ndf=4).double()
    real, fake = digits(3, 1).double(), digits(3, 2).double()

    def pen(weight_shift):
        with torch.no_grad():
            critic.net[0].weight[0, 0, 0, 0] += weight_shift
        out = float(losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1)).detach())
        with torch.no_grad():
            critic.net[0].weight[0, 0, 0, 0] -= weight_shift
        return out

    critic.zero_grad()
    losses.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1)).backward()
    numeric = (pen(1e-6) - pen(-1e-6)) / 2e-6
    assert float(critic.net[0].weight.grad[0, 0, 0, 0]) == pytest.approx(numeric, rel=1e-4, abs=1e-8)


# ---------------------------------------------------------------------------- clipping and the step


def test_clipping_puts_every_critic_weight_inside_the_box():
    critic = models.ConvCritic(ndf=4)
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(50)
    train.clip_weights_(critic, 0.01)
    assert all(float(p.detach().abs().max()) <= 0.01 for p in critic.parameters())
    assert any(float(p.detach().abs().max()) == pytest.approx(0.01) for p in critic.parameters())
    with pytest.raises(ValueError, match="positive"):
        train.clip_weights_(critic, 0.0)


def small_models(seed=0):
    torch.manual_seed(seed)
    return models.FCGenerator(nz=8, hidden=16), models.FCCritic(hidden=16)


def draws(seed=0, batch=8):
    g = torch.Generator().manual_seed(seed)
    calls = {"real": [], "z": 0}

    def next_real():
        x = torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1
        calls["real"].append(x)
        return x

    def next_z():
        calls["z"] += 1
        return torch.randn(batch, 8, generator=g)

    return next_real, next_z, calls


@pytest.mark.parametrize("n_critic", [1, 5])
@pytest.mark.parametrize("constraint", [dict(clip_value=0.01), dict(gp_lambda=LAMBDA)])
def test_step_updates_the_critic_n_times_on_fresh_batches_then_the_generator_once(n_critic, constraint):
    gen, critic = small_models()
    opt_g, opt_c = torch.optim.RMSprop(gen.parameters(), lr=1e-3), torch.optim.RMSprop(critic.parameters(), lr=1e-3)
    next_real, next_z, calls = draws()
    with grading.record_steps({"critic": opt_c, "gen": opt_g}, {"critic": critic, "gen": gen}) as rec:
        out = train.wgan_step(gen, critic, opt_g, opt_c, next_real, next_z, n_critic=n_critic, **constraint)
    assert rec.order == ["critic"] * n_critic + ["gen"]
    assert [e.changed for e in rec.events] == [("critic",)] * n_critic + [("gen",)]
    assert len(calls["real"]) == n_critic and calls["z"] == n_critic + 1
    assert set(out) == {"critic", "G", "W", "GP"}
    if "clip_value" in constraint:
        assert all(float(p.detach().abs().max()) <= 0.01 for p in critic.parameters())
        assert float(out["GP"]) == 0.0
    else:
        assert float(out["GP"]) > 0


def test_step_with_bce_and_one_critic_update_is_the_vanilla_gan_iteration():
    gen, critic = small_models()
    gen2, critic2 = small_models()
    opts = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (gen, critic, gen2, critic2)]
    next_real, next_z, _ = draws(3)
    real, z_d, z_g = next_real(), next_z(), next_z()
    it = iter([z_d, z_g])
    train.wgan_step(gen, critic, opts[0], opts[1], lambda: real, lambda: next(it), n_critic=1,
                    critic_loss_fn=losses.bce_d_loss, g_loss_fn=losses.bce_g_loss)
    train.d_step(critic2, opts[3], real, gen2(z_d), losses.bce_d_loss)
    train.g_step(critic2, opts[2], gen2(z_g), losses.bce_g_loss)
    grading.assert_same_params(gen, gen2, what="G")
    grading.assert_same_params(critic, critic2, what="D")


# ---------------------------------------------------------------------------- the runner


def quick_cfg(**kw):
    base = dict(iters=4, sample_every=2, eval_every=2, n_eval=16, log_every=2, batch_size=8, gen="fc", critic="fc", hidden=16, nz=8)
    return config.WGANConfig(**{**base, **kw})


@pytest.mark.parametrize("objective", ["gan", "wgan", "wgan-gp"])
def test_each_objective_trains_through_the_one_loop(objective, one_thread):
    cfg = quick_cfg(objective=objective)
    gen, critic = train.wgan_models(cfg)
    s = config.wgan_settings(cfg)
    history = train.train_wgan(gen, critic, digits(32), cfg, device="cpu", progress=False,
                               evaluators={"mean": lambda g: float(g(torch.randn(4, 8)).mean())})
    assert history.iters == [1, 2, 3, 4]
    assert set(history.losses) == {"critic", "G", "W", "GP"}
    assert (max(history.losses["GP"]) > 0) == (objective == "wgan-gp")
    assert s["n_critic"] == (1 if objective == "gan" else 5)
    if objective == "wgan":
        assert all(float(p.detach().abs().max()) <= cfg.clip_value for p in critic.parameters())
    # metrics over wall time: one clock reading per evaluation, increasing, within the run's time
    assert [it for it, _ in history.clock] == [it for it, _ in history.metrics["mean"]] == [2, 4]
    seconds = [t for _, t in history.clock]
    assert 0 < seconds[0] <= seconds[1] <= history.train_seconds <= history.seconds


def test_objective_settings_are_the_papers_and_overridable():
    assert config.wgan_settings(config.WGANConfig(objective="wgan")) == dict(
        n_critic=5, optimizer="rmsprop", lr=5e-5, betas=None, clip_value=0.01, gp_lambda=0.0)
    gp = config.wgan_settings(config.WGANConfig(objective="wgan-gp"))
    assert (gp["optimizer"], gp["betas"], gp["n_critic"], gp["gp_lambda"], gp["clip_value"]) == ("adam", (0.0, 0.9), 5, 10.0, None)
    assert config.wgan_settings(config.WGANConfig(objective="gan", n_critic=2, lr=1e-3))["n_critic"] == 2
    gen, critic = train.wgan_models(config.WGANConfig())
    opt_g, opt_c = train.wgan_optimizers(gen, critic, config.WGANConfig(objective="wgan"), torch.device("cpu"))
    assert isinstance(opt_c, torch.optim.RMSprop) and opt_c.defaults["lr"] == 5e-5
    for bad, match in ((dict(objective="wgan-gd"), "unknown objective"), (dict(gen="mlp"), "'conv' or 'fc'"), (dict(n_critic=0), "at least 1")):
        with pytest.raises(ValueError, match=match):
            config.wgan_settings(config.WGANConfig(**bad))


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, one_thread):
    cfg = quick_cfg(objective="wgan-gp", iters=4)
    gen, critic = train.wgan_models(cfg)
    whole = train.train_wgan(gen, critic, digits(32), cfg, device="cpu", progress=False)
    gen2, critic2 = train.wgan_models(cfg)
    path = tmp_path / "run.pt"
    train.train_wgan(gen2, critic2, digits(32), dataclasses.replace(cfg, iters=2), device="cpu", progress=False,
                     checkpoint=path, checkpoint_every=2)
    gen3, critic3 = train.wgan_models(cfg)  # a new kernel: fresh networks, then the checkpoint
    resumed = train.train_wgan(gen3, critic3, digits(32), cfg, device="cpu", progress=False, checkpoint=path)
    assert resumed.losses == whole.losses
    grading.assert_same_params(gen3, gen, what="G", atol=0, rtol=0)


def test_compile_is_refused_with_the_penalty_and_works_with_clipping(one_thread):
    cfg = quick_cfg(objective="wgan-gp", iters=2)
    gen, critic = train.wgan_models(cfg)
    with pytest.raises(ValueError, match="double backward.*compile=False"):
        train.train_wgan(gen, critic, digits(32), cfg, device="cpu", progress=False, compile=True)
    cfg = quick_cfg(objective="wgan", iters=2, n_critic=2)
    gen, critic = train.wgan_models(cfg)
    history = train.train_wgan(gen, critic, digits(32), cfg, device="cpu", progress=False, compile=True)
    assert all(math.isfinite(v) for v in history.losses["critic"])
    assert all(float(p.detach().abs().max()) <= cfg.clip_value for p in critic.parameters())
