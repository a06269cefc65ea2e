"""GAN updates and the training loop.

One function per update (``d_step``, ``g_step``), one iteration (``gan_step``) built from them,
and one loop (``train_gan``) that takes the models, the loss functions and the step function as
arguments, so a student's own step drops into the reference loop.

The loop keeps the data set on the training device as one tensor and draws batches by index
there; it reads the losses back from the device only every ``log_every`` iterations (one sync),
which is also when it checks for NaN. It saves a fixed-noise sample grid every
``sample_every`` iterations, writes checkpoints atomically and resumes from them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import augment as augment_lib
from . import data as data_lib
from . import losses
from .config import DCGANConfig, get_device

LossD = Callable[[Tensor, Tensor], Tensor]
LossG = Callable[[Tensor], Tensor]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message says where and what to try."""


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not belong to this run."""


# ---------------------------------------------------------------------------- updates


def d_step(disc: nn.Module, opt_d: torch.optim.Optimizer, real: Tensor, fake: Tensor, d_loss_fn: LossD) -> Tensor:
    """Update D: minimise d_loss(D(real), D(fake)); ``fake`` is detached so G gets no gradient.

    Returns the loss, detached (no host sync).
    """
    opt_d.zero_grad(set_to_none=True)
    loss = d_loss_fn(disc(real), disc(fake.detach()))
    loss.backward()
    opt_d.step()
    return loss.detach()


def g_step(disc: nn.Module, opt_g: torch.optim.Optimizer, fake: Tensor, g_loss_fn: LossG) -> Tensor:
    """Update G: minimise g_loss(D(G(z))), i.e. (non-saturating) maximise log D(G(z)).

    D's parameters stop requiring gradients for this backward pass: it is faster, and the
    G update cannot touch D (only ``opt_g`` steps). Returns the loss, detached.
    """
    params = list(disc.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        opt_g.zero_grad(set_to_none=True)
        loss = g_loss_fn(disc(fake))
        loss.backward()
        opt_g.step()
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
    return loss.detach()


def gan_step(
    gen: nn.Module,
    disc: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    z: Tensor,
    d_loss_fn: LossD = losses.bce_d_loss,
    g_loss_fn: LossG = losses.bce_g_loss,
) -> tuple[Tensor, Tensor]:
    """One GAN iteration: a D update on real and detached fake, then a G update.

    real: (B, C, H, W) in [-1, 1]; z: (B, nz). Returns (d_loss, g_loss), detached.
    """
    fake = gen(z)  # (B, C, H, W); one G forward serves both updates
    d_loss = d_step(disc, opt_d, real, fake, d_loss_fn)
    g_loss = g_step(disc, opt_g, fake, g_loss_fn)  # against the D just updated
    return d_loss, g_loss


# ---------------------------------------------------------------------------- results


@dataclass
class History:
    """What a run returns: per-iteration losses, sample grids, metrics and provenance."""

    config: dict[str, Any]
    device: str = "cpu"
    iters: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    samples: dict[int, Tensor] = field(default_factory=dict)
    """iteration -> fixed-noise samples (n, C, H, W) in [-1, 1], on the CPU."""
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    seconds: float = 0.0
    """Wall time spent training (summed over resumed sessions)."""

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> History:
        state = dict(state)
        state["metrics"] = {k: [tuple(p) for p in v] for k, v in state["metrics"].items()}
        return cls(**state)


def sample(gen: nn.Module, z: Tensor) -> Tensor:
    """G(z) in eval mode without gradients, returned on the CPU: (B, C, H, W) in [-1, 1]."""
    was_training = gen.training
    gen.eval()
    try:
        with torch.no_grad():
            return gen(z).float().cpu()
    finally:
        gen.train(was_training)


# ---------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` with torch.save atomically: a crash leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``; a clear error if it is unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {e}); delete it to start over"
        ) from e


# ---------------------------------------------------------------------------- the loop


class _Batches:
    """Shuffled batches by index on the device: a new permutation each epoch, no host sync."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator, device: torch.device):
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} is larger than the data set ({n} images)")
        self.n, self.batch_size, self.generator, self.device = n, batch_size, generator, device
        self.perm = torch.empty(0, dtype=torch.long, device=device)
        self.pos = 0

    def next(self) -> Tensor:
        if self.pos + self.batch_size > len(self.perm):  # drop the last partial batch
            self.perm = torch.randperm(self.n, generator=self.generator, device=self.device)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx


class _AugmentedDisc(nn.Module):
    """D(augment(x)): differentiable augmentation of real and fake inside D (DiffAugment)."""

    def __init__(self, disc: nn.Module, fn: Callable[[Tensor], Tensor]):
        super().__init__()
        self.disc, self.fn = disc, fn

    def forward(self, x: Tensor) -> Tensor:
        return self.disc(self.fn(x))


def _config_mismatch(saved: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    budget = {"iters", "sample_every", "eval_every", "n_eval", "log_every", "profile"}
    return [
        f"{k}: checkpoint {saved.get(k)!r} vs now {v!r}"
        for k, v in cfg.items()
        if k not in budget and saved.get(k) != v
    ]


# Speed defaults, measured with benchmarks/train_speed.py on a 2-core AVX-512 CPU (torch 2.14,
# the Lab 1 DCGAN at 32x32, median of alternating rounds, 1-minute load < 1). Each changes only
# the rounding of the update, never its math; tests/test_fastpath.py checks that.
#   Adam fused=True instead of the for-loop: 20.0 -> 18.5 ms an iteration at batch 16 (-8%),
#     about -2% at 64 (foreach=True: no change on the CPU).
#   channels-last storage of models and data: -2 to -12% at batch 16, -6% at 32, -11% at 64.
# Not taken, or left behind a switch that is off by default:
#   bfloat16 autocast (``amp``): -10% at batch 16, -30% at 64 on this CPU (it has AVX512-BF16),
#     but it rounds the forward pass to 8 mantissa bits, so it is a choice, not a default.
#   torch.compile (``compile``): 41 s to compile, then 27 ms an iteration instead of 20 at 16.
#   torch.backends.mkldnn off: 3.5x slower. One thread instead of two: 1.55x slower on an idle
#     machine (but see benchmarks/train_speed.py on a busy one).


def _channels_last_wins(device: torch.device) -> bool:
    """Whether channels-last storage was measured to be faster on this device.

    On the CPU it won at every batch size measured (16, 32, 64). On CUDA it pays off with
    tensor cores (reduced precision), which is not measured here: off by default there.
    """
    return device.type == "cpu"


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _compile_mode(compile: bool | str) -> str:
    """torch.compile's mode for ``train_gan(compile=...)``: True is "default"."""
    if compile is True:
        return "default"
    if compile not in COMPILE_MODES:
        raise ValueError(f"compile must be True, False or one of {', '.join(COMPILE_MODES)}; got {compile!r}")
    return compile


def _detach(v: Tensor | float) -> Tensor | float:
    return v.detach() if isinstance(v, Tensor) else v


def _adam_impl(device: torch.device, fused: bool | None) -> dict[str, bool]:
    """Keyword arguments that pick Adam's implementation for ``device``.

    ``fused=None`` takes the fastest one measured: the fused kernel on the CPU (measured) and on
    CUDA (one kernel launch per step instead of several per tensor; not measured here), the
    multi-tensor ("foreach") kernels on other accelerators. They differ only in rounding.
    """
    if fused is None:
        fused = device.type in ("cpu", "cuda")
    if fused:
        return {"fused": True}
    return {"foreach": device.type != "cpu"}


def make_optimizers(
    gen: nn.Module, disc: nn.Module, cfg: DCGANConfig, device: torch.device, *, fused: bool | None = None
):
    """Adam for both networks (``cfg.lr``, ``cfg.lr_d`` if set, ``cfg.betas``).

    ``fused`` picks the implementation (same update, different speed): None takes the fastest
    one measured for ``device``, True the fused kernel, False the plain or foreach loop.
    """
    opts = _adam_impl(torch.device(device), fused)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=cfg.betas, **opts)
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr_d or cfg.lr, betas=cfg.betas, **opts)
    return opt_g, opt_d


def train_gan(
    gen: nn.Module,
    disc: nn.Module,
    data: Tensor,
    cfg: DCGANConfig,
    *,
    step: Callable[..., tuple[Tensor, Tensor]] = gan_step,
    d_loss_fn: LossD | None = None,
    g_loss_fn: LossG | None = None,
    device: torch.device | str | None = None,
    evaluators: dict[str, Callable[[nn.Module], float]] | None = None,
    callbacks: Sequence[Callable[[int, History], None]] = (),
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1000,
    resume: bool = True,
    progress: bool | None = None,
    n_samples: int = 64,
    channels_last: bool | None = None,
    fused: bool | None = None,
    amp: bool = False,
    compile: bool | str = False,
    cudnn_benchmark: bool = True,
) -> History:
    """Train ``gen`` against ``disc`` on ``data`` for ``cfg.iters`` iterations.

    data: (N, C, H, W) in [-1, 1]. ``step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn)``
    does one iteration and returns (d_loss, g_loss). The losses default to ``cfg.loss``.
    ``evaluators`` maps a metric name to ``f(gen) -> float``, run every ``cfg.eval_every``.
    ``callbacks`` are called as ``cb(iteration, history)`` every ``cfg.log_every`` iterations.
    With ``checkpoint`` set the run saves there atomically every ``checkpoint_every`` iterations
    and at the end, and (``resume=True``) continues from it; a finished run returns at once.
    Raises ``TrainingDiverged`` if a loss becomes NaN or infinite.

    Speed switches (benchmarks/train_speed.py measures them): ``channels_last`` stores models
    and data channels-last (None: where it was measured to win, i.e. on the CPU); ``fused``
    picks Adam's kernel (see ``make_optimizers``); these two change only rounding.
    ``amp=True`` runs the step under bfloat16 autocast: faster on recent GPUs (Ampere or newer)
    and on CPUs with bf16 instructions, but it rounds the forward pass to bf16, so it is off
    by default.
    ``compile=True`` wraps both models in ``torch.compile``: off by default, since compiling
    costs about 40 s on the CPU, was not faster there, and cannot take the double backward of a
    gradient penalty. A string picks torch.compile's mode: ``compile="reduce-overhead"``
    also replays the compiled forward and backward passes as CUDA graphs on a GPU (one launch
    instead of one per kernel), the way to try CUDA graphs with this loop (not yet measured on
    a GPU: see book/performance.md). ``cudnn_benchmark`` lets cuDNN time its convolution
    algorithms once for the fixed batch shape (CUDA only; the previous setting is restored at
    the end).
    """
    device = torch.device(device) if device is not None else get_device()
    data_lib.check_images(data, "data")
    mode = _compile_mode(compile) if compile else None  # torch.compile's mode, or no compile
    if d_loss_fn is None or g_loss_fn is None:
        default_d, default_g = losses.get(cfg.loss)
        d_loss_fn, g_loss_fn = d_loss_fn or default_d, g_loss_fn or default_g
    if progress is None:
        progress = cfg.profile != "smoke" and os.environ.get("LABUTILS_PROGRESS", "1") != "0"

    if channels_last is None:
        channels_last = _channels_last_wins(device)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    gen.to(device, memory_format=layout).train()
    disc.to(device, memory_format=layout).train()
    data = data.to(device, torch.float32).contiguous(memory_format=layout)
    opt_g, opt_d = make_optimizers(gen, disc, cfg, device, fused=fused)

    rng = torch.Generator(device=device).manual_seed(cfg.seed)  # data order, z, augmentation
    batches = _Batches(len(data), cfg.batch_size, rng, device)
    fixed_z = torch.randn(n_samples, cfg.nz, generator=torch.Generator().manual_seed(cfg.seed + 1))
    fixed_z = fixed_z.to(device)
    aug = augment_lib.get(cfg.augment)
    g_model, d_model = gen, disc
    if cfg.augment == "diffaugment":  # augment real and fake inside D; data is left as is
        d_model = _AugmentedDisc(disc, lambda x: aug(x, generator=rng))
        aug = augment_lib.basic
    graphs = False  # whether torch.compile replays CUDA graphs
    if mode is not None:
        graphs = device.type == "cuda" and mode in ("reduce-overhead", "max-autotune")
        # Compiles the models' forward passes, not the step: a step whose loss takes a
        # gradient of D's output (a gradient penalty, create_graph=True) needs double
        # backward, which compiled graphs do not support, so compile stays off by default.
        g_model, d_model = torch.compile(gen, mode=mode), torch.compile(d_model, mode=mode)
    # No hand-made CUDA graph of the whole step: capturing it would freeze BatchNorm's
    # running-statistics updates and the data-dependent batch sampling into one replay and
    # needs static addresses for every tensor. compile="reduce-overhead" graphs the models'
    # passes instead, and torch.compile handles the buffer updates (or falls back to plain
    # launches where it cannot).
    # bfloat16 needs no loss scaling (float16 would need a GradScaler per optimizer).
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()

    history = History(config=dataclasses.asdict(cfg), device=str(device))
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, device)
        wrong = _config_mismatch(state["config"], history.config)
        if wrong:
            raise CheckpointError(
                f"checkpoint {checkpoint} belongs to another run ({'; '.join(wrong)}); "
                "delete it or pass resume=False"
            )
        gen.load_state_dict(state["gen"])
        disc.load_state_dict(state["disc"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        rng.set_state(state["rng"].cpu())
        batches.perm, batches.pos = state["perm"].to(device), state["pos"]
        history = History.from_state_dict(state["history"])
        history.config = dataclasses.asdict(cfg)
        start = state["iteration"]

    def save(iteration: int) -> None:
        save_checkpoint(
            checkpoint,
            {
                "gen": gen.state_dict(),
                "disc": disc.state_dict(),
                "opt_g": opt_g.state_dict(),
                "opt_d": opt_d.state_dict(),
                "rng": rng.get_state(),
                "perm": batches.perm,
                "pos": batches.pos,
                "iteration": iteration,
                "config": dataclasses.asdict(cfg),
                "history": history.state_dict(),
            },
        )

    pending: list[tuple[Tensor, Tensor]] = []

    def flush(iteration: int) -> None:
        flat = [torch.as_tensor(v, device=device).float().reshape(()) for pair in pending for v in pair]
        values = torch.stack(flat).view(-1, 2).cpu()  # (k, 2): the one host sync per log_every
        first = iteration - len(pending) + 1
        pending.clear()
        bad = ~torch.isfinite(values)
        if bad.any():
            row, col = (int(i) for i in bad.nonzero()[0])
            which = ("discriminator", "generator")[col]
            where = f"the last checkpoint ({checkpoint})" if checkpoint else "nothing was saved"
            raise TrainingDiverged(
                f"the {which} loss became {values[row, col].item()} at iteration {first + row}; "
                f"training stopped ({where}). Lower the learning rate, check that the data is in "
                "[-1, 1] and that the losses take logits, then train again."
            )
        history.iters.extend(range(first, iteration + 1))
        history.d_loss.extend(values[:, 0].tolist())
        history.g_loss.extend(values[:, 1].tolist())

    saved_benchmark = torch.backends.cudnn.benchmark
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cudnn_benchmark  # restored in the finally below
    bar = tqdm(total=cfg.iters, initial=start, disable=not progress, desc="train", leave=False)
    t0 = time.perf_counter()

    def tick() -> None:  # add the wall time since the last tick to the history
        nonlocal t0
        now = time.perf_counter()
        history.seconds += now - t0
        t0 = now
    try:
        for it in range(start + 1, cfg.iters + 1):
            if graphs:  # a new step: the graphs may reuse the last step's output memory
                torch.compiler.cudagraph_mark_step_begin()
            real = aug(data[batches.next()], generator=rng)  # (B, C, H, W)
            z = torch.randn(cfg.batch_size, cfg.nz, generator=rng, device=device)
            with autocast:
                d_loss, g_loss = step(g_model, d_model, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn)
            pending.append((_detach(d_loss), _detach(g_loss)))  # stacked and read in flush()

            last = it == cfg.iters
            if it % cfg.log_every == 0 or last:
                n = len(pending)
                flush(it)
                bar.update(n)
                bar.set_postfix(d=f"{history.d_loss[-1]:.3f}", g=f"{history.g_loss[-1]:.3f}")
            if it % cfg.sample_every == 0 or last:
                history.samples[it] = sample(gen, fixed_z)
            if evaluators and (it % cfg.eval_every == 0 or last):
                for name, fn in evaluators.items():
                    history.metrics.setdefault(name, []).append((it, float(fn(gen))))
            if it % cfg.log_every == 0 or last:
                for cb in callbacks:
                    cb(it, history)
            if checkpoint is not None and (it % checkpoint_every == 0 or last):
                tick()
                save(it)
    finally:
        bar.close()
        torch.backends.cudnn.benchmark = saved_benchmark
    if checkpoint is None:
        tick()
    return history


def iters_per_second(history: History) -> float:
    """Training speed of a run (iterations / wall second), NaN if it did not run."""
    n = len(history.iters)
    return n / history.seconds if history.seconds > 0 else math.nan
