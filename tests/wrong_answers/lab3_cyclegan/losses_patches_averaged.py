# cell: losses_solution
# averages each image's patch grid before the least-squares loss
def _per_image(logits):
    return logits.flatten(1).mean(1) if logits.dim() > 1 else logits


def ls_d_loss(real_logits, fake_logits):
    return 0.5 * ((_per_image(real_logits) - 1) ** 2).mean() + 0.5 * (_per_image(fake_logits) ** 2).mean()


def ls_g_loss(fake_logits):
    return 0.5 * ((_per_image(fake_logits) - 1) ** 2).mean()


def cycle_loss(real, reconstructed):
    return (real - reconstructed).abs().mean()


def identity_loss(real, same):
    return (real - same).abs().mean()
