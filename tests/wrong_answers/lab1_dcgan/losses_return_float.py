# cell: losses_solution
# Returns Python floats (.item()): the right numbers, but nothing to call backward() on.
def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return (real + fake).item()


def bce_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)).item()


def ls_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return (0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()).item()


def ls_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return (0.5 * ((fake_logits - 1) ** 2).mean()).item()
