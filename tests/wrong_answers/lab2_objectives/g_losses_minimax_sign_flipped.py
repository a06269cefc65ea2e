# cell: g_losses_solution
# the minimax loss written as -log(1 - D): the sign of the game's term flipped (G would push D(G(z)) down)
def minimax_g_loss(fake_logits):
    return F.softplus(fake_logits).mean()


def nonsaturating_g_loss(fake_logits):
    return F.softplus(-fake_logits).mean()
