"""Speed switches: memory layout, Adam's kernel and torch.compile's mode, with what was measured.

Measured with benchmarks/train_speed.py on a 2-core AVX-512 CPU (torch 2.14, the Lab 1 DCGAN
at 32x32, median of alternating rounds, 1-minute load < 1). Each default changes only the
rounding of the update, never its math; tests/test_fastpath.py checks that.

- Adam ``fused=True`` instead of the for-loop: 20.0 -> 18.5 ms an iteration at batch 16 (-8%),
  about -2% at 64 (``foreach=True``: no change on the CPU).
- channels-last storage of models and data: -2 to -12% at batch 16, -6% at 32, -11% at 64.

Not taken, or left behind a switch that is off by default:

- bfloat16 autocast (``amp``): -10% at batch 16, -30% at 64 on this CPU (it has AVX512-BF16),
  but it rounds the forward pass to 8 mantissa bits, so it is a choice, not a default.
- torch.compile (``compile``): 41 s to compile, then 27 ms an iteration instead of 20 at 16.
- torch.backends.mkldnn off: 3.5x slower. One thread instead of two: 1.55x slower on an idle
  machine (but see benchmarks/train_speed.py on a busy one).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def channels_last_wins(device: torch.device) -> bool:
    """Whether channels-last storage was measured to be faster on this device.

    On the CPU it won at every batch size measured (16, 32, 64). On CUDA it pays off with
    tensor cores (reduced precision), which is not measured here: off by default there.
    """
    return device.type == "cpu"


def memory_format(device: torch.device, channels_last: bool | None) -> torch.memory_format:
    """The layout for models and images: ``channels_last`` None takes the measured default."""
    if channels_last is None:
        channels_last = channels_last_wins(device)
    return torch.channels_last if channels_last else torch.contiguous_format


def compile_mode(compile: bool | str) -> str:
    """torch.compile's mode for ``compile=...``: True is "default"; a wrong value is refused."""
    if compile is True:
        return "default"
    if compile not in COMPILE_MODES:
        raise ValueError(f"compile must be True, False or one of {', '.join(COMPILE_MODES)}; got {compile!r}")
    return compile


def adam_impl(device: torch.device, fused: bool | None) -> dict[str, bool]:
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


def adam(
    params: Iterable[nn.Parameter],
    *,
    lr: float,
    betas: tuple[float, float],
    device: torch.device | str,
    fused: bool | None = None,
) -> torch.optim.Adam:
    """Adam with the fastest kernel measured for ``device`` (``fused``: see ``adam_impl``)."""
    return torch.optim.Adam(params, lr=lr, betas=betas, **adam_impl(torch.device(device), fused))
