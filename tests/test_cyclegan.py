"""Lab 3's reference step, runner and translation metrics (models: test_cyclegan_models.py)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from labutils import config, data, grading, losses, metrics, train


def tiny_cfg(**kw):
    base = dict(iters=6, batch_size=4, ngf=4, ndf=4, n_res=1, log_every=2, sample_every=3, eval_every=3)
    return dataclasses.replace(config.CycleGANConfig(), **{**base, **kw})


def images(n, seed):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def setup(seed=0, **kw):
    cfg = tiny_cfg(seed=seed, **kw)
    nets = train.cyclegan_models(cfg)
    kw = dict(lr=1e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(train.updates.parameters(nets["g_xy"], nets["g_yx"]), **kw)
    opt_d = torch.optim.Adam(train.updates.parameters(nets["d_x"], nets["d_y"]), **kw)
    return nets, opt_g, opt_d


def step(nets, opt_g, opt_d, x, y, **kw):
    return train.cyclegan_step(nets["g_xy"], nets["g_yx"], nets["d_x"], nets["d_y"], opt_g, opt_d, x, y, **kw)


def test_generator_update_leaves_discriminators_and_the_other_way_round():
    nets, opt_g, opt_d = setup()
    before = {k: grading.snapshot(v) for k, v in nets.items()}
    changed = []
    for name, opt in (("G", opt_g), ("D", opt_d)):
        inner = opt.step

        def spy(*a, _inner=inner, _name=name, **k):
            changed.append((_name, {n: grading.max_change(before[n], nets[n]) > 0 for n in nets}))
            return _inner(*a, **k)

        opt.step = spy
    out = step(nets, opt_g, opt_d, images(4, 1), images(4, 2), lambda_identity=0.5)
    assert [c[0] for c in changed] == ["G", "D"], "the generators first, then the discriminators"
    assert not any(changed[0][1].values()), "nothing changed before the generators' step"
    assert changed[1][1] == {"g_xy": True, "g_yx": True, "d_x": False, "d_y": False}
    assert all(grading.max_change(before[n], nets[n]) > 0 for n in nets)
    assert list(out) == ["G", "cycle", "identity", "D_X", "D_Y"]
    assert all(v.dim() == 0 and not v.requires_grad for v in out.values())
    assert out["identity"] > 0


def test_lambda_cycle_zero_gives_no_cycle_gradient():
    """With lambda_cycle = 0 the cycle loss may be anything: the update stays the same."""
    x, y = images(4, 1), images(4, 2)
    results = []
    for cycle_fn in (losses.cycle_loss, lambda a, b: 1e3 * losses.cycle_loss(a, b) ** 2):
        nets, opt_g, opt_d = setup()
        step(nets, opt_g, opt_d, x, y, lambda_cycle=0.0, cycle_loss_fn=cycle_fn)
        results.append(torch.cat([p.detach().flatten() for p in nets.parameters()]))
    assert torch.equal(results[0], results[1])
    nets, opt_g, opt_d = setup()
    step(nets, opt_g, opt_d, x, y, lambda_cycle=10.0)
    assert not torch.equal(results[0], torch.cat([p.detach().flatten() for p in nets.parameters()]))


def test_identity_loss_only_when_asked():
    calls = []

    def counting(a, b):
        calls.append(1)
        return losses.identity_loss(a, b)

    nets, opt_g, opt_d = setup()
    out = step(nets, opt_g, opt_d, images(4, 1), images(4, 2), identity_loss_fn=counting)
    assert calls == [] and float(out["identity"]) == 0.0
    step(nets, opt_g, opt_d, images(4, 1), images(4, 2), lambda_identity=5.0, identity_loss_fn=counting)
    assert len(calls) == 2


def test_runner_resumes_bit_for_bit_and_draws_unpaired(tmp_path):
    x, y = images(12, 1), images(10, 2)
    full_nets = train.cyclegan_models(tiny_cfg())
    full = train.train_cyclegan(full_nets, x, y, tiny_cfg(), device="cpu")
    assert set(full.losses) == {"G", "cycle", "identity", "D_X", "D_Y"} and full.iters == list(range(1, 7))
    assert full.samples[6].shape == (32, 3, 32, 32), "rows: 8 x, 8 G(x), 8 y, 8 F(y)"
    assert torch.equal(full.samples[6][:8], x[:8])
    ckpt = tmp_path / "cyc.pt"
    train.train_cyclegan(train.cyclegan_models(tiny_cfg()), x, y, tiny_cfg(iters=4), device="cpu", checkpoint=ckpt)
    nets = train.cyclegan_models(tiny_cfg(seed=9))
    resumed = train.train_cyclegan(nets, x, y, tiny_cfg(), device="cpu", checkpoint=ckpt)
    assert resumed.losses == full.losses
    for a, b in zip(nets.parameters(), full_nets.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(train.CheckpointError, match="lambda_cycle"):
        train.train_cyclegan(train.cyclegan_models(tiny_cfg()), x, y, tiny_cfg(lambda_cycle=1.0), device="cpu", checkpoint=ckpt)


def test_runner_rejects_bad_input():
    nets = train.cyclegan_models(tiny_cfg())
    with pytest.raises(ValueError, match="same image shape"):
        train.train_cyclegan(nets, images(8, 1), torch.zeros(8, 3, 16, 16), tiny_cfg(), device="cpu")
    with pytest.raises(ValueError, match="lacks"):
        train.train_cyclegan(nn.ModuleDict({"g_xy": nets["g_xy"]}), images(8, 1), images(8, 2), tiny_cfg(), device="cpu")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        train.train_cyclegan(nets, images(8, 1) * 3, images(8, 2), tiny_cfg(), device="cpu")
    with pytest.raises(ValueError, match="disc"):
        train.cyclegan_models(tiny_cfg(disc="huge"))
    dc = train.cyclegan_models(tiny_cfg(disc="dc"))
    assert dc["d_x"](images(2, 1)).shape == (2,)


class _Fixed(nn.Module):
    """A 'generator' that returns a function of its input, with a parameter for the device."""

    def __init__(self, fn):
        super().__init__()
        self.fn, self.p = fn, nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.fn(x)


def test_translation_errors_mean_what_they_say():
    x = data.load_emoji("google", split="test")
    y = data.load_emoji("windows", split="test")
    perfect = _Fixed(lambda t: y[: len(t)] if len(t) == len(y) else t)
    copy = _Fixed(lambda t: t)
    kd = metrics.KernelDistance(data.load_emoji("windows", split="train"), n=100)
    best = metrics.translation_errors(perfect, copy, x, y, kd_y=kd)
    assert best["pixel_l1"] == 0 and best["feature_l2"] == pytest.approx(0, abs=1e-6)
    copying = metrics.translation_errors(copy, copy, x, y, kd_y=kd)
    assert copying["cycle_l1"] == 0, "identity both ways reconstructs exactly"
    assert copying["pixel_l1"] == pytest.approx(float((x - y).abs().mean()), rel=1e-6)
    assert copying["feature_l2"] > best["feature_l2"] + 1 and copying["kd"] > best["kd"]
    shuffled = _Fixed(lambda t: y.roll(1, 0))
    wrong_pairs = metrics.translation_errors(shuffled, copy, x, y, kd_y=kd)
    assert wrong_pairs["feature_l2"] > copying["feature_l2"], "the right style on the wrong emoji is worse"
    assert abs(wrong_pairs["kd"] - best["kd"]) < 0.05, "KD sees the style, not the pairing"
    with pytest.raises(ValueError, match="paired"):
        metrics.translation_errors(copy, copy, x, y[:-1])
