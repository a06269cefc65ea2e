"""Training speed of the Lab 1 DCGAN, the Lab 3 CycleGAN and the Lab 4 WGAN-GP: classic course
code against labutils.

Trains the same DCGAN (32x32 images, nz 64, ngf = ndf = 32, non-saturating BCE losses, Adam
lr 3e-4, betas (0.5, 0.999), same initial weights) two ways in one run, for the same number of
iterations at each batch size:

- baseline, as classic course code does it: the bundled windows emoji (train split, 64 px)
  written to PNG files, read back by torchvision's ImageFolder with PIL and transformed
  (Resize 32, ToTensor, Normalize), a DataLoader(num_workers=0, shuffle=True), plain Adam,
  a plain D update then G update, and ``.item()`` on both losses every iteration;
- labutils: ``train.train_gan`` with its defaults (data resident on the device, batches by
  index, losses read back every ``log_every`` iterations, the fastest Adam kernel measured,
  channels-last where it was measured to win) plus any switches given below.

Both use one G forward per iteration, so both compute the same update (tests/test_fastpath.py
checks this). Warm-up iterations are not timed; on CUDA the device is synchronised before the
clock is read. The timed iterations run in rounds that alternate between the two paths, so a
change of load on a shared machine hits both; it/s is the median over the rounds (min and max
are reported too). A labutils round times the whole ``train_gan`` call, set-up and the final
sample grid included.

GFLOP per iteration comes from ``torch.utils.flop_counter.FlopCounterMode`` over one training
iteration of each path (the baseline's G update also computes D's weight gradients, which
labutils skips). The machine's matmul GFLOP/s is the best of 2048x2048 float32 matmuls timed
before, between and after the training runs.

On a CPU shared with other busy processes, two threads can be many times slower than one
(a parallel region waits for a descheduled thread): take numbers on an idle machine (the
load average is printed and saved), or compare with ``--threads 1``.

    python benchmarks/train_speed.py                    # the default device, batch 16 and 64
    python benchmarks/train_speed.py --batch-sizes 16 --iters 600 --channels-last on
    python benchmarks/train_speed.py --device cuda --amp --compile
    python benchmarks/train_speed.py --device cuda --compile reduce-overhead --tag cudagraphs
    make benchmark-gpu                                  # the GPU variants, then their table

The Lab 3 CycleGAN (``config.CycleGANConfig``'s networks, Google -> Windows emoji at 32x32,
batch 16) is timed the same way (``--models``): the classic path reads two ImageFolders of
PNGs through two DataLoaders (unpaired) and calls ``.item()`` on its five losses every
iteration; labutils' path is ``train.train_cyclegan``. Both run the reference
``train.cyclegan_step`` from the same initial weights.

The Lab 4 WGAN-GP (``config.WGANConfig``'s convolutional networks on the MNIST digits, batch
32, five critic updates with the gradient penalty per iteration) likewise (``--wgan-batch-sizes``):
the classic path reads the digits as PNGs through a DataLoader, a fresh batch for each critic
update, and calls ``.item()`` on its losses every iteration; labutils' path is
``train.train_wgan``. Both run ``train.wgan_step``. Its rows are not compiled (the penalty's
double backward cannot be), and their FLOPs are not counted (``FlopCounterMode`` fails on the
penalty's ``torch.autograd.grad``): n/a in the table.

Writes JSON to ``--out`` (default ``benchmarks/results/<device>.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from PIL import Image
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision import datasets, transforms

from labutils import config, data, losses, models, train

ROOT = Path(__file__).resolve().parents[1]
NZ, WIDTH, LR, BETAS, SIZE = 64, 32, 3e-4, (0.5, 0.999), 32
REFERENCE_ITERS = 5000  # the classic assignment's budget, for the projected time


# ---------------------------------------------------------------------------- machine


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or platform.machine()
    return device.type


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def git_dirty() -> bool | None:
    """Whether the working tree differs from the commit (then the numbers are not its)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT, capture_output=True, text=True, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Best GFLOP/s of n x n float32 matmuls on ``device`` (2 n^3 FLOP each)."""
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, generator=g)
    b = torch.randn(n, n, device=device, generator=g)
    per_call = 1 if device.type == "cpu" else 20  # GPU: enough work between the two syncs
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        for _ in range(per_call):
            a @ b
        sync(device)
        best = min(best, (time.perf_counter() - t) / per_call)
    return 2 * n**3 / best / 1e9


# ---------------------------------------------------------------------------- the two paths


def new_models(seed: int) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    gen = models.DCGenerator(nz=NZ, ngf=WIDTH, image_size=SIZE).apply(models.dcgan_init)
    disc = models.DCDiscriminator(ndf=WIDTH, image_size=SIZE).apply(models.dcgan_init)
    return gen, disc


def emoji(size: int, n: int | None) -> torch.Tensor:
    """The bundled windows emoji, train split (the first ``n``): (N, 3, size, size) in [-1, 1]."""
    return data.load_emoji("windows", split="train", size=size)[:n]


def write_pngs(root: Path, n: int | None, style: str = "windows") -> Path:
    """The bundled emoji of ``style`` (train split, 64 px) as PNG files in an ImageFolder layout."""
    x = data.load_emoji(style, split="train", size=64)[:n]  # (N, 3, 64, 64) in [-1, 1]
    images = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    folder = root / style
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return root


def png_loader(root: Path, batch_size: int) -> torch.utils.data.DataLoader:
    """Classic course data: ImageFolder + PIL + Resize/ToTensor/Normalize, no workers, shuffled."""
    tf = transforms.Compose(
        [
            transforms.Resize(SIZE),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )
    dataset = datasets.ImageFolder(str(root), transform=tf)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=0, drop_last=True
    )


class _Batches:
    """Endless batches of a DataLoader: a new shuffle each epoch."""

    def __init__(self, loader: torch.utils.data.DataLoader, device: torch.device):
        self.loader, self.device, self.it = loader, device, iter(loader)

    def next(self) -> torch.Tensor:
        try:
            real, _ = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            real, _ = next(self.it)
        return real.to(self.device)


def baseline_step(gen, disc, opt_g, opt_d, real, z):
    """The classic plain step: one G forward, update D on real and detached fake, then G."""
    fake = gen(z)
    opt_d.zero_grad()
    d_loss = losses.bce_d_loss(disc(real), disc(fake.detach()))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = losses.bce_g_loss(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss, g_loss


class Baseline:
    """Classic course code: PIL + torchvision transforms + DataLoader, .item() every iteration."""

    def __init__(self, png_root: Path, batch_size: int, device: torch.device, seed: int):
        self.batches = _Batches(png_loader(png_root / "dcgan", batch_size), device)
        self.device, self.batch_size = device, batch_size
        self.gen, self.disc = new_models(seed)
        self.gen.to(device).train()
        self.disc.to(device).train()
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=LR, betas=BETAS)
        self.d_losses: list[float] = []
        self.g_losses: list[float] = []

    def next_batch(self) -> torch.Tensor:
        return self.batches.next()

    def iteration(self) -> None:
        real = self.next_batch()
        z = torch.randn(self.batch_size, NZ, device=self.device)
        d_loss, g_loss = baseline_step(self.gen, self.disc, self.opt_g, self.opt_d, real, z)
        self.d_losses.append(d_loss.item())  # a host sync per loss per iteration
        self.g_losses.append(g_loss.item())

    def run(self, iters: int) -> float:
        sync(self.device)
        t = time.perf_counter()
        for _ in range(iters):
            self.iteration()
        sync(self.device)
        return time.perf_counter() - t

    def flops(self) -> int:
        real = self.next_batch()
        z = torch.randn(self.batch_size, NZ, device=self.device)
        with FlopCounterMode(display=False) as counter:
            baseline_step(self.gen, self.disc, self.opt_g, self.opt_d, real, z)
        return counter.get_total_flops()


class Labutils:
    """labutils' default path: ``train.train_gan`` on the data held on the device."""

    def __init__(self, batch_size: int, device: torch.device, seed: int, switches: dict, n: int | None):
        self.images = emoji(SIZE, n)  # (N, 3, 32, 32)
        self.device, self.batch_size, self.switches = device, batch_size, switches
        self.gen, self.disc = new_models(seed)
        self.cfg = config.DCGANConfig(
            batch_size=batch_size, nz=NZ, ngf=WIDTH, ndf=WIDTH, lr=LR, betas=BETAS, seed=seed
        )

    def run(self, iters: int) -> float:
        cfg = dataclasses.replace(self.cfg, iters=iters, sample_every=iters, eval_every=iters)
        sync(self.device)
        t = time.perf_counter()
        train.train_gan(
            self.gen, self.disc, self.images, cfg, device=self.device, progress=False, **self.switches
        )
        sync(self.device)
        return time.perf_counter() - t

    def flops(self) -> int:
        opt_g, opt_d = train.make_optimizers(self.gen, self.disc, self.cfg, self.device)
        real = self.images[: self.batch_size].to(self.device)
        z = torch.randn(self.batch_size, NZ, device=self.device)
        with FlopCounterMode(display=False) as counter:
            train.gan_step(self.gen, self.disc, opt_g, opt_d, real, z)
        return counter.get_total_flops()


def cycle_config(batch_size: int, seed: int) -> config.CycleGANConfig:
    return config.CycleGANConfig(batch_size=batch_size, seed=seed, image_size=SIZE)


def cycle_step(nets, opt_g, opt_d, x, y, cfg) -> dict:
    return train.cyclegan_step(
        nets["g_xy"], nets["g_yx"], nets["d_x"], nets["d_y"], opt_g, opt_d, x, y,
        lambda_cycle=cfg.lambda_cycle, lambda_identity=cfg.lambda_identity,
    )  # fmt: skip


class CycleBaseline:
    """Classic CycleGAN course code: two PIL DataLoaders (unpaired), plain Adam, .item() on
    every loss every iteration."""

    def __init__(self, png_root: Path, batch_size: int, device: torch.device, seed: int):
        self.cfg = cycle_config(batch_size, seed)
        self.x = _Batches(png_loader(png_root / "x", batch_size), device)
        self.y = _Batches(png_loader(png_root / "y", batch_size), device)
        self.nets = train.cyclegan_models(self.cfg).to(device).train()
        kw = dict(lr=self.cfg.lr, betas=self.cfg.betas)
        self.opt_g = torch.optim.Adam([*self.nets["g_xy"].parameters(), *self.nets["g_yx"].parameters()], **kw)
        self.opt_d = torch.optim.Adam([*self.nets["d_x"].parameters(), *self.nets["d_y"].parameters()], **kw)
        self.device = device
        self.losses: list[dict[str, float]] = []

    def step(self) -> dict:
        return cycle_step(self.nets, self.opt_g, self.opt_d, self.x.next(), self.y.next(), self.cfg)

    def run(self, iters: int) -> float:
        sync(self.device)
        t = time.perf_counter()
        for _ in range(iters):
            self.losses.append({k: v.item() for k, v in self.step().items()})  # 5 syncs
        sync(self.device)
        return time.perf_counter() - t

    def flops(self) -> int:
        with FlopCounterMode(display=False) as counter:
            self.step()
        return counter.get_total_flops()


class CycleLabutils:
    """labutils' path for Lab 3: ``train.train_cyclegan`` on both domains held on the device."""

    def __init__(self, batch_size: int, device: torch.device, seed: int, switches: dict, n: int | None):
        self.cfg = cycle_config(batch_size, seed)
        self.x = data.load_emoji(self.cfg.domain_x, split="train", size=SIZE)[:n]
        self.y = data.load_emoji(self.cfg.domain_y, split="train", size=SIZE)[:n]
        self.nets = train.cyclegan_models(self.cfg)
        self.device = device
        self.switches = {k: v for k, v in switches.items() if k != "cudnn_benchmark"}

    def run(self, iters: int) -> float:
        cfg = dataclasses.replace(self.cfg, iters=iters, sample_every=iters, eval_every=iters)
        sync(self.device)
        t = time.perf_counter()
        train.train_cyclegan(self.nets, self.x, self.y, cfg, device=self.device, progress=False, **self.switches)
        sync(self.device)
        return time.perf_counter() - t

    def flops(self) -> int:
        opts = {
            "gen": train.speed.adam(train.updates.parameters(self.nets["g_xy"], self.nets["g_yx"]), lr=1e-4, betas=BETAS, device=self.device),
            "disc": train.speed.adam(train.updates.parameters(self.nets["d_x"], self.nets["d_y"]), lr=1e-4, betas=BETAS, device=self.device),
        }
        x = self.x[: self.cfg.batch_size].to(self.device)
        y = self.y[: self.cfg.batch_size].to(self.device)
        with FlopCounterMode(display=False) as counter:
            cycle_step(self.nets, opts["gen"], opts["disc"], x, y, self.cfg)
        return counter.get_total_flops()


def wgan_config(batch_size: int, seed: int) -> config.WGANConfig:
    return config.WGANConfig(batch_size=batch_size, seed=seed, objective="wgan-gp")


def write_digit_pngs(root: Path, n: int | None) -> Path:
    """The bundled MNIST training digits as grayscale PNG files in an ImageFolder layout."""
    x, _ = data.load_mnist(split="train")  # (N, 1, 28, 28) in [-1, 1]
    images = ((x[:n, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    folder = root / "digits"
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image, mode="L").save(folder / f"{i:04d}.png")
    return root


class WGANBaseline:
    """Classic WGAN-GP course code: MNIST PNGs through ImageFolder + PIL (grayscale, ToTensor,
    Normalize) and a DataLoader, plain Adam, the reference ``train.wgan_step`` (five critic
    updates on fresh batches, the penalty), ``.item()`` on its losses every iteration."""

    def __init__(self, png_root: Path, batch_size: int, device: torch.device, seed: int):
        self.cfg = wgan_config(batch_size, seed)
        s = config.wgan_settings(self.cfg)
        tf = transforms.Compose([transforms.Grayscale(), transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
        loader = torch.utils.data.DataLoader(
            datasets.ImageFolder(str(png_root / "mnist"), transform=tf), batch_size=batch_size, shuffle=True, num_workers=0, drop_last=True
        )  # fmt: skip
        self.batches = _Batches(loader, device)
        gen, critic = train.wgan_models(self.cfg)
        self.gen, self.critic = gen.to(device).train(), critic.to(device).train()
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=s["lr"], betas=s["betas"])
        self.opt_c = torch.optim.Adam(self.critic.parameters(), lr=s["lr"], betas=s["betas"])
        self.settings, self.device, self.losses = s, device, []

    def step(self) -> dict:
        return train.wgan_step(
            self.gen, self.critic, self.opt_g, self.opt_c, self.batches.next,
            lambda: torch.randn(self.cfg.batch_size, self.cfg.nz, device=self.device),
            n_critic=self.settings["n_critic"], gp_lambda=self.settings["gp_lambda"],
        )  # fmt: skip

    def run(self, iters: int) -> float:
        sync(self.device)
        t = time.perf_counter()
        for _ in range(iters):
            self.losses.append({k: v.item() for k, v in self.step().items()})  # 4 syncs
        sync(self.device)
        return time.perf_counter() - t

    def flops(self) -> None:
        """Not counted: FlopCounterMode cannot follow the penalty's torch.autograd.grad."""
        return None


class WGANLabutils:
    """labutils' path for Lab 4: ``train.train_wgan`` on the digits held on the device."""

    def __init__(self, batch_size: int, device: torch.device, seed: int, switches: dict, n: int | None):
        self.cfg = wgan_config(batch_size, seed)
        self.digits = data.load_mnist(split="train")[0][:n]
        self.gen, self.critic = train.wgan_models(self.cfg)
        self.device = device
        # no compile: the penalty's double backward cannot be compiled (train_wgan refuses it)
        self.switches = {k: v for k, v in switches.items() if k not in ("cudnn_benchmark", "compile")}

    def run(self, iters: int) -> float:
        cfg = dataclasses.replace(self.cfg, iters=iters, sample_every=iters, eval_every=iters)
        sync(self.device)
        t = time.perf_counter()
        train.train_wgan(self.gen, self.critic, self.digits, cfg, device=self.device, progress=False, **self.switches)
        sync(self.device)
        return time.perf_counter() - t

    def flops(self) -> None:
        """Not counted (see ``WGANBaseline.flops``)."""
        return None


# ---------------------------------------------------------------------------- measuring


def split(iters: int, rounds: int) -> list[int]:
    """``iters`` as ``rounds`` nearly equal parts."""
    rounds = max(1, min(rounds, iters))
    return [iters // rounds + (1 if i < iters % rounds else 0) for i in range(rounds)]


def time_config(
    batch_size: int, args, device: torch.device, png_root: Path, switches: dict, model: str = "dcgan"
) -> dict:
    """Warm both paths up, then time them in alternating rounds; seconds per round and FLOPs."""
    if model == "wgan-gp":
        runners = {
            "baseline": WGANBaseline(png_root, batch_size, device, args.seed),
            "labutils": WGANLabutils(batch_size, device, args.seed, switches, args.images),
        }
    elif model == "cyclegan":
        runners = {
            "baseline": CycleBaseline(png_root, batch_size, device, args.seed),
            "labutils": CycleLabutils(batch_size, device, args.seed, switches, args.images),
        }
    else:
        runners = {
            "baseline": Baseline(png_root, batch_size, device, args.seed),
            "labutils": Labutils(batch_size, device, args.seed, switches, args.images),
        }
    for runner in runners.values():
        runner.run(args.warmup)
    rounds = split(args.iters, args.rounds)
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    for n in rounds:  # alternate, so a change of load hits both paths
        for name, runner in runners.items():
            seconds[name].append(runner.run(n))
    return {
        "model": model,
        "batch_size": batch_size,
        "rounds": rounds,
        "seconds": seconds,
        "flop": {name: runner.flops() for name, runner in runners.items()},
    }


def summarise(timing: dict, peak: float) -> dict:
    """it/s (median round), GFLOP/s, fraction of the matmul peak, projected 5,000 iterations."""
    result: dict = {"model": timing["model"], "batch_size": timing["batch_size"], "iters": sum(timing["rounds"])}
    for name, seconds in timing["seconds"].items():
        per_round = [n / s for n, s in zip(timing["rounds"], seconds)]
        its = statistics.median(per_round)
        flop = timing["flop"][name]  # None where it could not be counted (WGAN-GP)
        gflop = flop / 1e9 if flop is not None else None
        result[name] = {
            "it_per_s": its,
            "it_per_s_rounds": per_round,
            "ms_per_it": 1000 / its,
            "gflop_per_it": gflop,
            "gflop_per_s": gflop * its if gflop is not None else None,
            "fraction_of_matmul": gflop * its / peak if gflop is not None else None,
            "seconds_for_5000": REFERENCE_ITERS / its,
        }
    result["ratio"] = result["labutils"]["it_per_s"] / result["baseline"]["it_per_s"]
    return result


def table(results: list[dict]) -> list[str]:
    lines = [
        f"{'model':<8}  {'batch':>5}  {'path':<8}  {'it/s (min-max)':>19}  {'ms/it':>6}  {'GFLOP/it':>8}  "
        f"{'GFLOP/s':>7}  {'%matmul':>7}  {'5,000 it':>9}"
    ]
    for result in results:
        for name in ("baseline", "labutils"):
            r = result[name]
            lo, hi = min(r["it_per_s_rounds"]), max(r["it_per_s_rounds"])
            counted = r["gflop_per_it"] is not None
            flops = (
                f"{r['gflop_per_it']:8.2f}  {r['gflop_per_s']:7.1f}  {100 * r['fraction_of_matmul']:6.0f}%"
                if counted else f"{'n/a':>8}  {'n/a':>7}  {'n/a':>7}"
            )  # fmt: skip
            lines.append(
                f"{result['model']:<8}  {result['batch_size']:>5}  {name:<8}  {r['it_per_s']:6.1f} ({lo:5.1f}-{hi:5.1f})  "
                f"{r['ms_per_it']:6.1f}  {flops}  {r['seconds_for_5000'] / 60:5.1f} min"
            )
        lines.append(f"{'':>15}  labutils / baseline: {result['ratio']:.2f}x")
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iters", type=int, default=300, help="timed iterations per path and batch size")
    p.add_argument("--warmup", type=int, default=20, help="untimed iterations before timing")
    p.add_argument("--rounds", type=int, default=5, help="alternating timed rounds per path")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64], help="DCGAN batch sizes")
    p.add_argument("--cyclegan-batch-sizes", type=int, nargs="*", default=[16], help="CycleGAN batch sizes (none: skip it)")
    p.add_argument("--wgan-batch-sizes", type=int, nargs="*", default=[32], help="Lab 4 WGAN-GP batch sizes (none: skip it)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: labutils' choice)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument(
        "--channels-last", choices=["auto", "on", "off"], default="auto",
        help="labutils path: channels-last storage (auto: labutils' measured default)",
    )
    p.add_argument(
        "--fused", choices=["auto", "on", "off"], default="auto",
        help="labutils path: Adam kernel (auto: labutils' measured default)",
    )
    p.add_argument("--amp", action="store_true", help="labutils path: bfloat16 autocast")
    p.add_argument(
        "--compile", nargs="?", const="default", default=None, choices=train.COMPILE_MODES,
        metavar="MODE", help="labutils path: torch.compile the models, in MODE (default: default; "
        "reduce-overhead replays CUDA graphs on a GPU)",
    )
    p.add_argument(
        "--no-cudnn-benchmark", action="store_true", help="labutils path on CUDA: leave it off"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--images", type=int, default=None, help="use the first N emoji (default all)")
    p.add_argument("--matmul-size", type=int, default=2048, help="side of the peak-FLOP matmuls")
    p.add_argument("--tag", default=None, help="appended to the default JSON name: <device>-<tag>.json")
    p.add_argument("--out", type=Path, default=None, help="JSON results (default benchmarks/results/<device>.json)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = config.get_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("LABUTILS_PROGRESS", "0")
    tri = {"auto": None, "on": True, "off": False}
    switches = {
        "channels_last": tri[args.channels_last],
        "fused": tri[args.fused],
        "amp": args.amp,
        "compile": args.compile or False,
        "cudnn_benchmark": not args.no_cudnn_benchmark,
    }
    name = device_name(device)
    slug = device.type if device.type != "cuda" else "cuda-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if args.tag:
        slug += "-" + re.sub(r"[^A-Za-z0-9_.]+", "-", args.tag).strip("-")
    out = args.out or ROOT / "benchmarks" / "results" / f"{slug}.json"

    def log(line: str = "") -> None:
        print(line, flush=True)

    load_before = loadavg()
    log(f"device: {device} ({name}), {torch.get_num_threads()} threads; torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}; load average {load_before}")
    log(f"labutils switches: {switches}")
    log(f"{args.iters} timed iterations per path and batch size in {args.rounds} alternating "
        f"rounds after {args.warmup} untimed warm-up iterations")
    # The matmul peak is taken before, between and after the training runs, and the best
    # kept: a single short measurement on a shared machine can catch another job's burst.
    peaks = [matmul_gflops(device, args.matmul_size)]
    timings = []
    with tempfile.TemporaryDirectory(prefix="train_speed_") as tmp:
        png_root = Path(tmp)
        write_pngs(png_root / "dcgan", args.images, "windows")
        cyc = cycle_config(16, args.seed)
        if args.cyclegan_batch_sizes:
            write_pngs(png_root / "x", args.images, cyc.domain_x)
            write_pngs(png_root / "y", args.images, cyc.domain_y)
        if args.wgan_batch_sizes:
            write_digit_pngs(png_root / "mnist", args.images)
        plan = [("dcgan", b) for b in args.batch_sizes] + [("cyclegan", b) for b in args.cyclegan_batch_sizes]
        plan += [("wgan-gp", b) for b in args.wgan_batch_sizes]
        for model, batch_size in plan:
            timings.append(time_config(batch_size, args, device, png_root, switches, model))
            peaks.append(matmul_gflops(device, args.matmul_size))
            log(f"  {model} batch {batch_size} timed")
    peak = max(peaks)
    m = args.matmul_size
    log(f"matmul {m}x{m} float32: {peak:.1f} GFLOP/s (best of {10 * len(peaks)}, "
        f"samples {', '.join(f'{p:.0f}' for p in peaks)})")
    configs = [summarise(t, peak) for t in timings]
    log("it/s is the median round (min-max); GFLOP from FlopCounterMode over one iteration")
    for line in table(configs):
        log(line)
    results = {
        "device": str(device),
        "device_name": name,
        "tag": args.tag,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "matmul_gflop_per_s": peak,
        "matmul_samples": peaks,
        "matmul_size": args.matmul_size,
        "switches": switches,
        "model": {"image_size": SIZE, "nz": NZ, "ngf": WIDTH, "ndf": WIDTH, "loss": "bce"},
        "cyclegan": dataclasses.asdict(cycle_config(16, args.seed)),
        "wgan": dataclasses.asdict(wgan_config(32, args.seed)),
        "iters": args.iters,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "configs": configs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
