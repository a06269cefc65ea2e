"""Helpers for the notebooks' autograder tests: shapes, parameter counts, seeded comparisons.

Messages are written for students: each failure says what was expected and what was found.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_shapes(model: nn.Module, x: Tensor, types: tuple[type, ...] = (nn.Conv2d, nn.ConvTranspose2d)) -> list[tuple[int, ...]]:
    """Output shapes of every submodule of the given types, in call order, for input ``x``."""
    shapes: list[tuple[int, ...]] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
        for m in model.modules()
        if isinstance(m, types)
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def has_module(model: nn.Module, kind: type) -> bool:
    """Whether any submodule is an instance of ``kind`` (e.g. nn.Sigmoid, nn.Tanh)."""
    return any(isinstance(m, kind) for m in model.modules())


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    """A copy of every parameter, to compare before and after an update."""
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def max_change(before: dict[str, Tensor], model: nn.Module) -> float:
    """Largest absolute change of any parameter since ``snapshot``."""
    return max((p.detach() - before[k]).abs().max().item() for k, p in model.named_parameters())


def assert_close(actual, expected, what: str, *, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Assert two numbers or tensors agree, with a message naming ``what``."""
    a = torch.as_tensor(actual, dtype=torch.float64)
    e = torch.as_tensor(expected, dtype=torch.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: expected shape {tuple(e.shape)}, got {tuple(a.shape)}")
    if not torch.allclose(a, e, atol=atol, rtol=rtol):
        raise AssertionError(f"{what}: expected {e.tolist() if e.numel() < 8 else e}, got {a.tolist() if a.numel() < 8 else a}")
