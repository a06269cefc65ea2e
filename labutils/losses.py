"""GAN losses on logits. Every function is pure: logits in, a scalar tensor out.

Notation: ``real_logits = D(x)`` and ``fake_logits = D(G(z))`` are raw scores of shape (B,) or
(B, ...) (a patch discriminator gives a grid); sigma is the logistic sigmoid, so
D's probability that an image is real is sigma(logit). Means run over every element.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_logits(**named: Tensor) -> None:
    for name, t in named.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of logits, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")


def bce_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator loss of the standard GAN: -mean log sigma(D(x)) - mean log(1 - sigma(D(G(z)))).

    Minimising it maximises log D(x) + log(1 - D(G(z))). Shapes: (B, ...) each; returns a scalar.
    """
    _check_logits(real_logits=real_logits, fake_logits=fake_logits)
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def bce_g_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss: -mean log sigma(D(G(z))) (maximise log D(G(z)))."""
    _check_logits(fake_logits=fake_logits)
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def saturating_g_loss(fake_logits: Tensor) -> Tensor:
    """The minimax generator loss: mean log(1 - sigma(D(G(z)))), minimised by G.

    Its gradient with respect to the logit is -sigma(l): it vanishes when D confidently
    rejects the fakes (sigma(l) -> 0), which is why it is not used in practice.
    """
    _check_logits(fake_logits=fake_logits)
    return -F.softplus(fake_logits).mean()  # log(1 - sigma(l)) = -softplus(l)


def lsgan_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Least-squares discriminator loss: 1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2 (Mao et al.)."""
    _check_logits(real_logits=real_logits, fake_logits=fake_logits)
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def lsgan_g_loss(fake_logits: Tensor) -> Tensor:
    """Least-squares generator loss: 1/2 mean (D(G(z)) - 1)^2."""
    _check_logits(fake_logits=fake_logits)
    return 0.5 * ((fake_logits - 1) ** 2).mean()


LOSSES = {
    "bce": (bce_d_loss, bce_g_loss),
    "lsgan": (lsgan_d_loss, lsgan_g_loss),
}


def get(name: str):
    """``(d_loss, g_loss)`` for a loss family: 'bce' or 'lsgan'."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; use one of {sorted(LOSSES)}") from None
