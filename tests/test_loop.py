"""The generic loop (``train.fit``) and its batch source, on networks other than Lab 1's pair."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from labutils import config, losses, models, plot, train
from labutils.train import BatchSource


def cfg(**kw):
    base = dict(iters=12, batch_size=4, sample_every=4, eval_every=6, log_every=5)
    return dataclasses.replace(config.RunConfig(), **{**base, **kw})


# ---------------------------------------------------------------------------- batch source


def test_paired_batches_keep_rows_together_and_cover_an_epoch():
    x = torch.arange(10.0)[:, None].repeat(1, 3)  # row i is all i
    labels = torch.arange(10)
    src = BatchSource({"x": x, "label": labels}, 5, noise={"z": 7}, seed=0)
    seen = []
    for _ in range(2):
        b = src.next()
        assert set(b) == {"x", "label", "z"} and b["z"].shape == (5, 7)
        assert torch.equal(b["x"][:, 0].long(), b["label"]), "paired: the same rows of every tensor"
        seen += b["label"].tolist()
    assert sorted(seen) == list(range(10)), "one epoch draws every row once"


def test_unpaired_batches_are_drawn_independently():
    a, b = torch.arange(12.0), torch.arange(12.0)
    src = BatchSource({"a": a, "b": b}, 4, paired=False, seed=0)
    draws = [src.next() for _ in range(3)]
    assert any(not torch.equal(d["a"], d["b"]) for d in draws), "unpaired: other rows in each"
    assert sorted(torch.cat([d["a"] for d in draws]).tolist()) == list(range(12))
    with pytest.raises(ValueError, match="same length"):
        BatchSource({"a": a, "b": torch.arange(5.0)}, 2)
    BatchSource({"a": a, "b": torch.arange(5.0)}, 2, paired=False)  # lengths may differ


def test_batch_source_state_resumes_the_same_draws():
    x = torch.randn(9, 2)
    src = BatchSource({"x": x}, 4, noise={"z": 3}, augment={"x": lambda t, generator: t + torch.rand(t.shape, generator=generator)}, seed=3)
    src.next()
    state = src.state_dict()
    want = [src.next() for _ in range(4)]
    other = BatchSource({"x": x}, 4, noise={"z": 3}, augment={"x": lambda t, generator: t + torch.rand(t.shape, generator=generator)}, seed=99)
    other.load_state_dict(state)
    got = [other.next() for _ in range(4)]
    for w, g in zip(want, got):
        assert torch.equal(w["x"], g["x"]) and torch.equal(w["z"], g["z"])


def test_batch_source_rejects_bad_input():
    with pytest.raises(ValueError, match="larger than"):
        BatchSource({"x": torch.zeros(3, 2)}, 4)
    with pytest.raises(ValueError, match="not tensors"):
        BatchSource({"x": torch.zeros(3, 2)}, 2, augment={"y": lambda t, generator: t})
    with pytest.raises(ValueError, match="also tensor names"):
        BatchSource({"x": torch.zeros(3, 2)}, 2, noise={"x": 2})
    with pytest.raises(TypeError, match="tensor"):
        BatchSource({"x": [1, 2, 3]}, 2)


# ---------------------------------------------------------------------------- a 4-network run


def four_nets(seed=0):
    torch.manual_seed(seed)
    return nn.ModuleDict({k: nn.Linear(3, 3) for k in ("g_xy", "g_yx", "d_x", "d_y")})


def opts_for(nets):
    gen = train.updates.parameters(nets["g_xy"], nets["g_yx"])
    disc = train.updates.parameters(nets["d_x"], nets["d_y"])
    return {"gen": torch.optim.Adam(gen, lr=1e-2), "disc": torch.optim.Adam(disc, lr=1e-2)}


def toy_cycle_step(nets, opts, batches):
    """A toy two-generator step: cycle loss for the generators, then a loss for the critics."""
    b = batches.next()
    x, y = b["x"], b["y"]
    with train.frozen(nets["d_x"], nets["d_y"]):
        fy, fx = nets["g_xy"](x), nets["g_yx"](y)
        g = (nets["g_yx"](fy) - x).abs().mean() + (nets["g_xy"](fx) - y).abs().mean()
        g = g + nets["d_y"](fy).pow(2).mean()
        opts["gen"].zero_grad()
        g.backward()
        opts["gen"].step()
    d = (nets["d_x"](x) - 1).pow(2).mean() + nets["d_y"](fy.detach()).pow(2).mean()
    opts["disc"].zero_grad()
    d.backward()
    opts["disc"].step()
    return {"G": g.detach(), "D": d.detach(), "cycle": g.detach() * 0}


def four_net_run(run_cfg, **kw):
    nets = four_nets()
    gx = torch.Generator().manual_seed(0)
    data = {"x": torch.randn(10, 3, generator=gx), "y": torch.randn(14, 3, generator=gx)}
    src = BatchSource(data, run_cfg.batch_size, paired=False, seed=run_cfg.seed)
    probe = data["x"][:2]
    h = train.fit(
        nets, opts_for(nets), src, toy_cycle_step, run_cfg,
        sample=lambda n: n["g_xy"](probe)[:, :, None, None], **kw,
    )  # fmt: skip
    return nets, h


def state(nets):
    return torch.cat([p.detach().flatten() for p in nets.parameters()])


def test_any_networks_and_loss_names_train_and_resume_bit_for_bit(tmp_path):
    nets, full = four_net_run(cfg())
    assert set(full.losses) == {"G", "D", "cycle"} and full.iters == list(range(1, 13))
    assert all(len(v) == 12 for v in full.losses.values())
    assert sorted(full.samples) == [4, 8, 12]
    ckpt = tmp_path / "cycle.pt"
    four_net_run(cfg(iters=7), checkpoint=ckpt)
    resumed_nets, resumed = four_net_run(cfg(), checkpoint=ckpt)
    assert resumed.losses == full.losses
    assert torch.equal(state(resumed_nets), state(nets))
    # another budget resumes; another hyperparameter (the seed) does not
    with pytest.raises(train.CheckpointError, match="seed"):
        four_net_run(cfg(seed=5), checkpoint=ckpt)


def test_checkpoint_with_other_networks_is_refused(tmp_path):
    ckpt = tmp_path / "run.pt"
    four_net_run(cfg(iters=3), checkpoint=ckpt)
    nets = nn.ModuleDict({"gen": nn.Linear(3, 3), "disc": nn.Linear(3, 3)})
    opts = {k: torch.optim.Adam(v.parameters()) for k, v in nets.items()}
    src = BatchSource({"x": torch.randn(10, 3), "y": torch.randn(14, 3)}, 4, paired=False)
    with pytest.raises(train.CheckpointError, match="networks"):
        train.fit(nets, opts, src, toy_cycle_step, cfg(), checkpoint=ckpt)


def test_a_step_must_return_the_same_named_scalars():
    nets = four_nets()
    src = BatchSource({"x": torch.randn(10, 3), "y": torch.randn(10, 3)}, 4)
    calls = []

    def changing(nets, opts, batches):
        calls.append(1)
        return {"a": torch.tensor(1.0)} if len(calls) == 1 else {"b": torch.tensor(1.0)}

    with pytest.raises(ValueError, match=r"\['b'\] at iteration 2"):
        train.fit(nets, opts_for(nets), src, changing, cfg())
    with pytest.raises(TypeError, match="dict of named scalar losses"):
        train.fit(nets, opts_for(nets), src, lambda n, o, b: (1.0, 2.0), cfg())
    with pytest.raises(ValueError, match="must be a scalar"):
        train.fit(nets, opts_for(nets), src, lambda n, o, b: {"a": torch.ones(3)}, cfg())
    with pytest.raises(TypeError, match="ModuleDict"):
        train.fit({"a": nn.Linear(1, 1)}, {}, src, changing, cfg())


def test_nan_names_the_loss_and_the_iteration():
    nets = four_nets()
    src = BatchSource({"x": torch.randn(10, 3), "y": torch.randn(10, 3)}, 4)

    calls = []

    def diverging(nets, opts, batches):
        calls.append(1)
        out = toy_cycle_step(nets, opts, batches)
        return {**out, "cycle": out["cycle"] + (float("inf") if len(calls) == 3 else 0.0)}

    with pytest.raises(train.TrainingDiverged, match="the cycle loss became inf at iteration 3"):
        train.fit(nets, opts_for(nets), src, diverging, cfg())


def test_compile_is_refused_for_a_double_backward_step():
    nets = four_nets()
    src = BatchSource({"x": torch.randn(10, 3), "y": torch.randn(10, 3)}, 4)

    def gp_step(nets, opts, batches):
        return toy_cycle_step(nets, opts, batches)

    gp_step.double_backward = True
    with pytest.raises(ValueError, match="double backward"):
        train.fit(nets, opts_for(nets), src, gp_step, cfg(), compile=True)


class _HostReads(TorchFunctionMode):
    """Counts the calls that read a tensor back to the host."""

    READS = {"cpu", "item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__"}

    def __init__(self):
        super().__init__()
        self.counts: dict[str, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.READS:
            self.counts[name] = self.counts.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


def test_one_host_read_per_log_every():
    """Lab 1's real step and models: the loop reads the device once per ``log_every``."""
    torch.manual_seed(0)
    gen, disc = models.DCGenerator(nz=8, ngf=8), models.DCDiscriminator(ndf=8)
    nets = nn.ModuleDict({"gen": gen, "disc": disc})
    opt_g, opt_d = train.make_optimizers(gen, disc, config.DCGANConfig(), torch.device("cpu"))
    src = BatchSource({"real": torch.rand(20, 3, 32, 32) * 2 - 1}, 4, noise={"z": 8})

    def step(nets, opts, batches):
        b = batches.next()
        d, g = train.gan_step(nets["gen"], nets["disc"], opts["gen"], opts["disc"], b["real"], b["z"])
        return {"D": d, "G": g}

    reads = _HostReads()
    with reads:
        h = train.fit(nets, {"gen": opt_g, "disc": opt_d}, src, step, cfg(iters=20, log_every=5))
    assert len(h.losses["D"]) == 20
    assert reads.counts == {"cpu": 4, "tolist": 4}, reads.counts


def test_budget_fields_and_profiles():
    assert config.BUDGET_FIELDS == ("iters", "sample_every", "eval_every", "n_eval")
    assert "lr" in config.identity_fields(config.DCGANConfig())
    assert "iters" not in config.identity_fields(config.DCGANConfig())
    configs = {"lab1": config.DCGANConfig(), "lab2": config.MNISTGANConfig(), "lab3": config.CycleGANConfig(), "lab4": config.WGANConfig(),
               "lab5": config.CGANConfig()}
    assert set(config.BUDGETS) <= set(configs)
    for lab, profiles in config.BUDGETS.items():
        for name, budget in profiles.items():
            assert set(budget) <= set(config.budget_fields(configs[lab])), f"{lab}/{name} sets a non-budget field"
            assert config.with_profile(configs[lab], lab, name).profile == name
    assert "sweep_iters" in config.budget_fields(config.CycleGANConfig())
    assert "sweep_iters" not in config.identity_fields(config.CycleGANConfig())
    with pytest.raises(ValueError, match="not budget fields"):
        config.with_profile(config.DCGANConfig(), "lab3", "quick")
    assert not hasattr(config.DCGANConfig(), "lr_d"), "Lab 2's hyperparameters live in Lab 2's config"
    assert {"lr_d", "lr_g", "init"} <= set(config.identity_fields(config.MNISTGANConfig()))


def test_loss_table_and_curves_take_any_names():
    _, h = four_net_run(cfg())
    h.metrics["KD"] = [(6, 0.5), (12, 0.25)]
    table = plot.loss_table({"toy": h}, metrics=["KD"], fraction=0.5)
    lines = table.splitlines()
    assert lines[0] == "| run | mean G loss | mean D loss | mean cycle loss | final KD |"
    assert lines[2].startswith("| toy | ") and lines[2].endswith("| 0.250 |")
    assert f"{sum(h.losses['G'][-6:]) / 6:.3f}" in lines[2]
    fig = plot.loss_curves({"toy": h}, names=["G", "cycle"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["G toy", "cycle toy"]
    with pytest.raises(KeyError, match="no loss"):
        plot.loss_curves(h, names=["nope"])


def test_lab1_runner_records_d_and_g():
    torch.manual_seed(0)
    gen, disc = models.DCGenerator(nz=8, ngf=8), models.DCDiscriminator(ndf=8)
    run_cfg = dataclasses.replace(config.DCGANConfig(), iters=3, batch_size=4, nz=8, log_every=2, sample_every=3, eval_every=3)
    h = train.train_gan(gen, disc, torch.rand(8, 3, 32, 32) * 2 - 1, run_cfg, device="cpu", d_loss_fn=losses.lsgan_d_loss, g_loss_fn=losses.lsgan_g_loss)
    assert list(h.losses) == ["D", "G"] and h.samples[3].shape == (64, 3, 32, 32)
