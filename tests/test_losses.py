import math

import pytest
import torch

from labutils import losses


def test_bce_losses_at_zero_logits_are_the_equilibrium_values():
    z = torch.zeros(7)
    assert losses.bce_d_loss(z, z).item() == pytest.approx(2 * math.log(2))
    assert losses.bce_g_loss(z).item() == pytest.approx(math.log(2))
    assert losses.saturating_g_loss(z).item() == pytest.approx(-math.log(2))


def test_bce_losses_against_hand_computed_values():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    want_d = -(math.log(sig(2)) + math.log(sig(-1))) / 2 - (math.log(1 - sig(0.5)) + math.log(1 - sig(-3))) / 2
    want_g = -(math.log(sig(0.5)) + math.log(sig(-3))) / 2
    assert losses.bce_d_loss(real, fake).item() == pytest.approx(want_d, rel=1e-6)
    assert losses.bce_g_loss(fake).item() == pytest.approx(want_g, rel=1e-6)
    want_sat = (math.log(1 - sig(0.5)) + math.log(1 - sig(-3))) / 2
    assert losses.saturating_g_loss(fake).item() == pytest.approx(want_sat, rel=1e-6)


def test_least_squares_losses_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    assert losses.lsgan_d_loss(real, fake).item() == pytest.approx(0.5 * (0 + 4) / 2 + 0.5 * (0 + 4) / 2)
    assert losses.lsgan_g_loss(fake).item() == pytest.approx(0.5 * (1 + 9) / 2)


def test_losses_are_finite_for_extreme_logits():
    ext = torch.tensor([-200.0, 200.0])
    for value in (losses.bce_d_loss(ext, ext), losses.bce_g_loss(ext), losses.saturating_g_loss(ext)):
        assert torch.isfinite(value)


def test_gradient_of_the_two_generator_losses_wrt_the_logit():
    # non-saturating: d/dl [-log sigma(l)] = sigma(l) - 1; minimax: d/dl log(1 - sigma(l)) = -sigma(l)
    logit = torch.tensor([-6.0, 0.0, 6.0], requires_grad=True)
    (g_ns,) = torch.autograd.grad(losses.bce_g_loss(logit) * 3, logit)
    (g_sat,) = torch.autograd.grad(losses.saturating_g_loss(logit) * 3, logit)
    s = torch.sigmoid(logit.detach())
    assert torch.allclose(g_ns, s - 1)
    assert torch.allclose(g_sat, -s)
    assert g_sat[0].abs() < 0.01 < g_ns[0].abs()  # where D rejects the fake, only one still has a gradient


def test_bad_input_is_rejected():
    with pytest.raises(TypeError, match="Tensor"):
        losses.bce_g_loss([0.0, 1.0])
    with pytest.raises(TypeError, match="floating"):
        losses.bce_g_loss(torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("hinge2")
