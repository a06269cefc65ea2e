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


# ---------------------------------------------------------------------------- Lab 4: WGAN


@torch.no_grad()
def clip_weights_(model: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``model`` into [-clip_value, clip_value], in place (WGAN).

    Clipping keeps the critic's weights in a compact set, so f is K-Lipschitz for some K: the
    WGAN paper's crude way to bound the critic (it calls it "a clearly terrible way").
    """
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    for p in model.parameters():
        p.clamp_(-clip_value, clip_value)


def wgan_step(
    gen: nn.Module,
    critic: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_c: torch.optim.Optimizer,
    next_real: Callable[[], Tensor],
    next_z: Callable[[], Tensor],
    *,
    n_critic: int = 5,
    clip_value: float | None = None,
    gp_lambda: float = 0.0,
    critic_loss_fn: LossD = losses.wasserstein_critic_loss,
    g_loss_fn: LossG = losses.wasserstein_g_loss,
    penalty_fn: Callable[..., Tensor] = losses.gradient_penalty,
) -> dict[str, Tensor]:
    """One WGAN iteration: ``n_critic`` critic updates, each on a fresh real batch
    (``next_real()``, (B, C, H, W)) and fresh fakes G(``next_z()``) (detached), then one
    generator update on fresh fakes with the critic frozen.

    Each critic update minimises ``critic_loss(f(x), f(G(z)))`` plus, when ``gp_lambda > 0``,
    ``penalty_fn(f, x, G(z), gp_lambda=gp_lambda)``; with ``clip_value`` the critic's weights
    are clipped after each of its steps. With the BCE losses, ``n_critic=1`` and neither
    constraint it is the vanilla GAN iteration. Returns the detached losses: ``critic`` (the
    last critic update's, penalty included), ``G``, ``W`` (mean f(x) - mean f(G(z)) of the last
    critic update, the critic's estimate of the distance) and ``GP`` (the last penalty; 0 off).
    """
    if n_critic < 1:
        raise ValueError(f"n_critic must be at least 1, got {n_critic}")
    for _ in range(n_critic):
        real = next_real()
        with torch.no_grad():
            fake = gen(next_z())
        real_scores, fake_scores = critic(real), critic(fake)
        loss = critic_loss_fn(real_scores, fake_scores)
        gp = penalty_fn(critic, real, fake, gp_lambda=gp_lambda) if gp_lambda > 0 else None
        c_loss = _update(opt_c, loss if gp is None else loss + gp)
        if clip_value is not None:
            clip_weights_(critic, clip_value)
    with frozen(critic):
        g_loss = _update(opt_g, g_loss_fn(critic(gen(next_z()))))
    w = (real_scores.mean() - fake_scores.mean()).detach()
    return {"critic": c_loss, "G": g_loss, "W": w, "GP": gp.detach() if gp is not None else torch.zeros_like(w)}


# ---------------------------------------------------------------------------- Lab 5: conditional GAN


def cgan_step(
    gen: nn.Module,
    disc: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    real_labels: Tensor,
    z: Tensor,
    fake_labels: Tensor,
    d_loss_fn: LossD = losses.bce_d_loss,
    g_loss_fn: LossG = losses.bce_g_loss,
    *,
    n_classes: int = 10,
) -> tuple[Tensor, Tensor]:
    """One conditional GAN iteration: fakes G(z, y_fake), a D update on (real, y_real) and the
    detached (fake, y_fake), then a G update against the updated D with D frozen.

    real: (B, 1, 28, 28) with its own class indices real_labels (B,); z: (B, nz) and the classes
    the generator is asked for, fake_labels (B,). Both networks get the labels one-hot
    (``models.one_hot``, ``n_classes`` wide): ``gen(z, y)``, ``disc(x, y)``. For the variant
    without y in D, pass ``models.LabelBlind(disc)``. Returns (d_loss, g_loss), detached.
    """
    from ..models.conditional import one_hot

    y_real, y_fake = one_hot(real_labels, n_classes), one_hot(fake_labels, n_classes)
    fake = gen(z, y_fake)  # (B, 1, 28, 28); one G forward serves both updates
    d_loss = _update(opt_d, d_loss_fn(disc(real, y_real), disc(fake.detach(), y_fake)))
    with frozen(disc):
        g_loss = _update(opt_g, g_loss_fn(disc(fake, y_fake)))
    return d_loss, g_loss
