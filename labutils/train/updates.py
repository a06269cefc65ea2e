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
    with frozen(disc):
        opt_g.zero_grad(set_to_none=True)
        loss = g_loss_fn(disc(fake))
        loss.backward()
        opt_g.step()
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


def parameters(*models: nn.Module) -> Iterable[nn.Parameter]:
    """The parameters of several models, for one optimiser over all of them."""
    return [p for m in models for p in m.parameters()]
