"""A sweep: named runs of one experiment, each trained once, checkpointed, and gathered in a table.

    sweep = train.Sweep(run_fn, score_fn, directory=config.runs_dir() / "lab2")
    for seed in (0, 1, 2):
        sweep.run(f"baseline-seed{seed}", dataclasses.replace(cfg, seed=seed))
    print(sweep.table({"baseline": [f"baseline-seed{s}" for s in (0, 1, 2)]}, {"fcd": "FCD"}))

``run_fn(cfg, checkpoint) -> (nets, history)`` trains one run and checkpoints it to the path it
is given (the lab's runner does: ``train.train_gan(..., checkpoint=checkpoint)``), so a restarted
notebook calling the same ``sweep.run`` lines again loads the finished runs from their
checkpoints at once and resumes the one that was cut short. ``score_fn(nets, history) -> dict``
gives a run's numbers. A run's checkpoint is ``directory / f"{name}-{cfg.profile}.pt"``: the
profiles never share one.

Two names for one config are one run (trained once: e.g. the baseline of the ablation table is
the seed-0 run of the seed study); one name for two configs is an error.
"""

from __future__ import annotations

import math
import os
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import hints
from .loop import History

__all__ = ["Run", "Sweep", "mean_sd"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


@dataclass
class Run:
    """One finished run of a sweep."""

    name: str
    cfg: Any
    nets: Any
    """What the run function returned first (the trained networks)."""
    history: History
    scores: dict[str, float] = field(default_factory=dict)
    checkpoint: Path | None = None


def mean_sd(values: Iterable[float], digits: int = 3) -> str:
    """``'mean ± sd'`` of the values (sample standard deviation; 0 for one value)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no values")
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


class Sweep:
    """Named runs, trained once each (see the module docstring)."""

    def __init__(
        self,
        run_fn: Callable[[Any, Path], tuple[Any, History]],
        score_fn: Callable[[Any, History], Mapping[str, float]],
        directory: str | os.PathLike,
    ) -> None:
        self.run_fn, self.score_fn = run_fn, score_fn
        self.directory = Path(directory)
        self.runs: dict[str, Run] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.runs

    def __getitem__(self, name: str) -> Run:
        try:
            return self.runs[name]
        except KeyError:
            raise KeyError(
                f"no run {name!r} in this sweep (it has {sorted(self.runs)}): the cell that trains "
                "it has not finished; run it first"
            ) from None

    def run(self, name: str, cfg: Any) -> Run:
        """The run ``name`` of config ``cfg``: trained (or resumed, or loaded) the first time."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"a run name is letters, digits and . _ = + - (it names a file), got {name!r}")
        if name in self.runs:
            if self.runs[name].cfg != cfg:
                raise ValueError(f"run {name!r} exists with another config; give this one another name")
            return self.runs[name]
        for other in self.runs.values():
            if other.cfg == cfg:  # the same run under a second name: train it once
                self.runs[name] = other
                return other
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}-{cfg.profile}.pt"
        nets, history = self.run_fn(cfg, path)
        if not isinstance(history, History):
            raise TypeError(f"the run function must return (nets, History), got a {type(history).__name__} second")
        scores = {k: float(v) for k, v in dict(self.score_fn(nets, history)).items()}
        self.runs[name] = Run(name, cfg, nets, history, scores, path)
        return self.runs[name]

    def values(self, names: Sequence[str], key: str) -> list[float]:
        """Score ``key`` of each named run."""
        out = []
        for name in names:
            scores = self[name].scores
            if key not in scores:
                raise KeyError(f"run {name!r} has no score {key!r}; it has {sorted(scores)}")
            out.append(scores[key])
        return out

    def table(
        self,
        rows: Mapping[str, Sequence[str]],
        columns: Mapping[str, str],
        *,
        digits: int | Mapping[str, int] = 3,
        first: str = "run",
    ) -> str:
        """A Markdown table: one row per label, ``mean ± sd`` of each score over the row's runs.

        rows: label -> run names (e.g. the seeds of one config); columns: score key -> header;
        ``digits``: decimals, one for all or per key. A row of one run shows its value alone. A NaN score shows as "n/a" only if every
        run of the row has it, otherwise the mean is over the others and says so.
        """
        if not rows or not all(rows.values()):
            raise ValueError(hints.NO_RUNS.format(what="tabulate"))
        head = f"| {first} | runs | " + " | ".join(columns.values()) + " |"
        lines = [head, "| --- | ---: |" + " ---: |" * len(columns)]
        for label, names in rows.items():
            cells = []
            for key in columns:
                d = digits[key] if isinstance(digits, Mapping) else digits
                values = [v for v in self.values(names, key) if not math.isnan(v)]
                missing = len(names) - len(values)
                if not values:
                    cell = "n/a"
                elif len(values) == 1:  # one run: its value, no spread
                    cell = f"{values[0]:.{d}f}"
                else:
                    cell = mean_sd(values, d)
                cells.append(cell + (f" ({missing} NaN)" if values and missing else ""))
            lines.append(f"| {label} | {len(names)} | " + " | ".join(cells) + " |")
        return "\n".join(lines)
