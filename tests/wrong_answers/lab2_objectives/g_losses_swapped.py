# cell: g_losses_solution
# the two losses swapped
def minimax_g_loss(fake_logits):
    return F.softplus(-fake_logits).mean()


def nonsaturating_g_loss(fake_logits):
    return -F.softplus(fake_logits).mean()
