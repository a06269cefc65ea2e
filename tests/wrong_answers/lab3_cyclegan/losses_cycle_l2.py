# cell: losses_solution
# the cycle and identity losses as mean squared error instead of L1
def ls_d_loss(real_logits, fake_logits):
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()


def ls_g_loss(fake_logits):
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def cycle_loss(real, reconstructed):
    return ((real - reconstructed) ** 2).mean()


def identity_loss(real, same):
    return ((real - same) ** 2).mean()
