# cell: g_losses_solution
# log of a sigmoid computed literally: right near 0, -inf or 0 in float32 once |logit| passes about 17
def minimax_g_loss(fake_logits):
    return torch.log(1 - torch.sigmoid(fake_logits)).mean()


def nonsaturating_g_loss(fake_logits):
    return -torch.log(torch.sigmoid(fake_logits)).mean()
