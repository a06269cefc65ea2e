"""Plots for the labs: loss curves, sample grids, samples over training, interpolation strips.

Every function draws into a Matplotlib figure and returns it; ``caption`` (for example
``config.describe(device)``) is written under the figure so the reader knows which run made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor, nn

from . import hints
from .train import History


def to_numpy_image(images: Tensor, *, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Images (B, C, H, W) or (C, H, W) in [-1, 1] -> one grid (H', W', 3) in [0, 1]."""
    x = images.detach().float().cpu()
    if x.dim() == 3:
        x = x[None]
    if x.dim() != 4:
        raise ValueError(f"expected images (B, C, H, W), got {tuple(images.shape)}")
    from torchvision.utils import make_grid  # imported here: torchvision takes ~1.7 s to import

    x = ((x + 1) / 2).clamp(0, 1)
    grid = make_grid(x, nrow=nrow, padding=padding, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def _caption(fig: plt.Figure, caption: str | None) -> None:
    if caption:
        fig.text(0.5, 0.005, caption, ha="center", va="bottom", fontsize=8, color="0.35")


def show_grid(images: Tensor, *, nrow: int = 8, title: str | None = None, ax=None, caption: str | None = None):
    """Draw a grid of images in [-1, 1]; returns the figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4 * min(1.0, len(images) / nrow / nrow) + 0.3))
    else:
        fig = ax.figure
    ax.imshow(to_numpy_image(images, nrow=nrow), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    _caption(fig, caption)
    return fig


def labelled_grid(
    images: Tensor,
    row_labels: Sequence[str],
    *,
    title: str | None = None,
    ax=None,
    caption: str | None = None,
    padding: int = 2,
):
    """Images in [-1, 1], row-major with ``len(row_labels)`` rows of equal length, each row named
    on the left (Lab 5's class grids: one row per class, one column per fixed z); the figure."""
    rows = len(row_labels)
    if rows < 1 or len(images) % rows:
        raise ValueError(f"{len(images)} images do not make {rows} rows of equal length")
    ncol = len(images) // rows
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.45 * ncol + 0.6, 0.45 * rows + 0.5))
    else:
        fig = ax.figure
    ax.imshow(to_numpy_image(images, nrow=ncol, padding=padding), interpolation="nearest")
    h = images.shape[-2] + padding
    ax.set_yticks([padding + h * r + (h - padding) / 2 for r in range(rows)], list(row_labels))
    ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9)
    _caption(fig, caption)
    return fig


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average over ``window`` points (shorter at the start), same length as ``values``."""
    v = np.asarray(values, dtype=float)
    if window <= 1 or len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    out = np.empty_like(v)
    for i in range(len(v)):
        lo = max(0, i + 1 - window)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def _runs_and_axes(runs, ax, figsize):
    """Normalise one History to {"": history}, and make a figure unless ``ax`` is given."""
    if isinstance(runs, History):
        runs = {"": runs}
    if not runs:
        raise ValueError(hints.NO_RUNS.format(what="plot"))
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return runs, fig, ax


def loss_curves(
    runs: History | Mapping[str, History],
    *,
    names: Sequence[str] | None = None,
    window: int = 50,
    caption: str | None = None,
    ax=None,
):
    """Losses against iterations for one run or several (run name -> History).

    ``names`` picks the losses to draw (default: every loss of each run, e.g. "D" and "G").
    Thin lines are the raw per-iteration losses, thick ones their moving average.
    """
    runs, fig, ax = _runs_and_axes(runs, ax, (8, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    k = 0
    for run_name, h in runs.items():
        for label in names if names is not None else h.losses:
            if label not in h.losses:
                raise KeyError(f"run {run_name!r} has no loss {label!r}; it has {sorted(h.losses)}")
            values = h.losses[label]
            color = colors[k % len(colors)]
            k += 1
            tag = f"{label} {run_name}".strip()
            ax.plot(h.iters, values, color=color, alpha=0.15, lw=0.5)
            ax.plot(h.iters, smooth(values, window), color=color, lw=1.8, label=tag)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.legend(ncol=2, fontsize=8)
    ax.grid(alpha=0.3)
    _caption(fig, caption)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def loss_table(
    runs: Mapping[str, History],
    *,
    names: Sequence[str] | None = None,
    metrics: Sequence[str] = (),
    fraction: float = 0.2,
    digits: int = 3,
) -> str:
    """A Markdown table: per run, the mean of each loss over the last ``fraction`` of the
    iterations and the last value of each metric. ``names`` defaults to the first run's losses."""
    if not runs:
        raise ValueError(hints.NO_RUNS.format(what="tabulate"))
    names = list(names) if names is not None else list(next(iter(runs.values())).losses)
    head = ["run", *(f"mean {n} loss" for n in names), *(f"final {m}" for m in metrics)]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for run_name, h in runs.items():
        cells = [f"{h.mean_loss(n, fraction):.{digits}f}" for n in names]
        cells += [f"{h.last_metric(m):.{digits}f}" for m in metrics]
        rows.append("| " + " | ".join([run_name, *cells]) + " |")
    return "\n".join(rows)


def metric_curves(runs: History | Mapping[str, History], name: str, *, caption: str | None = None, ax=None):
    """A metric (e.g. 'KD') against iterations for one run or several."""
    runs, fig, ax = _runs_and_axes(runs, ax, (6, 3.5))
    for run_name, h in runs.items():
        points = h.metrics.get(name, [])
        if points:
            its, vals = zip(*points)
            ax.plot(its, vals, marker="o", ms=3, label=run_name or None)
    ax.set_xlabel("iteration")
    ax.set_ylabel(name)
    ax.grid(alpha=0.3)
    if len(runs) > 1:
        ax.legend(fontsize=8)
    _caption(fig, caption)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def samples_over_training(
    history: History, iterations: Sequence[int] | None = None, *, n: int = 32, nrow: int = 8, caption: str | None = None
):
    """Side-by-side fixed-noise grids at the given iterations (default: the first and the last)."""
    saved = sorted(history.samples)
    if not saved:
        raise ValueError("this run saved no samples (sample_every larger than iters?)")
    iterations = list(iterations) if iterations is not None else [saved[0], saved[-1]]
    missing = [i for i in iterations if i not in history.samples]
    if missing:
        raise ValueError(f"no samples saved at iterations {missing}; saved: {saved}")
    rows = -(-min(n, len(history.samples[iterations[0]])) // nrow)
    fig, axes = plt.subplots(1, len(iterations), figsize=(3.6 * len(iterations), 3.6 * rows / nrow + 0.7))
    for ax, it in zip(np.atleast_1d(axes), iterations):
        show_grid(history.samples[it][:n], nrow=nrow, title=f"iteration {it}", ax=ax)
    _caption(fig, caption)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


@torch.no_grad()
def interpolate(gen: nn.Module, z1: Tensor, z2: Tensor, steps: int = 9) -> Tensor:
    """G(alpha z1 + (1 - alpha) z2) for alpha = 1, ..., 0 (``steps`` values): (steps, C, H, W).

    alpha = 1 gives G(z1), alpha = 0 gives G(z2). z1, z2: (nz,) or (1, nz).
    """
    z1, z2 = z1.reshape(1, -1), z2.reshape(1, -1)
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same size, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    alphas = torch.linspace(1, 0, steps, device=z1.device)[:, None]
    z = alphas * z1 + (1 - alphas) * z2  # (steps, nz)
    was_training = gen.training
    gen.eval()
    try:
        return gen(z.to(next(gen.parameters()).device)).float().cpu()
    finally:
        gen.train(was_training)


def interpolation_strips(rows: Mapping[str, Tensor], *, caption: str | None = None):
    """One strip per row name (e.g. latent size): each strip is (steps, C, H, W)."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 1.25 * len(rows) + 0.4), squeeze=False)
    for ax, (name, strip) in zip(axes[:, 0], rows.items()):
        ax.imshow(to_numpy_image(strip, nrow=len(strip)), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(name, fontsize=9, loc="left")
    _caption(fig, caption)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig
