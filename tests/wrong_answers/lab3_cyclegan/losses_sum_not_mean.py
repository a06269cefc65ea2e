# cell: losses_solution
# the L1 losses summed over pixels instead of averaged
def ls_d_loss(real_logits, fake_logits):
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()


def ls_g_loss(fake_logits):
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def cycle_loss(real, reconstructed):
    return (real - reconstructed).abs().sum() / real.shape[0]


def identity_loss(real, same):
    return (real - same).abs().sum() / real.shape[0]
