"""train.Sweep: named runs trained once, resumed after a restart, gathered into one table."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from labutils import config, train
from labutils.train import BatchSource


@dataclasses.dataclass(frozen=True)
class Cfg(config.RunConfig):
    width: int = 3
    lr: float = 0.1


def base(**kw):
    return dataclasses.replace(Cfg(), **{**dict(iters=12, batch_size=4, sample_every=100, eval_every=100, log_every=4), **kw})


class Trainer:
    """A real ``fit`` of a linear model on fixed data; counts the steps it runs."""

    def __init__(self, stop_after: int | None = None):
        self.steps = 0
        self.stop_after = stop_after

    def __call__(self, cfg, checkpoint):
        torch.manual_seed(cfg.seed)
        nets = nn.ModuleDict({"net": nn.Linear(2, cfg.width)})
        opts = {"net": torch.optim.SGD(nets.parameters(), lr=cfg.lr)}
        x = torch.linspace(-1, 1, 32).view(16, 2)

        def step(nets, opts, batches):
            self.steps += 1
            if self.stop_after is not None and self.steps > self.stop_after:
                raise KeyboardInterrupt  # the kernel was interrupted
            b = batches.next()
            loss = nets["net"](b["x"]).square().mean()
            opts["net"].zero_grad()
            loss.backward()
            opts["net"].step()
            return {"loss": loss.detach()}

        history = train.fit(nets, opts, BatchSource({"x": x}, cfg.batch_size, seed=cfg.seed), step, cfg,
                            checkpoint=checkpoint, checkpoint_every=4, progress=False)
        return nets, history


def score(nets, history):
    return {"final": history.losses["loss"][-1], "weight": float(nets["net"].weight.detach().abs().sum())}


def test_a_run_trains_once_and_aliases_share_it(tmp_path):
    trainer = Trainer()
    sweep = train.Sweep(trainer, score, tmp_path)
    a = sweep.run("a", base())
    assert trainer.steps == 12 and (tmp_path / "a-full.pt").exists()
    assert sweep.run("a", base()) is a and trainer.steps == 12
    assert sweep.run("same-as-a", base()) is a and trainer.steps == 12, "one config under two names is one run"
    sweep.run("b", base(seed=1))
    assert trainer.steps == 24 and "b" in sweep and sweep["b"].cfg.seed == 1
    with pytest.raises(ValueError, match="another config"):
        sweep.run("a", base(seed=5))
    for bad in ("", "a/b", "../x", "a b", 3):
        with pytest.raises(ValueError, match="run name"):
            sweep.run(bad, base(seed=9))
    with pytest.raises(KeyError, match="no run 'c'"):
        sweep["c"]


def test_a_restarted_sweep_resumes_where_it_stopped(tmp_path):
    want = train.Sweep(Trainer(), score, tmp_path / "straight")
    for s in range(3):
        want.run(f"seed{s}", base(seed=s))

    first = Trainer(stop_after=12 + 6)  # finishes seed0, is interrupted in seed1
    sweep = train.Sweep(first, score, tmp_path / "cut")
    sweep.run("seed0", base(seed=0))
    with pytest.raises(KeyboardInterrupt):
        sweep.run("seed1", base(seed=1))

    again = Trainer()  # a new kernel: a new sweep object runs the same lines
    sweep = train.Sweep(again, score, tmp_path / "cut")
    for s in range(3):
        sweep.run(f"seed{s}", base(seed=s))
    assert again.steps == 0 + (12 - 4) + 12, "seed0 loaded, seed1 resumed from its iteration-4 checkpoint, seed2 trained"
    for s in range(3):
        got, ref = sweep[f"seed{s}"], want[f"seed{s}"]
        assert got.history.losses == ref.history.losses
        assert got.scores == ref.scores
        assert torch.equal(got.nets["net"].weight, ref.nets["net"].weight)


def test_profiles_do_not_share_checkpoints(tmp_path):
    trainer = Trainer()
    sweep = train.Sweep(trainer, score, tmp_path)
    sweep.run("x-full", base())
    sweep.run("x-quick", base(iters=6, profile="quick"))
    assert {p.name for p in tmp_path.iterdir()} == {"x-full-full.pt", "x-quick-quick.pt"}


def test_table_is_mean_and_sd_over_each_rows_runs(tmp_path):
    sweep = train.Sweep(Trainer(), score, tmp_path)
    names = [sweep.run(f"s{s}", base(seed=s)).name for s in range(3)]
    finals = [sweep[n].scores["final"] for n in names]
    table = sweep.table({"three seeds": names, "one": names[:1]}, {"final": "last loss"}, digits=4)
    lines = table.splitlines()
    assert lines[0] == "| run | runs | last loss |" and lines[1].startswith("| --- |")
    mean = sum(finals) / 3
    sd = math.sqrt(sum((f - mean) ** 2 for f in finals) / 2)
    assert lines[2] == f"| three seeds | 3 | {mean:.4f} ± {sd:.4f} |"
    assert lines[3] == f"| one | 1 | {finals[0]:.4f} |"  # one run: no spread to show
    with pytest.raises(KeyError, match="no score 'fcd'"):
        sweep.table({"x": names}, {"fcd": "FCD"})
    sweep.runs["s1"].scores["final"] = math.nan
    assert "(1 NaN)" in sweep.table({"x": names}, {"final": "f"})
    assert train.mean_sd([1.0, 3.0], 1) == "2.0 ± 1.4"


def test_run_function_must_return_a_history(tmp_path):
    sweep = train.Sweep(lambda cfg, path: (None, {"not": "a history"}), score, tmp_path)
    with pytest.raises(TypeError, match="History"):
        sweep.run("x", base())
