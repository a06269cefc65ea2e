# cell: g_losses_solution
# a mean over the batch dimension only: (B, 1) logits give a (1,) tensor, (B, k) give (k,)
def minimax_g_loss(fake_logits):
    return -F.softplus(fake_logits).mean(dim=0)


def nonsaturating_g_loss(fake_logits):
    return F.softplus(-fake_logits).mean(dim=0)
