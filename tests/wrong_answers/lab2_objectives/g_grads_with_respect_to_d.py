# cell: g_grads_solution
# derivatives with respect to D = sigmoid(l) instead of the logit: -1/(1 - D) and -1/D
def minimax_g_grad(fake_logits):
    return -1 / (1 - torch.sigmoid(fake_logits))


def nonsaturating_g_grad(fake_logits):
    return -1 / torch.sigmoid(fake_logits)
