"""GAN losses on logits, CycleGAN's image losses and WGAN's losses on critic scores. Every
function but the gradient penalty is pure: logits (scores, or images for ``cycle_loss`` and
``identity_loss``) in, a scalar tensor out; ``gradient_penalty`` evaluates the critic at random
interpolates.

Notation: ``real_logits = D(x)`` and ``fake_logits = D(G(z))`` are raw scores of shape (B,) or
(B, ...) (a patch discriminator gives a grid); sigma is the logistic sigmoid, so
D's probability that an image is real is sigma(logit). Means run over every element.
"""

from __future__ import annotations

from collections.abc import Callable

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
    """Least-squares discriminator loss: 1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2 (Mao et al.).

    Shapes: (B,) from a DC discriminator or a grid (B, 1, h, w) from a patch discriminator;
    the two may differ in shape. Each mean runs over every element, so every patch is scored
    against its target on its own: do not average a patch grid to one logit per image first
    (that would only ask the patches to be right on average). Returns a scalar.
    """
    _check_logits(real_logits=real_logits, fake_logits=fake_logits)
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def lsgan_g_loss(fake_logits: Tensor) -> Tensor:
    """Least-squares generator loss: 1/2 mean (D(G(z)) - 1)^2.

    Shape (B,) or a patch grid (B, 1, h, w); the mean runs over every patch, not over
    per-image averages. Returns a scalar.
    """
    _check_logits(fake_logits=fake_logits)
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def _check_images(**named: Tensor) -> None:
    (name_a, a), (name_b, b) = named.items()
    for name, t in named.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of images, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def cycle_loss(real: Tensor, reconstructed: Tensor) -> Tensor:
    """Cycle-consistency loss: mean ``|x - F(G(x))|`` (or ``|y - G(F(y))|``), the L1 distance.

    ``real`` is x, ``reconstructed`` its round trip F(G(x)); both (B, C, H, W) of the same
    shape (no broadcasting). The mean runs over every pixel and channel. Returns a scalar;
    the training step weights it by lambda_cycle.
    """
    _check_images(real=real, reconstructed=reconstructed)
    return (real - reconstructed).abs().mean()


def identity_loss(real: Tensor, same: Tensor) -> Tensor:
    """Identity loss: mean ``|y - G(y)|`` (or ``|x - F(x)|``), the L1 distance.

    A generator given an image already in its target domain should leave it unchanged.
    ``real`` is y, ``same`` is G(y); both (B, C, H, W) of the same shape. Returns a scalar.
    """
    _check_images(real=real, same=same)
    return (real - same).abs().mean()


# ---------------------------------------------------------------------------- Lab 4: WGAN
# The critic's outputs are scores f(x), not logits: no sigmoid anywhere.


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The critic's loss: mean f(G(z)) - mean f(x).

    Minimising it maximises mean f(x) - mean f(G(z)), which for a 1-Lipschitz f estimates the
    Wasserstein-1 distance between the data and the generator's distribution (Arjovsky et al.
    2017). Shapes: (B, ...) each; returns a scalar.
    """
    _check_logits(real_scores=real_scores, fake_scores=fake_scores)
    return fake_scores.mean() - real_scores.mean()


def wasserstein_g_loss(fake_scores: Tensor) -> Tensor:
    """The generator's loss: -mean f(G(z)) (raise the critic's score of the fakes)."""
    _check_logits(fake_scores=fake_scores)
    return -fake_scores.mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    gp_lambda: float = 10.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): lambda mean_i (||grad f(x_hat_i)||_2 - 1)^2.

    x_hat_i = eps_i x_i + (1 - eps_i) G(z)_i, with one eps_i ~ U[0, 1] per sample (shared by
    all its pixels), on the segment between a real image and a fake one; ``fake`` is detached
    (the penalty trains the critic only). The norm is per sample, over all of its pixels and
    channels. The gradient is taken with ``create_graph=True``, so that the penalty is itself
    differentiable with respect to the critic's parameters (a double backward). ``generator``
    draws eps (None: torch's global generator). real, fake: (B, C, H, W); returns a scalar.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)  # one epsilon per sample
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)  # (B,): one norm per sample
    return gp_lambda * ((norms - 1) ** 2).mean()


LOSSES = {
    "bce": (bce_d_loss, bce_g_loss),
    "minimax": (bce_d_loss, saturating_g_loss),
    "lsgan": (lsgan_d_loss, lsgan_g_loss),
    "wasserstein": (wasserstein_critic_loss, wasserstein_g_loss),
}


def get(name: str):
    """``(d_loss, g_loss)`` for a loss family: 'bce' (non-saturating G), 'minimax', 'lsgan' or
    'wasserstein' (the critic's and the generator's)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; use one of {sorted(LOSSES)}") from None
