# cell: g_losses_solution
# sigmoid applied to the logits, then BCE-with-logits applies it a second time
def minimax_g_loss(fake_logits):
    d = torch.sigmoid(fake_logits)
    return -F.softplus(d).mean()


def nonsaturating_g_loss(fake_logits):
    d = torch.sigmoid(fake_logits)
    return F.binary_cross_entropy_with_logits(d, torch.ones_like(d))
