# cell: g_grads_solution
# the gradients with the sign flipped (the direction of ascent, not of the loss's derivative)
def minimax_g_grad(fake_logits):
    return torch.sigmoid(fake_logits)


def nonsaturating_g_grad(fake_logits):
    return 1 - torch.sigmoid(fake_logits)
