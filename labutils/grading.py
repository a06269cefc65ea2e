"""Helpers for the notebooks' autograder tests: shapes, parameter counts, seeded comparisons.

Messages are written for students: each failure says what was expected and what was found.

Behaviour tests compare a student's module with the reference on seeded inputs:

    ref = models.DCDiscriminator(ndf=16)
    grading.assert_same_function(Discriminator(ndf=16), ref, images, what="your discriminator")

copies the reference's weights into the student's model (``copy_weights``) and compares the
outputs (and gradients) in train and eval mode. A step test plants non-zero gradients
(``stale_grads``), records every optimiser step (``record_steps``) of the student's step and of
the reference's, and compares the two records (``assert_same_steps``) and the parameters
after (``assert_same_params``).

Student code runs in the same kernel as the tests and may hand back objects that lie (an
``__eq__`` that is always True, a tensor subclass): every check here tests types first
(``exact_int``, ``as_tensor``) and reads models through ``nn.Module``'s own methods, not
methods a student's class could override. This module imports torch only.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

# ------------------------------------------------------------------------------- basics


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    _check_module(model, "the model")
    return sum(int(p.numel()) for p in nn.Module.parameters(model) if p.requires_grad)


def layer_shapes(
    model: nn.Module, x: Tensor, types: tuple[type, ...] = (nn.Conv2d, nn.ConvTranspose2d)
) -> list[tuple[int, ...]]:
    """Output shapes of every submodule of the given types, in call order, for input ``x``."""
    shapes: list[tuple[int, ...]] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
        for m in nn.Module.modules(model)
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
    return any(isinstance(m, kind) for m in nn.Module.modules(model))


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    """A copy of every parameter, to compare before and after an update."""
    return {k: v.detach().clone() for k, v in nn.Module.named_parameters(model)}


def max_change(before: dict[str, Tensor], model: nn.Module) -> float:
    """Largest absolute change of any parameter since ``snapshot``."""
    return max(
        (p.detach() - before[k]).abs().max().item() for k, p in nn.Module.named_parameters(model)
    )


def assert_close(actual, expected, what: str, *, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Assert two numbers or tensors agree, with a message naming ``what``.

    ``actual`` must be a real number (int or float), a plain tensor or a parameter: a tensor
    subclass or any other object is refused before comparing (it could answer comparisons
    as it likes).
    """
    a = _as_float64(actual, what)
    e = _as_float64(expected, what + " (the expected value)")
    if a.shape != e.shape:
        raise AssertionError(f"{what}: expected shape {tuple(e.shape)}, got {tuple(a.shape)}")
    if not torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=False):
        raise AssertionError(
            f"{what}: expected {e.tolist() if e.numel() < 8 else e}, "
            f"got {a.tolist() if a.numel() < 8 else a}"
        )


# ------------------------------------------------------------------------------- types


def describe(x: object) -> str:
    """A short, safe description of a student's object for a message (type, and shape or value)."""
    t = type(x)
    if t is torch.Tensor or t is nn.Parameter:
        return f"a tensor of shape {tuple(int(s) for s in x.shape)} ({x.dtype})"
    if t in (int, float, bool):
        return f"{t.__name__} {x!r}"
    if t is type(None):
        return "None"
    if t in (tuple, list):
        return f"a {t.__name__} of length {len(x)}"
    return f"an object of type {t.__module__}.{t.__qualname__}"


def exact_int(x: object, what: str) -> int:
    """``x`` as a Python int, if it is one (or a numpy or torch integer scalar); else AssertionError.

    For counts and sizes: ``x == 3`` proves nothing when ``x``'s ``__eq__`` always returns True,
    and a float or a bool is not a count.
    """
    if type(x) is int:
        return x
    np = sys.modules.get("numpy")  # not imported here: only recognised if already loaded
    if np is not None and type(x).__module__ == "numpy" and isinstance(x, np.integer):
        return int(x)
    if (
        type(x) is torch.Tensor
        and x.dim() == 0
        and not x.is_floating_point()
        and not x.is_complex()
        and x.dtype is not torch.bool
    ):
        return int(x.item())
    raise AssertionError(f"{what}: expected an int, got {describe(x)}")


def as_tensor(
    x: object,
    what: str,
    *,
    shape: Sequence[int] | None = None,
    floating: bool = True,
    finite: bool = True,
) -> Tensor:
    """``x`` if it is a plain ``torch.Tensor`` (not a subclass) with the given shape; else AssertionError.

    ``floating``: its dtype must be a floating-point one; ``finite``: no inf or NaN.
    """
    if type(x) is not torch.Tensor:
        raise AssertionError(f"{what}: expected a torch.Tensor, got {describe(x)}")
    got = tuple(int(s) for s in x.shape)
    if shape is not None and got != tuple(int(s) for s in shape):
        raise AssertionError(f"{what}: expected shape {tuple(shape)}, got {got}")
    if floating and not x.is_floating_point():
        raise AssertionError(f"{what}: expected a floating-point tensor, got dtype {x.dtype}")
    if finite and x.is_floating_point() and not bool(torch.isfinite(x.detach()).all()):
        raise AssertionError(f"{what}: contains inf or NaN: {_preview(x)}")
    return x


def as_scalar(x: object, what: str, *, requires_grad: bool | None = None) -> float:
    """The value of a 0-dim, finite, floating-point plain tensor (a loss); else AssertionError.

    ``requires_grad=True``: it must be connected to the autograd graph (gradients flow);
    ``False``: it must be detached (a reported loss).
    """
    t = as_tensor(x, what, shape=())
    if requires_grad is True and not t.requires_grad:
        raise AssertionError(
            f"{what}: no gradient can flow back from it (requires_grad is False): compute it "
            "with torch operations on the logits, without .item(), .detach() or torch.no_grad()"
        )
    if requires_grad is False and t.requires_grad:
        raise AssertionError(
            f"{what}: return it detached (loss.detach()), not attached to the graph"
        )
    return float(t.detach().double().item())


# ------------------------------------------------------------------------------- seeded data


def pseudo_random(
    shape: Sequence[int], seed: int, *, low: float = -1.0, high: float = 1.0
) -> Tensor:
    """A float32 tensor of uniform-looking numbers in [low, high), the same on every machine.

    An integer hash of the element index and ``seed`` (no torch random generator), so test
    inputs and the values pasted into hidden tests do not change with the torch version.
    """
    n = math.prod(int(s) for s in shape)
    mask = 0xFFFFFFFF
    x = (torch.arange(n, dtype=torch.int64) + (int(seed) * 0x9E3779B1 + 0x7F4A7C15)) & mask
    for _ in range(2):  # products stay below 2**59: no int64 overflow
        x = (((x >> 16) ^ x) * 0x045D9F3B) & mask
    x = (x >> 16) ^ x
    u = x.to(torch.float64) / 2.0**32
    return (low + (high - low) * u).to(torch.float32).reshape(tuple(int(s) for s in shape))


def _norm_modules() -> tuple[type, ...]:
    return (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


@torch.no_grad()
def scramble_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Set every parameter and floating buffer of ``model`` to seeded values; returns ``model``.

    Weights (2+ dims) uniform with standard deviation 1/sqrt(fan-in), biases in [-0.5, 0.5];
    norm layers: weights in [0.5, 1.5], biases, running means in [-0.5, 0.5], running
    variances in [0.5, 2]. Unlike a fresh init, every norm's scale, shift and running
    statistics then matter, so models that differ there give different outputs. The values
    come from ``pseudo_random``: the same on every machine and torch version.
    """
    k = 0
    for module in nn.Module.modules(model):
        norm = isinstance(module, _norm_modules())
        for name, t in list(module.named_parameters(recurse=False)) + list(
            module.named_buffers(recurse=False)
        ):
            if t is None or not t.is_floating_point():
                continue
            k += 1
            s = seed * 1_000_003 + k
            if norm and name == "weight":
                v = pseudo_random(t.shape, s, low=0.5, high=1.5)
            elif norm and name == "running_var":
                v = pseudo_random(t.shape, s, low=0.5, high=2.0)
            elif t.dim() >= 2:
                fan_in = t.numel() // t.shape[0]
                b = math.sqrt(3.0 / fan_in)
                v = pseudo_random(t.shape, s, low=-b, high=b)
            else:
                v = pseudo_random(t.shape, s, low=-0.5, high=0.5)
            t.copy_(v)
    return model


def _modules_of(models) -> list[nn.Module]:
    if isinstance(models, nn.Module):
        return [models]
    if isinstance(models, Mapping):
        return list(models.values())
    return list(models)


@torch.no_grad()
def stale_grads(models, seed: int = 0, *, scale: float = 1.0) -> None:
    """Fill every parameter's ``.grad`` with seeded non-zero junk (0.5 to 1.5 times ``scale``).

    ``models``: a module, or a list or dict of modules. Start a step test from here: a step that
    forgets to zero its gradients before a backward pass then steps with junk + gradient and
    ends elsewhere than the reference, which zeroes them (from fresh models the gradients are
    None and a missing ``zero_grad`` goes unseen).
    """
    k = 0
    for model in _modules_of(models):
        for p in nn.Module.parameters(model):
            k += 1
            v = pseudo_random(p.shape, seed * 7919 + k)  # in [-1, 1)
            junk = torch.where(v >= 0, v + 0.5, v - 0.5) * scale  # |junk| in [0.5, 1.5] scale
            p.grad = junk.to(device=p.device, dtype=p.dtype)


# ------------------------------------------------------------------------------- weights


def _ordinal(i: int) -> str:
    n = i + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _check_module(model: object, what: str) -> None:
    if not isinstance(model, nn.Module):
        raise AssertionError(f"{what}: expected an nn.Module, got {describe(model)}")


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


def _shape_list(shapes: list[tuple[int, ...]], limit: int = 14) -> str:
    text = ", ".join(str(s) for s in shapes[:limit])
    return f"[{text}{', ...' if len(shapes) > limit else ''}]"


def _match(
    ref: list[Tensor], stu: list[Tensor], kind: str, what: str, reference: str
) -> list[tuple[Tensor, Tensor]]:
    """Pair the reference's tensors with the student's: in order, or else by shape.

    In order when the shapes agree one by one; otherwise, when both hold the same shapes in
    another order (layers registered in another order), the k-th tensor of each shape with
    the k-th of that shape. Anything else: AssertionError naming the first difference.
    """
    rs, ss = [_shape(t) for t in ref], [_shape(t) for t in stu]
    if rs == ss:
        return list(zip(ref, stu))
    if sorted(rs) == sorted(ss):
        pools: dict[tuple[int, ...], list[Tensor]] = {}
        for t, s in zip(ref, rs):
            pools.setdefault(s, []).append(t)
        return [(pools[s].pop(0), t) for t, s in zip(stu, ss)]
    first = next((i for i, (a, b) in enumerate(zip(ss, rs)) if a != b), min(len(ss), len(rs)))
    if first < min(len(ss), len(rs)):
        diff = (
            f"{what}'s {_ordinal(first)} {kind} has shape {ss[first]}, "
            f"{reference} gives {rs[first]} there"
        )
    elif len(ss) > len(rs):
        diff = f"{what} has an extra {kind} of shape {ss[first]} (the {_ordinal(first)})"
    else:
        diff = f"{what} lacks the {_ordinal(first)} {kind}, of shape {rs[first]}"
    count = (
        f"{what} has {len(ss)} {kind} tensors, {reference} gives {len(rs)}"
        if len(ss) != len(rs)
        else f"{what} has the same number of {kind} tensors ({len(ss)}) but other shapes"
    )
    raise AssertionError(
        f"{count}: {diff}. Expected (in order): {_shape_list(rs)}; yours: {_shape_list(ss)}. "
        "Check the channels, the kernels and which layers have a bias or a norm."
    )


@dataclass
class WeightMap:
    """Which of the student's tensors took which of the reference's (``copy_weights``)."""

    params: list[tuple[Tensor, Tensor]]  # (reference parameter, student parameter)
    buffers: list[tuple[Tensor, Tensor]]  # (reference buffer, student buffer)


@torch.no_grad()
def copy_weights(
    src: nn.Module,
    dst: nn.Module,
    *,
    what: str = "your model",
    reference: str = "the layer table",
) -> WeightMap:
    """Load ``src``'s (the reference's) parameters and buffers into ``dst`` (the student's model).

    Tensors are matched by order and shape, so the student's names are free: in order when the
    shapes agree, else by shape (layers registered in another order). Buffers include batch
    norm's running statistics. Raises AssertionError naming the first mismatch when the
    counts or shapes differ. Returns the pairing, for comparing gradients or updates later.
    """
    _check_module(src, reference)
    _check_module(dst, what)
    params = _match(
        list(nn.Module.parameters(src)),
        list(nn.Module.parameters(dst)),
        "parameter",
        what,
        reference,
    )
    buffers = _match(
        list(nn.Module.buffers(src)),
        list(nn.Module.buffers(dst)),
        "buffer (batch-norm running statistics)",
        what,
        reference,
    )
    for r, s in params + buffers:
        s.copy_(r)
    return WeightMap(params, buffers)


def assert_same_params(
    student: nn.Module,
    reference: nn.Module,
    *,
    what: str = "your model",
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """The parameters of ``student`` equal the reference's (matched by order and shape)."""
    pairs = _match(
        list(nn.Module.parameters(reference)),
        list(nn.Module.parameters(student)),
        "parameter",
        what,
        "the reference",
    )
    for i, (r, s) in enumerate(pairs):
        _assert_tensor_close(s, r, f"{what}: the {_ordinal(i)} parameter {_shape(s)}", atol, rtol)


def _preview(t: Tensor) -> str:
    flat = t.detach().flatten()
    vals = ", ".join(f"{v:.4g}" for v in flat[:4].tolist())
    return f"[{vals}{', ...' if flat.numel() > 4 else ''}]"


def _assert_tensor_close(
    actual: Tensor, expected: Tensor, what: str, atol: float, rtol: float, advice: str = ""
) -> None:
    """``what`` (the subject of the message) agrees with ``expected``; else AssertionError."""
    a = actual.detach().to("cpu", torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    if _shape(a) != _shape(e):
        raise AssertionError(f"{what}: expected shape {_shape(e)}, got {_shape(a)}")
    if torch.allclose(a, e, atol=atol, rtol=rtol):
        return
    err = (a - e).abs().nan_to_num(nan=math.inf)
    i = int(err.flatten().argmax())
    idx = tuple(int(v) for v in torch.unravel_index(torch.tensor(i), a.shape)) if a.dim() else ()
    raise AssertionError(
        f"{what} differs from the reference's by up to {err.flatten()[i].item():.3g} "
        f"(at {idx}: yours {a.flatten()[i].item():.6g}, expected {e.flatten()[i].item():.6g})"
        + (f". {advice}" if advice else "")
    )


def _as_float64(x: object, what: str) -> Tensor:
    if type(x) is torch.Tensor or type(x) is nn.Parameter:
        return x.detach().to("cpu", torch.float64)
    if type(x) in (int, float):
        return torch.tensor(float(x), dtype=torch.float64)
    if type(x) in (list, tuple) and all(type(v) in (int, float) for v in x):
        return torch.tensor([float(v) for v in x], dtype=torch.float64)
    raise AssertionError(f"{what}: expected a number or a torch.Tensor, got {describe(x)}")


# ------------------------------------------------------------------------------- functions

Inputs = Sequence[Tensor] | Callable[[int, int], Tensor]


def _call(model: nn.Module, x: Tensor, what: str, mode: str, shape: tuple[int, ...]) -> Tensor:
    where = f"{what} in {mode} mode, on a batch of {x.shape[0]}"
    try:
        out = model(x)
    except Exception as exc:  # the student's forward: report it as a failed check
        raise AssertionError(f"{where}: raised {type(exc).__name__}: {exc}") from exc
    return as_tensor(out, f"{where}: the output", shape=shape, finite=False)


def _inputs(inputs: Inputs, batch_sizes: Sequence[int], seed: int) -> list[Tensor]:
    if callable(inputs):
        return [inputs(int(b), seed * 101 + i) for i, b in enumerate(batch_sizes)]
    return list(inputs)


def assert_same_function(
    student: nn.Module,
    reference: nn.Module,
    inputs: Inputs,
    *,
    what: str = "your model",
    atol: float = 1e-5,
    rtol: float = 1e-4,
    batch_sizes: Sequence[int] = (1, 2, 7),
    seed: int = 0,
    scramble: bool = True,
    grads: bool = True,
    hint: str = "",
) -> WeightMap:
    """``student`` computes the same function as ``reference``, in train and in eval mode.

    ``inputs``: a list of input tensors (batch first), or a function ``(batch_size, seed) ->
    input`` called for each of ``batch_sizes``. The reference's weights are first set to seeded
    values (``scramble``, on by default: then every norm's scale, shift and running statistics
    matter) and copied into the student's model (``copy_weights``; this overwrites both
    models' weights). Then:

    - train mode, every input with a batch of 2 or more (batch norm cannot train on a single
      value per channel): the outputs agree, and (``grads``) so do the gradients of a seeded
      weighted sum of the outputs with respect to the input and to every parameter;
    - the running statistics that those passes updated agree (batch norm's momentum);
    - eval mode, every input, a batch of 1 included: the outputs agree.

    Raises AssertionError with a message naming ``what`` and the first difference, also when
    the student's model raises, returns something other than a tensor, or the wrong shape.
    ``hint`` is added to messages about differing outputs. Returns the weight pairing.
    """
    _check_module(student, what)
    _check_module(reference, "the reference")
    if scramble:
        scramble_(reference, seed)
    wmap = copy_weights(reference, student, what=what)
    batches = _inputs(inputs, batch_sizes, seed)
    was = (student.training, reference.training)
    try:
        # ---- train mode: outputs and gradients
        nn.Module.train(student, True)
        nn.Module.train(reference, True)
        for x in batches:
            if x.shape[0] < 2:
                continue
            xr = x.clone().requires_grad_(grads)
            xs = x.clone().requires_grad_(grads)
            with torch.enable_grad():
                ref_out = reference(xr)
                out = _call(student, xs, what, "train", _shape(ref_out))
            _assert_tensor_close(
                out,
                ref_out,
                f"{what} in train mode, on a batch of {x.shape[0]}, with the reference's weights: "
                "the output",
                atol,
                rtol,
                hint,
            )
            if grads:
                _assert_same_grads(student, reference, wmap, xs, xr, out, ref_out, what, atol, rtol)
        for i, (r, s) in enumerate(wmap.buffers):
            if r.is_floating_point():
                _assert_tensor_close(
                    s,
                    r,
                    f"{what}: after training-mode passes, the {_ordinal(i)} buffer (batch-norm "
                    "running statistics)",
                    atol,
                    rtol,
                    "Use nn.BatchNorm2d with its default momentum and eps, each called once per "
                    "forward pass",
                )
        # ---- eval mode: running statistics, a batch of 1 included
        nn.Module.train(student, False)
        nn.Module.train(reference, False)
        with torch.no_grad():
            for x in batches:
                ref_out = reference(x)
                out = _call(student, x, what, "eval", _shape(ref_out))
                _assert_tensor_close(
                    out,
                    ref_out,
                    f"{what} in eval mode (model.eval()), on a batch of {x.shape[0]}, with the "
                    "reference's weights: the output",
                    atol,
                    rtol,
                    hint,
                )
    finally:
        nn.Module.train(student, was[0])
        nn.Module.train(reference, was[1])
    return wmap


def _assert_same_grads(student, reference, wmap, x_s, x_r, out, ref_out, what, atol, rtol) -> None:
    if not out.requires_grad:
        raise AssertionError(
            f"{what}: no gradient flows back through the output (does forward use .detach(), "
            ".data or torch.no_grad()?)"
        )
    for m in (student, reference):
        for p in nn.Module.parameters(m):
            p.grad = None
    w = pseudo_random(ref_out.shape, 4242).to(ref_out.device, ref_out.dtype)
    with torch.enable_grad():
        (ref_out * w).sum().backward()
        try:
            (out * w.to(out.dtype)).sum().backward()
        except Exception as exc:
            raise AssertionError(f"{what}: backward through the output raised {exc!r}") from exc
    scale = max(1.0, float(x_r.grad.abs().max()))
    if x_s.grad is None:
        raise AssertionError(f"{what}: no gradient reaches the input")
    _assert_tensor_close(
        x_s.grad, x_r.grad, f"{what}: the gradient with respect to the input", atol * scale, rtol
    )
    for i, (r, s) in enumerate(wmap.params):
        if r.grad is None:
            continue
        if s.grad is None:
            raise AssertionError(
                f"{what}: the {_ordinal(i)} parameter {_shape(s)} gets no gradient"
            )
        scale = max(1.0, float(r.grad.abs().max()))
        _assert_tensor_close(
            s.grad,
            r.grad,
            f"{what}: the gradient of the {_ordinal(i)} parameter {_shape(s)}",
            atol * scale,
            rtol,
        )
    for m in (student, reference):
        for p in nn.Module.parameters(m):
            p.grad = None


def assert_output_range(
    out: object,
    low: float,
    high: float,
    *,
    what: str = "the output",
    reach: float | None = None,
) -> Tensor:
    """Every value of ``out`` lies in [low, high]; with ``reach``, some come within ``reach`` of each end.

    Use ``reach`` on a model whose last layer was scaled up: a tanh then saturates at both ends.
    Returns ``out``.
    """
    t = as_tensor(out, what, finite=False)
    v = t.detach()
    if bool(torch.isnan(v).any()):
        raise AssertionError(f"{what}: contains NaN")
    lo, hi = float(v.min()), float(v.max())
    if lo < low or hi > high:
        raise AssertionError(
            f"{what}: values must lie in [{low:g}, {high:g}], found [{lo:.4g}, {hi:.4g}]"
        )
    if reach is not None and (lo > low + reach or hi < high - reach):
        raise AssertionError(
            f"{what}: with large pre-activations the values should come within {reach:g} of "
            f"{low:g} and {high:g} (a saturating tanh), found [{lo:.4g}, {hi:.4g}]"
        )
    return t


# ------------------------------------------------------------------------------- steps


@dataclass
class StepEvent:
    """One ``optimizer.step()`` call, as ``record_steps`` saw it."""

    optimizer: str
    """The name of the optimiser that stepped (a key of ``named_optimizers``)."""
    changed: tuple[str, ...]
    """The models (keys of ``models``) whose parameters this step changed."""
    moved_before: tuple[str, ...]
    """The models whose parameters changed since the previous step (or the start) outside
    any recorded step (an optimiser the recorder does not know, an in-place edit, clipping)."""
    grads: dict[str, dict[int, Tensor | None]] = field(repr=False)
    """model -> parameter index (``nn.Module.parameters`` order) -> a copy of its ``.grad`` at
    the call (None for no gradient), for the parameters this optimiser holds."""


class StepRecorder:
    """Records the optimiser steps made inside a ``with`` block (see ``record_steps``).

    ``events``: a ``StepEvent`` per step, in order; ``after``: the models whose parameters
    changed after the last step (outside any step); ``order``: the optimisers' names in order.
    """

    def __init__(
        self,
        named_optimizers: Mapping[str, torch.optim.Optimizer],
        models: Mapping[str, nn.Module],
    ) -> None:
        self.optimizers = dict(named_optimizers)
        self.models = dict(models)
        for name, opt in self.optimizers.items():
            if not isinstance(opt, torch.optim.Optimizer):
                raise TypeError(f"{name}: expected a torch.optim.Optimizer, got {describe(opt)}")
        for name, m in self.models.items():
            if not isinstance(m, nn.Module):
                raise TypeError(f"{name}: expected an nn.Module, got {describe(m)}")
        self.events: list[StepEvent] = []
        self.after: tuple[str, ...] = ()
        self._params = {
            name: list(nn.Module.parameters(m)) for name, m in self.models.items()
        }  # fixed now: a model that swaps its parameters later shows as unchanged
        self._where = {
            id(p): (name, i) for name, ps in self._params.items() for i, p in enumerate(ps)
        }
        self._handles: list = []
        self._last: dict[str, list[Tensor]] = {}
        self._pre: tuple[dict[str, list[Tensor]], tuple[str, ...], dict] | None = None

    @property
    def order(self) -> list[str]:
        return [e.optimizer for e in self.events]

    def _snap(self) -> dict[str, list[Tensor]]:
        return {n: [p.detach().clone() for p in ps] for n, ps in self._params.items()}

    def _diff(self, a: dict[str, list[Tensor]], b: dict[str, list[Tensor]]) -> tuple[str, ...]:
        return tuple(
            n for n in self._params if any(not torch.equal(x, y) for x, y in zip(a[n], b[n]))
        )

    def _pre_hook(self, name: str, opt: torch.optim.Optimizer) -> None:
        now = self._snap()
        grads: dict[str, dict[int, Tensor | None]] = {}
        stray = 0
        for group in opt.param_groups:
            for p in group["params"]:
                if id(p) not in self._where:
                    stray += 1
                model, i = self._where.get(id(p), ("(a parameter of no model)", stray))
                g = None if p.grad is None else p.grad.detach().clone()
                grads.setdefault(model, {})[i] = g
        self._pre = (now, self._diff(self._last, now), grads)

    def _post_hook(self, name: str) -> None:
        assert self._pre is not None
        before, moved, grads = self._pre
        now = self._snap()
        self.events.append(StepEvent(name, self._diff(before, now), moved, grads))
        self._last, self._pre = now, None

    def __enter__(self) -> StepRecorder:
        self.events, self.after = [], ()
        self._last = self._snap()
        for name, opt in self.optimizers.items():
            self._handles.append(
                opt.register_step_pre_hook(lambda o, a, k, name=name: self._pre_hook(name, o))
            )
            self._handles.append(
                opt.register_step_post_hook(lambda o, a, k, name=name: self._post_hook(name))
            )
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self.after = self._diff(self._last, self._snap())


def record_steps(
    named_optimizers: Mapping[str, torch.optim.Optimizer], models: Mapping[str, nn.Module]
) -> StepRecorder:
    """A recorder of every ``step()`` of the named optimisers inside a ``with`` block::

        with grading.record_steps({"D": opt_d, "G": opt_g}, {"G": gen, "D": disc}) as rec:
            train_step(gen, disc, opt_g, opt_d, real, z, d_loss, g_loss)
        rec.order       # ['D', 'G']
        rec.events[0]   # StepEvent('D', changed=('D',), moved_before=(), grads={...})

    For each step it records which optimiser stepped, which models' parameters the step
    changed (snapshots before and after the real step), which changed before it outside any
    step, and the gradients it stepped with. One optimiser may hold several models (CycleGAN:
    ``{"G": opt_g}`` over ``{"G_XY": g_xy, "G_YX": g_yx}``); an optimiser may step several times
    (WGAN: ``n_critic`` critic steps, then one generator step). Compare two records with
    ``assert_same_steps``. Uses the optimisers' step hooks, removed when the block ends.
    """
    return StepRecorder(named_optimizers, models)


def assert_same_steps(
    student: StepRecorder,
    reference: StepRecorder,
    *,
    what: str = "your step",
    atol: float = 1e-6,
    rtol: float = 1e-4,
    hints: Mapping[str, str] | None = None,
) -> None:
    """``student``'s record matches the reference's: the same steps in the same order, each
    changing the same models, nothing changed outside a step, and the same gradients.

    Start both from non-zero gradients (``stale_grads``): the gradients then show a missing
    ``zero_grad``. ``hints``: optimiser name -> advice appended when its gradients differ.
    """
    hints = dict(hints or {})
    want, got = reference.order, student.order
    if want != got:
        raise AssertionError(
            f"{what}: expected the optimiser steps {want} (in this order), "
            f"found {got or 'no step at all'}"
        )
    for i, (s, r) in enumerate(zip(student.events, reference.events)):
        step = f"the {_ordinal(i)} step ({s.optimizer})"
        if s.moved_before != r.moved_before:
            raise AssertionError(
                f"{what}: before {step} the parameters of {list(s.moved_before) or 'no model'} "
                f"changed outside an optimiser step (expected {list(r.moved_before) or 'none'})"
            )
        if s.changed != r.changed:
            raise AssertionError(
                f"{what}: {step} changed {list(s.changed) or 'nothing'}, "
                f"expected {list(r.changed) or 'nothing'}"
            )
        for model, rg in r.grads.items():
            sg = s.grads.get(model, {})
            for k, g_ref in rg.items():
                g = sg.get(k)
                where = f"{what}: at {step}, the gradient of {model}'s {_ordinal(k)} parameter"
                if g_ref is None and g is None:
                    continue
                if g is None or g_ref is None:
                    raise AssertionError(
                        f"{where} is {'missing' if g is None else 'present'}, "
                        f"the reference's is {'present' if g is None else 'missing'}"
                    )
                scale = max(1.0, float(g_ref.abs().max()))
                try:
                    _assert_tensor_close(g, g_ref, where, atol * scale, rtol)
                except AssertionError as exc:
                    advice = hints.get(
                        s.optimizer,
                        "Were the gradients zeroed before this backward pass (they do not start "
                        "at zero here), and is the loss the one described?",
                    )
                    raise AssertionError(f"{exc}. {advice}") from None
    if student.after != reference.after:
        raise AssertionError(
            f"{what}: after the last step the parameters of {list(student.after)} changed "
            "outside an optimiser step"
        )


__all__ = [
    "StepEvent",
    "StepRecorder",
    "WeightMap",
    "as_scalar",
    "as_tensor",
    "assert_close",
    "assert_output_range",
    "assert_same_function",
    "assert_same_params",
    "assert_same_steps",
    "copy_weights",
    "count_params",
    "describe",
    "exact_int",
    "has_module",
    "layer_shapes",
    "max_change",
    "pseudo_random",
    "record_steps",
    "scramble_",
    "snapshot",
    "stale_grads",
]
