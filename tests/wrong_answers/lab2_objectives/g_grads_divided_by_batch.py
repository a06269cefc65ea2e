# cell: g_grads_solution
# the gradient of the batch mean (divided by the number of logits), not the per-sample one
def minimax_g_grad(fake_logits):
    return -torch.sigmoid(fake_logits) / fake_logits.numel()


def nonsaturating_g_grad(fake_logits):
    return (torch.sigmoid(fake_logits) - 1) / fake_logits.numel()
