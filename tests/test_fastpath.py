"""The fast training path computes the same update as classic course code.

``train.train_gan`` keeps the data on the device, draws batches by index, reads the losses
back every ``log_every`` iterations and uses the fastest Adam kernel and memory layout that
were measured (benchmarks/train_speed.py). Here the same models are trained a few iterations
both ways from the same start, on the same batches in the same order and the same z: the
classic way (a DataLoader whose sampler replays the fast path's index sequence, plain Adam,
a plain step, ``.item()`` every iteration) and the fast way. With the same kernels the losses
of every iteration, the parameters and BatchNorm's running statistics are identical; the
faster kernels (fused Adam, channels-last) are checked alone to agree to float rounding, and
end to end to within what Adam makes of that rounding in a few iterations.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from labutils import losses, train
from labutils.config import DCGANConfig

ROOT = Path(__file__).resolve().parents[1]
ITERS, BATCH, N_IMAGES = 5, 16, 40  # 40 images: the 5 batches of 16 cross an epoch boundary


def bench_module(name: str):
    """A script of benchmarks/ imported as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


TRAIN_SPEED = bench_module("train_speed")


def new_models(seed: int = 0):
    """The benchmark's reference DCGAN (32x32, nz 64, width 32), DCGAN-initialised from ``seed``."""
    return TRAIN_SPEED.new_models(seed)


def images(seed: int = 1) -> torch.Tensor:
    """Distinct random images in [-1, 1], so a batch tells which images it holds."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(N_IMAGES, 3, 32, 32, generator=g) * 2 - 1  # (N, 3, 32, 32)


def fast_run(device: str, cfg: DCGANConfig, **switches):
    """train_gan on the reference models; returns the models, history and the (real, z) fed."""
    gen, disc = new_models()
    fed: list[tuple[torch.Tensor, torch.Tensor]] = []

    def recording_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
        fed.append((real.detach().cpu().clone(), z.detach().cpu().clone()))
        return train.gan_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn)

    history = train.train_gan(
        gen, disc, images(), cfg, step=recording_step, device=device, progress=False, **switches
    )
    return gen, disc, history, fed


def baseline_run(device: str, cfg: DCGANConfig, order: list[int], zs: list[torch.Tensor]):
    """Classic course code: DataLoader, plain Adam, the benchmark's plain step (its baseline),
    .item() every iteration."""
    gen, disc = new_models()
    gen.to(device).train()
    disc.to(device).train()
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=cfg.betas, foreach=False)
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=cfg.betas, foreach=False)
    loader = DataLoader(TensorDataset(images()), batch_size=cfg.batch_size, sampler=order)
    d_hist, g_hist = [], []
    for (real,), z in zip(loader, zs):
        real, z = real.to(device), z.to(device)
        d_loss, g_loss = TRAIN_SPEED.baseline_step(gen, disc, opt_g, opt_d, real, z)
        d_hist.append(d_loss.item())
        g_hist.append(g_loss.item())
    return gen, disc, d_hist, g_hist


def indices_of(batch: torch.Tensor, data: torch.Tensor) -> list[int]:
    """Which images of ``data`` a batch holds, in order (each must match exactly once)."""
    same = (batch[:, None] == data[None]).flatten(2).all(2)  # (B, N)
    assert (same.sum(1) == 1).all(), "every image of a batch is one image of the data set"
    return same.float().argmax(1).tolist()


def compare(device: str, atol: float, rtol: float, loss_rtol: float | None = None, **switches) -> None:
    """Train ITERS iterations both ways from the same start on the same batches and z."""
    cfg = DCGANConfig(batch_size=BATCH, iters=ITERS, log_every=2, sample_every=ITERS, eval_every=ITERS)
    gen, disc, history, fed = fast_run(device, cfg, **switches)
    assert len(fed) == ITERS and history.iters == list(range(1, ITERS + 1))
    order = [i for real, _ in fed for i in indices_of(real, images())]
    epoch = N_IMAGES // BATCH * BATCH
    assert sorted(order[:epoch]) == sorted(set(order[:epoch]))  # no image twice in an epoch
    ref_gen, ref_disc, d_hist, g_hist = baseline_run(device, cfg, order, [z for _, z in fed])

    loss_tol = {"atol": atol, "rtol": loss_rtol or rtol}
    torch.testing.assert_close(torch.tensor(history.losses["D"]), torch.tensor(d_hist), **loss_tol)
    torch.testing.assert_close(torch.tensor(history.losses["G"]), torch.tensor(g_hist), **loss_tol)
    for name, a, b in [("G", gen, ref_gen), ("D", disc, ref_disc)]:
        ref = b.state_dict()
        for key, value in a.state_dict().items():  # parameters and BatchNorm running stats
            torch.testing.assert_close(
                value.cpu(), ref[key].cpu(), atol=atol, rtol=rtol,
                msg=lambda m, k=key, n=name: f"{n} {k}: {m}",
            )


def test_fast_path_is_classic_code_exactly_on_cpu():
    """Same kernels (unfused Adam, contiguous layout): the data path on the device, batches by
    index, losses read back every log_every and D frozen in the G update change nothing."""
    compare("cpu", atol=0, rtol=0, fused=False, channels_last=False)


@pytest.mark.parametrize("channels_last", [None, False], ids=["default", "contiguous"])
def test_fast_path_matches_classic_code_on_cpu(channels_last):
    """The default fast path on the CPU (fused Adam, channels-last storage) rounds
    differently; Adam's update lr * m / (sqrt(v) + eps) turns rounding in a gradient element
    near eps into up to lr, so after k iterations parameters agree to about k * lr and the
    losses to a relative 1e-3 (about 3e-4 observed)."""
    lr = DCGANConfig().lr
    compare("cpu", atol=ITERS * lr, rtol=0, loss_rtol=1e-3, channels_last=channels_last)


def test_fused_adam_rounds_like_adam():
    """One kernel choice alone: fused Adam takes the same steps as the for-loop Adam."""
    gen, _ = new_models()
    params = [[p.detach().clone().requires_grad_() for p in gen.parameters()] for _ in range(2)]
    opts = [
        torch.optim.Adam(params[0], lr=3e-4, betas=(0.5, 0.999), foreach=False),
        torch.optim.Adam(params[1], lr=3e-4, betas=(0.5, 0.999), fused=True),
    ]
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        grads = [torch.randn(p.shape, generator=g) * 0.01 for p in params[0]]
        for opt, ps in zip(opts, params):
            for p, grad in zip(ps, grads):
                p.grad = grad.clone()
            opt.step()
    for a, b in zip(*params):
        torch.testing.assert_close(a, b, atol=1e-7, rtol=1e-6)


def test_channels_last_rounds_like_contiguous():
    """The other kernel choice alone: the same losses and gradients in either layout."""
    results = []
    for layout in (torch.contiguous_format, torch.channels_last):
        gen, disc = new_models()
        gen.to(memory_format=layout)
        disc.to(memory_format=layout)
        real = images()[:BATCH].contiguous(memory_format=layout)
        z = torch.randn(BATCH, 64, generator=torch.Generator().manual_seed(2))
        fake = gen(z)
        d_loss = losses.bce_d_loss(disc(real), disc(fake.detach()))
        g_loss = losses.bce_g_loss(disc(fake))
        grads = torch.autograd.grad(d_loss + g_loss, [*gen.parameters(), *disc.parameters()])
        results.append((d_loss, g_loss, grads))
    (d0, g0, grads0), (d1, g1, grads1) = results
    torch.testing.assert_close(d1, d0)
    torch.testing.assert_close(g1, g0)
    for a, b in zip(grads1, grads0):
        torch.testing.assert_close(a.contiguous(), b, atol=1e-6, rtol=1e-4)


def test_fast_path_defaults_on_cpu():
    """What the defaults pick on the CPU, as measured (see benchmarks/train_speed.py)."""
    gen, disc = new_models()
    opt_g, opt_d = train.make_optimizers(gen, disc, DCGANConfig(), torch.device("cpu"))
    for opt in (opt_g, opt_d):
        assert opt.defaults["fused"] is True
    assert train.speed.channels_last_wins(torch.device("cpu"))
    assert not train.speed.channels_last_wins(torch.device("cuda"))  # not measured there


def test_compile_mode_is_checked_and_passed_on(monkeypatch):
    """compile=True is torch.compile's default mode, a string its mode; a wrong one is refused."""
    assert train.speed.compile_mode(True) == "default"
    assert train.speed.compile_mode("reduce-overhead") == "reduce-overhead"
    gen, disc = new_models()
    cfg = DCGANConfig(batch_size=BATCH, iters=2, sample_every=2, eval_every=2)
    with pytest.raises(ValueError, match="reduce-overhead"):
        train.train_gan(gen, disc, images(), cfg, device="cpu", progress=False, compile="fastest")
    modes = []

    def fake_compile(model, mode=None):  # records the call, compiles nothing
        modes.append(mode)
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    history = train.train_gan(gen, disc, images(), cfg, device="cpu", progress=False, compile="reduce-overhead")
    assert modes == ["reduce-overhead", "reduce-overhead"] and history.iters == [1, 2]


def test_benchmark_runs(tmp_path):
    """benchmarks/train_speed.py end to end with a tiny budget, the JSON it writes, its table."""
    bench = TRAIN_SPEED
    out = tmp_path / "cpu.json"
    bench.main(
        ["--device", "cpu", "--iters", "2", "--warmup", "1", "--rounds", "1", "--batch-sizes", "8",
         "--images", "64", "--matmul-size", "256", "--cyclegan-batch-sizes", "4", "--wgan-batch-sizes", "4",
         "--out", str(out)]
    )  # fmt: skip
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["threads"] == torch.get_num_threads()
    row, cyc, wgan = result["configs"]
    assert (row["model"], row["batch_size"], cyc["model"], cyc["batch_size"]) == ("dcgan", 8, "cyclegan", 4)
    assert (wgan["model"], wgan["batch_size"]) == ("wgan-gp", 4)
    for path in ("baseline", "labutils"):
        assert wgan[path]["it_per_s"] > 0 and wgan[path]["gflop_per_it"] is None  # not countable
    for path in ("baseline", "labutils"):
        for r in (row, cyc):
            assert r[path]["it_per_s"] > 0 and r[path]["gflop_per_it"] > 0
    assert cyc["labutils"]["gflop_per_it"] < cyc["baseline"]["gflop_per_it"] * 1.01

    tables = bench_module("results_table")
    text = tables.markdown(tables.result_files("cpu", tmp_path))
    assert "`cpu.json`: cpu" in text and "2 timed iterations per path in 1 alternating rounds" in text
    labutils_row = next(line for line in text.splitlines() if line.startswith("| DCGAN (Lab 1) | 8 | labutils"))
    assert any(line.startswith("| CycleGAN (Lab 3) | 4 | classic course code") for line in text.splitlines())
    wgan_row = next(line for line in text.splitlines() if line.startswith("| WGAN-GP (Lab 4) | 4 | labutils"))
    assert "| n/a | n/a | n/a |" in wgan_row
    assert f"| {row['labutils']['it_per_s']:.1f} (" in labutils_row
    assert labutils_row.endswith(f"| {row['ratio']:.2f}x |")
    assert tables.result_files("cuda", tmp_path) == []
    assert tables.markdown([], none="nothing yet") == "nothing yet\n"


def test_step_profile_counts_the_iterations_flops(tmp_path):
    """benchmarks/step_profile.py: its per-operator FLOPs add up to what FlopCounterMode counts
    for one whole iteration of the same models, and every conv layer is timed."""
    profile = bench_module("step_profile")
    out = tmp_path / "profile.json"
    summary = profile.main(["--device", "cpu", "--iters", "2", "--warmup", "1", "--top", "40", "--out", str(out)])
    assert json.loads(out.read_text())["batch_size"] == 16
    ops = summary["ops"]
    convs = [r for r in ops if r["op"].startswith("convolution")]
    # 4 + 4 conv layers; D runs 3 times an iteration, G once
    assert sum(r["calls_per_it"] for r in convs if r["op"] == "convolution") == 4 * 3 + 4
    step, _ = profile.setup(16, torch.device("cpu"))
    with FlopCounterMode(display=False) as counter:
        step()
    whole = counter.get_total_flops() / 1e9
    assert summary["gflop_per_it"] == pytest.approx(whole, rel=1e-6)
    assert sum(r["gflop_per_it"] for r in ops) == pytest.approx(whole, rel=1e-6)  # all in the top 40
    assert all(r["ms_per_it"] > 0 for r in convs)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fast_path_matches_classic_code_on_gpu():
    # cuDNN may pick other algorithms (and TF32) for the two runs: looser tolerances.
    compare("cuda", atol=ITERS * DCGANConfig().lr, rtol=0, loss_rtol=1e-2)
    cfg = DCGANConfig(batch_size=BATCH, iters=ITERS, sample_every=ITERS, eval_every=ITERS)
    _, _, history, _ = fast_run("cuda", cfg, amp=True, channels_last=True)
    assert all(torch.isfinite(torch.tensor(history.losses["D"] + history.losses["G"])))
