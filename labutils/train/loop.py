"""The one training loop of the course, its history and its checkpoints.

``fit`` trains any set of networks: a lab hands it the networks (an ``nn.ModuleDict``), their
optimisers (a dict), a ``BatchSource`` and a step function. The step does one iteration, with
whatever updates it needs in the order it chooses, and returns a dict of named, detached
scalar losses. The loop reads the losses back from the device only every ``log_every``
iterations (one host sync), which is also when it checks for NaN; it saves a sample grid
every ``sample_every`` iterations and runs the evaluators every ``eval_every``, writes
checkpoints atomically and resumes from them bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..config import RunConfig, follow_load, identity_fields
from . import speed
from .batches import BatchSource

Step = Callable[[nn.ModuleDict, Mapping[str, torch.optim.Optimizer], BatchSource], Mapping[str, Tensor]]
Sampler = Callable[[nn.ModuleDict], Tensor]
Evaluator = Callable[[nn.ModuleDict], float]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message says where and what to try."""


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not belong to this run."""


# ---------------------------------------------------------------------------- results


@dataclass
class History:
    """What a run returns: per-iteration losses by name, sample grids, metrics and provenance."""

    config: dict[str, Any]
    device: str = "cpu"
    iters: list[int] = field(default_factory=list)
    losses: dict[str, list[float]] = field(default_factory=dict)
    """loss name (as the step returns it, e.g. "D", "G") -> one value per iteration."""
    samples: dict[int, Tensor] = field(default_factory=dict)
    """iteration -> the sampler's images (n, C, H, W) in [-1, 1], on the CPU."""
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    seconds: float = 0.0
    """Wall time spent training (summed over resumed sessions)."""
    train_seconds: float = 0.0
    """The part of ``seconds`` spent in the steps: without sampling, evaluating, callbacks and
    checkpoints (summed over resumed sessions)."""
    clock: list[tuple[int, float]] = field(default_factory=list)
    """(iteration, ``train_seconds`` so far) at every evaluation: the metrics over wall time."""

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> History:
        state = dict(state)
        state["metrics"] = {k: [tuple(p) for p in v] for k, v in state["metrics"].items()}
        state["clock"] = [tuple(p) for p in state.get("clock", [])]
        return cls(**state)

    def mean_loss(self, name: str, fraction: float = 1.0) -> float:
        """Mean of loss ``name`` over the last ``fraction`` of the iterations."""
        if name not in self.losses:
            raise KeyError(f"this run has no loss {name!r}; it has {sorted(self.losses)}")
        values = self.losses[name]
        k = max(1, int(len(values) * fraction))
        return sum(values[-k:]) / k

    def last_metric(self, name: str) -> float:
        """The metric's value at its last evaluation (NaN if it was never evaluated)."""
        points = self.metrics.get(name, [])
        return points[-1][1] if points else math.nan


def _metric_values(name: str, value: Any) -> dict[str, float]:
    """An evaluator's result as metrics: a number is metric ``name``; a mapping gives one
    metric per key (e.g. every score of ``metrics.DigitMetrics`` from one set of samples)."""
    items = value.items() if isinstance(value, Mapping) else [(name, value)]
    out = {}
    for key, v in items:
        try:
            out[str(key)] = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"evaluator {name!r} must return a number or a mapping of numbers; {key!r} is {type(v).__name__}") from None
    return out


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA and MPS run asynchronously), so a clock read
    after it counts the work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def iters_per_second(history: History) -> float:
    """Training speed of a run (iterations / wall second), NaN if it did not run."""
    n = len(history.iters)
    return n / history.seconds if history.seconds > 0 else math.nan


def sample(net: nn.Module, inputs: Tensor, *more: Tensor) -> Tensor:
    """``net(inputs, *more)`` in eval mode without gradients, on the net's device; returned on the CPU.

    For a generator: ``sample(gen, z)``, ``sample(g_xy, x)`` or, conditional, ``sample(gen, z, y)``.
    A net without parameters runs on the inputs' device.
    """
    p = next(net.parameters(), None)
    device = p.device if p is not None else inputs.device
    with evaluating(net):
        return net(inputs.to(device), *(t.to(device) for t in more)).float().cpu()


@contextlib.contextmanager
def evaluating(nets: nn.Module):
    """``nets`` in eval mode without gradients inside the block; their modes restored after."""
    modes = [(m, m.training) for m in nets.modules()]
    nets.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, mode in modes:
            m.training = mode


# ---------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` with torch.save atomically: a crash leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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


def _config_mismatch(saved: dict[str, Any], cfg: RunConfig) -> list[str]:
    """What differs between a checkpoint's config and this run's, budget fields aside."""
    now = dataclasses.asdict(cfg)
    return [
        f"{k}: checkpoint {saved.get(k)!r} vs now {now[k]!r}"
        for k in identity_fields(cfg)
        if saved.get(k) != now[k]
    ]


def _restore(state, checkpoint, nets, opts, batches, cfg) -> None:
    wrong = _config_mismatch(state.get("config", {}), cfg)
    names = (sorted(state.get("opts", {})), sorted(opts))
    saved_nets = sorted({k.split(".", 1)[0] for k in state.get("nets", {})})
    if saved_nets != sorted(nets.keys()):
        wrong.append(f"networks: checkpoint {saved_nets} vs now {sorted(nets.keys())}")
    if names[0] != names[1]:
        wrong.append(f"optimisers: checkpoint {names[0]} vs now {names[1]}")
    if wrong:
        raise CheckpointError(
            f"checkpoint {checkpoint} belongs to another run ({'; '.join(wrong)}); "
            "delete it or pass resume=False"
        )
    try:
        nets.load_state_dict(state["nets"])
        for name, opt in opts.items():
            opt.load_state_dict(state["opts"][name])
        batches.load_state_dict(state["batches"])
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(
            f"checkpoint {checkpoint} does not fit these networks ({e}); delete it or pass resume=False"
        ) from e


# ---------------------------------------------------------------------------- the loop


class _Losses:
    """The step's losses of the iterations since the last read: one host sync per read."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.names: tuple[str, ...] | None = None
        self.pending: list[Tensor] = []

    def add(self, it: int, losses: Mapping[str, Tensor | float]) -> None:
        if not isinstance(losses, Mapping) or not losses:
            raise TypeError(
                f"the step must return a dict of named scalar losses, got {type(losses).__name__} "
                f"at iteration {it}"
            )
        names = tuple(losses)
        if self.names is None:
            self.names = names
        elif names != self.names:
            raise ValueError(f"the step returned losses {list(names)} at iteration {it}, {list(self.names)} before")
        values = []
        for name, v in losses.items():
            t = v.detach().to(self.device) if isinstance(v, Tensor) else torch.tensor(float(v), device=self.device)
            if t.numel() != 1:
                raise ValueError(f"loss {name!r} must be a scalar, got shape {tuple(t.shape)} at iteration {it}")
            values.append(t.reshape(()).float())
        self.pending.append(torch.stack(values) if len(values) > 1 else values[0].reshape(1))

    def read(self, last_iteration: int, checkpoint) -> tuple[int, dict[str, list[float]]]:
        """(first iteration, name -> values) of the pending iterations; raises on NaN."""
        values = torch.stack(self.pending).cpu().tolist()  # (k, n_losses): the one host sync per read
        first = last_iteration - len(values) + 1
        self.pending = []
        for row, vals in enumerate(values):
            for name, v in zip(self.names, vals):
                if not math.isfinite(v):
                    where = f"the last checkpoint ({checkpoint})" if checkpoint else "nothing was saved"
                    raise TrainingDiverged(
                        f"the {name} loss became {v} at iteration {first + row}; training stopped "
                        f"({where}). Lower the learning rate, check that the data is in [-1, 1] and "
                        "that the losses take logits, then train again."
                    )
        return first, {name: [vals[i] for vals in values] for i, name in enumerate(self.names)}


def fit(
    nets: nn.ModuleDict,
    opts: Mapping[str, torch.optim.Optimizer],
    batches: BatchSource,
    step: Step,
    cfg: RunConfig,
    *,
    sample: Sampler | None = None,
    evaluators: Mapping[str, Evaluator] | None = None,
    callbacks: Sequence[Callable[[int, History], None]] = (),
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1000,
    resume: bool = True,
    progress: bool | None = None,
    amp: bool = False,
    compile: bool | str = False,
    cudnn_benchmark: bool = True,
) -> History:
    """Train ``nets`` for ``cfg.iters`` iterations of ``step(nets, opts, batches)``.

    nets: the run's networks by name, already on ``batches.device``; opts: name -> optimiser.
    The step returns ``{loss name: detached scalar tensor}``, the same names every iteration.
    ``sample(nets)`` returns images (n, C, H, W) in [-1, 1], saved every ``cfg.sample_every``
    iterations (same input every time: a fixed grid); ``evaluators`` map a metric name to
    ``f(nets) -> float`` (or to ``f(nets) -> {metric name: float}``, several metrics of one
    evaluation), run every ``cfg.eval_every``. Both run in eval mode without gradients.
    ``callbacks`` are called as ``cb(iteration, history)`` every ``cfg.log_every`` iterations.
    With ``checkpoint`` set the run saves networks, optimisers, the batch source, the config
    and the history there atomically every ``checkpoint_every`` iterations and at the end, and
    (``resume=True``) continues from it; a finished run returns at once. A checkpoint of
    another run (another config apart from budget fields, other networks) is refused.
    Raises ``TrainingDiverged`` if a loss becomes NaN or infinite.

    ``amp=True`` runs the step under bfloat16 autocast (faster on recent GPUs and CPUs with
    bf16 instructions, but it rounds the forward pass: off by default). ``compile`` wraps each
    network in ``torch.compile`` (True or a mode of ``speed.COMPILE_MODES``; measured slower on
    the CPU, not measured on a GPU); the step then receives the compiled networks. A step whose
    loss needs a double backward (a gradient penalty) cannot be compiled: ``fit`` refuses
    ``compile`` when ``step.double_backward`` is true. ``cudnn_benchmark`` lets cuDNN time its
    convolution algorithms once for the fixed batch shape (CUDA only; restored at the end).
    """
    if not isinstance(nets, nn.ModuleDict):
        raise TypeError(f"nets must be an nn.ModuleDict of the run's networks, got {type(nets).__name__}")
    device = batches.device
    mode = speed.compile_mode(compile) if compile else None
    if mode is not None and getattr(step, "double_backward", False):
        raise ValueError(
            "this step takes a double backward (a gradient penalty, create_graph=True), which "
            "torch.compile'd networks do not support; train it with compile=False"
        )
    if progress is None:
        progress = cfg.profile != "smoke" and os.environ.get("LABUTILS_PROGRESS", "1") != "0"
    nets.train()
    step_nets = nets
    graphs = False  # whether torch.compile replays CUDA graphs
    if mode is not None:
        graphs = device.type == "cuda" and mode in ("reduce-overhead", "max-autotune")
        # Compiles the networks' passes, not the step. No hand-made CUDA graph of the whole
        # step either: it would freeze BatchNorm's running-statistics updates and the
        # data-dependent batch sampling into one replay and needs static addresses for every
        # tensor; compile="reduce-overhead" graphs the networks' passes instead.
        step_nets = nn.ModuleDict({k: torch.compile(v, mode=mode) for k, v in nets.items()})
    # bfloat16 needs no loss scaling (float16 would need a GradScaler per optimizer).
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()

    cfg_dict = dataclasses.asdict(cfg)
    history = History(config=cfg_dict, device=str(device))
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, device)
        _restore(state, checkpoint, nets, opts, batches, cfg)
        history = History.from_state_dict(state["history"])
        history.config = cfg_dict
        start = state["iteration"]

    def save(iteration: int) -> None:
        save_checkpoint(
            checkpoint,
            {
                "nets": nets.state_dict(),
                "opts": {name: opt.state_dict() for name, opt in opts.items()},
                "batches": batches.state_dict(),
                "iteration": iteration,
                "config": cfg_dict,
                "history": history.state_dict(),
            },
        )

    pending = _Losses(device)

    def flush(iteration: int) -> None:
        first, values = pending.read(iteration, checkpoint)
        history.iters.extend(range(first, iteration + 1))
        for name, vals in values.items():
            history.losses.setdefault(name, []).extend(vals)

    saved_benchmark = torch.backends.cudnn.benchmark
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = cudnn_benchmark  # restored in the finally below
    bar = tqdm(total=cfg.iters, initial=start, disable=not progress, desc="train", leave=False)
    t0 = t_steps = time.perf_counter()

    def tick() -> None:  # add the wall time since the last tick to the history
        nonlocal t0
        now = time.perf_counter()
        history.seconds += now - t0
        t0 = now

    def steps_done() -> None:  # the steps since t_steps are over: count them as training time
        nonlocal t_steps
        _synchronize(device)
        now = time.perf_counter()
        history.train_seconds += now - t_steps
        t_steps = now

    follow = device.type == "cpu"  # the thread count follows the machine's load (config.LoadFollower)
    try:
        for it in range(start + 1, cfg.iters + 1):
            if follow:
                follow_load()
            if graphs:  # a new step: the graphs may reuse the last step's output memory
                torch.compiler.cudagraph_mark_step_begin()
            with autocast:
                out = step(step_nets, opts, batches)
            pending.add(it, out)  # stacked on the device, read in flush()

            last = it == cfg.iters
            log = it % cfg.log_every == 0 or last
            take_sample = sample is not None and (it % cfg.sample_every == 0 or last)
            evaluate = bool(evaluators) and (it % cfg.eval_every == 0 or last)
            save_now = checkpoint is not None and (it % checkpoint_every == 0 or last)
            overhead = log or take_sample or evaluate or save_now
            if overhead:
                steps_done()
            if log:
                n = len(pending.pending)
                flush(it)
                bar.update(n)
                bar.set_postfix({k: f"{v[-1]:.3f}" for k, v in history.losses.items()})
            if take_sample:
                with evaluating(nets):
                    history.samples[it] = sample(nets).float().cpu()
            if evaluate:
                history.clock.append((it, history.train_seconds))
                with evaluating(nets):
                    for name, fn in evaluators.items():
                        for key, value in _metric_values(name, fn(nets)).items():
                            history.metrics.setdefault(key, []).append((it, value))
            if log:
                for cb in callbacks:
                    cb(it, history)
            if save_now:
                tick()
                save(it)
            if overhead:
                t_steps = time.perf_counter()  # what follows is steps again
    finally:
        bar.close()
        torch.backends.cudnn.benchmark = saved_benchmark
    if checkpoint is None:
        tick()
    return history
