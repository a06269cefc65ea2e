"""The batch source: named tensors held on the device, drawn by index, plus noise, seeded.

One ``torch.Generator`` on the training device draws everything random in a run (the data
order, the augmentation, the noise, and whatever a step draws with ``randn``/``randint``), so
a run is reproducible and its state fits in a checkpoint. Nothing here reads back from the
device: drawing a batch never syncs.

    source = BatchSource({"real": images}, 16, noise={"z": 64}, augment={"real": augment.deluxe})
    batch = source.next()         # {"real": (16, 3, 32, 32), "z": (16, 64)}

    source = BatchSource({"x": google, "y": windows}, 16, paired=False)   # CycleGAN
    source = BatchSource({"real": digits, "label": labels}, 64, noise={"z": 100})  # conditional
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

Augment = Callable[..., Tensor]


class BatchSource:
    """Batches of named tensors, shuffled by index on the device, a new permutation each epoch.

    tensors: name -> (N, ...) tensor, already on ``device`` in the layout the models use.
    ``paired=True`` draws the same rows of every tensor (images with their labels); then all
    must have the same length. ``paired=False`` shuffles each tensor on its own (unpaired
    domains, as CycleGAN assumes), so their lengths may differ. ``noise`` maps a name to a
    latent size: each batch also holds ``randn(batch_size, size)`` under that name.
    ``augment`` maps a tensor name to ``f(x, generator=...)``, applied to each drawn batch.
    The last partial batch of an epoch is dropped.
    """

    def __init__(
        self,
        tensors: Mapping[str, Tensor],
        batch_size: int,
        *,
        paired: bool = True,
        noise: Mapping[str, int] | None = None,
        augment: Mapping[str, Augment] | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        if not tensors:
            raise ValueError("a batch source needs at least one tensor")
        self.tensors = dict(tensors)
        for name, t in self.tensors.items():
            if not isinstance(t, Tensor) or t.dim() == 0:
                raise TypeError(f"{name} must be a tensor with a batch dimension, got {type(t).__name__}")
        first = next(iter(self.tensors.values()))
        self.device = torch.device(device) if device is not None else first.device
        for name, t in self.tensors.items():
            if t.device != self.device:
                raise ValueError(f"{name} is on {t.device}, the batch source draws on {self.device}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        lengths = {name: len(t) for name, t in self.tensors.items()}
        if paired and len(set(lengths.values())) > 1:
            raise ValueError(f"paired tensors must have the same length, got {lengths}")
        for name, n in lengths.items():
            if batch_size > n:
                raise ValueError(f"batch_size {batch_size} is larger than {name} ({n} rows)")
        self.noise = dict(noise or {})
        self.augment = dict(augment or {})
        unknown = set(self.augment) - set(self.tensors)
        if unknown:
            raise ValueError(f"augment names {sorted(unknown)}, which are not tensors of this source")
        clash = set(self.noise) & set(self.tensors)
        if clash:
            raise ValueError(f"noise names {sorted(clash)} are also tensor names")
        self.batch_size, self.paired = batch_size, paired
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        # one index stream when paired, else one per tensor
        self._streams = ["*"] if paired else list(self.tensors)
        self._lengths = {s: (next(iter(lengths.values())) if s == "*" else lengths[s]) for s in self._streams}
        self._perm = {s: torch.empty(0, dtype=torch.long, device=self.device) for s in self._streams}
        self._pos = dict.fromkeys(self._streams, 0)

    def _indices(self, stream: str) -> Tensor:
        if self._pos[stream] + self.batch_size > len(self._perm[stream]):  # a new epoch
            self._perm[stream] = torch.randperm(
                self._lengths[stream], generator=self.generator, device=self.device
            )
            self._pos[stream] = 0
        pos = self._pos[stream]
        self._pos[stream] = pos + self.batch_size
        return self._perm[stream][pos : pos + self.batch_size]

    def next(self) -> dict[str, Tensor]:
        """One batch: every tensor's drawn rows (augmented where asked), then the noise."""
        batch: dict[str, Tensor] = {}
        shared = self._indices("*") if self.paired else None
        for name, t in self.tensors.items():
            rows = t[shared if shared is not None else self._indices(name)]
            fn = self.augment.get(name)
            batch[name] = fn(rows, generator=self.generator) if fn is not None else rows
        for name, size in self.noise.items():
            batch[name] = self.randn(self.batch_size, size)
        return batch

    def randn(self, *shape: int) -> Tensor:
        """Standard normal noise of ``shape`` from the run's generator, on the device."""
        return torch.randn(*shape, generator=self.generator, device=self.device)

    def randint(self, high: int, *shape: int) -> Tensor:
        """Integers in [0, high) of ``shape`` from the run's generator (e.g. fake labels)."""
        return torch.randint(high, shape, generator=self.generator, device=self.device)

    def state_dict(self) -> dict[str, Any]:
        """Where the source is: the generator's state and each permutation and position."""
        return {
            "rng": self.generator.get_state(),
            "perm": dict(self._perm),
            "pos": dict(self._pos),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if set(state["perm"]) != set(self._streams):
            raise ValueError(
                f"the saved batch source drew {sorted(state['perm'])}, this one draws {sorted(self._streams)}"
            )
        self.generator.set_state(state["rng"].cpu())
        self._perm = {s: p.to(self.device) for s, p in state["perm"].items()}
        self._pos = {s: int(p) for s, p in state["pos"].items()}
