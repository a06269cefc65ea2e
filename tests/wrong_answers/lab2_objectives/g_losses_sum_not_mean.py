# cell: g_losses_solution
# a sum over the batch instead of a mean (the loss, and its gradient, grow with the batch size)
def minimax_g_loss(fake_logits):
    return -F.softplus(fake_logits).sum()


def nonsaturating_g_loss(fake_logits):
    return F.softplus(-fake_logits).sum()
