# cell: g_grads_solution
# the right formulas, but reduced to one mean value instead of one per logit
def minimax_g_grad(fake_logits):
    return (-torch.sigmoid(fake_logits)).mean()


def nonsaturating_g_grad(fake_logits):
    return (torch.sigmoid(fake_logits) - 1).mean()
