"""The updates: one function per network update, and one iteration of each lab built from them.

Every update zeroes its optimiser's gradients, takes one backward pass and one ``opt.step()``,
and returns its loss detached (no host sync). The iterations (``gan_step``, ``cyclegan_step``)
are what the labs ask students to write; the loop (``loop.fit``) calls them through a lab's
runner (``runs.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import Tensor, nn

from .. import losses

LossD = Callable[[Tensor, Tensor], Tensor]
LossG = Callable[[Tensor], Tensor]


@contextlib.contextmanager
def frozen(*models: nn.Module) -> Iterator[None]:
    """Parameters of ``models`` stop requiring gradients inside the block (restored after).

    Used for the generator updates: the backward pass skips the discriminators' weight
    gradients (faster), and nothing of theirs can change since only the generators'
    optimiser steps.
    """
    params = [p for m in models for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def _update(opt: torch.optim.Optimizer, loss: Tensor) -> Tensor:
    """Zero the gradients of ``opt``'s parameters, backward ``loss``, step; the loss, detached."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


# ---------------------------------------------------------------------------- Lab 1: DCGAN


def d_step(disc: nn.Module, opt_d: torch.optim.Optimizer, real: Tensor, fake: Tensor, d_loss_fn: LossD) -> Tensor:
    """Update D: minimise d_loss(D(real), D(fake)); ``fake`` is detached so G gets no gradient.

    Returns the loss, detached (no host sync).
    """
    return _update(opt_d, d_loss_fn(disc(real), disc(fake.detach())))


def g_step(disc: nn.Module, opt_g: torch.optim.Optimizer, fake: Tensor, g_loss_fn: LossG) -> Tensor:
    """Update G: minimise g_loss(D(G(z))), i.e. (non-saturating) maximise log D(G(z)).

    D's parameters stop requiring gradients for this backward pass: it is faster, and the
    G update cannot touch D (only ``opt_g`` steps). Returns the loss, detached.
    """
    with frozen(disc):
        return _update(opt_g, g_loss_fn(disc(fake)))


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


def parameters(*models: nn.Module) -> Iterable[nn.Parameter]:
    """The parameters of several models, for one optimiser over all of them."""
    return [p for m in models for p in m.parameters()]


# ---------------------------------------------------------------------------- Lab 3: CycleGAN
# Names: G: X->Y is ``g_xy``, F: Y->X is ``g_yx``, D_X is ``d_x`` (real x vs F(y)), D_Y is
# ``d_y`` (real y vs G(x)); ``opt_g`` steps both generators, ``opt_d`` both discriminators.


def cyclegan_step(
    g_xy: nn.Module,
    g_yx: nn.Module,
    d_x: nn.Module,
    d_y: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    x: Tensor,
    y: Tensor,
    *,
    lambda_cycle: float = 10.0,
    lambda_identity: float = 0.0,
    d_loss_fn: LossD = losses.lsgan_d_loss,
    g_loss_fn: LossG = losses.lsgan_g_loss,
    cycle_loss_fn: Callable[[Tensor, Tensor], Tensor] = losses.cycle_loss,
    identity_loss_fn: Callable[[Tensor, Tensor], Tensor] = losses.identity_loss,
) -> dict[str, Tensor]:
    """One CycleGAN iteration: the generators' update with both discriminators frozen, then
    the discriminators' update on real images and the detached translations.

    x: (B, C, H, W) from X, y: (B, C, H, W) from Y, unpaired, in [-1, 1].

    Update G and F, minimise::

        g_loss(D_Y(G(x))) + g_loss(D_X(F(y)))
        + lambda_cycle (|F(G(x)) - x|_1 + |G(F(y)) - y|_1)
        + lambda_identity (|G(y) - y|_1 + |F(x) - x|_1)

    Update D_X, D_Y, minimise::

        d_loss(D_X(x), D_X(F(y))) + d_loss(D_Y(y), D_Y(G(x)))

    The identity terms are computed only when ``lambda_identity > 0``. Returns the detached
    losses ``G`` (the two adversarial terms), ``cycle`` (the two L1 terms, unweighted),
    ``identity`` (unweighted; 0 when off), ``D_X`` and ``D_Y``.
    """
    with frozen(d_x, d_y):
        fake_y, fake_x = g_xy(x), g_yx(y)  # G(x): (B, C, H, W) in Y's style; F(y) in X's
        adv = g_loss_fn(d_y(fake_y)) + g_loss_fn(d_x(fake_x))
        cyc = cycle_loss_fn(x, g_yx(fake_y)) + cycle_loss_fn(y, g_xy(fake_x))
        total = adv + lambda_cycle * cyc
        if lambda_identity > 0:
            idt = identity_loss_fn(y, g_xy(y)) + identity_loss_fn(x, g_yx(x))
            total = total + lambda_identity * idt
        else:
            idt = torch.zeros((), device=x.device)
        _update(opt_g, total)
    loss_dx = d_loss_fn(d_x(x), d_x(fake_x.detach()))
    loss_dy = d_loss_fn(d_y(y), d_y(fake_y.detach()))
    _update(opt_d, loss_dx + loss_dy)
    return {
        "G": adv.detach(),
        "cycle": cyc.detach(),
        "identity": idt.detach(),
        "D_X": loss_dx.detach(),
        "D_Y": loss_dy.detach(),
    }
