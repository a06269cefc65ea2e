# cell: losses_solution
# the Wasserstein losses on sigmoid(scores), as if they were probabilities
def critic_loss(real_scores, fake_scores):
    return torch.sigmoid(fake_scores).mean() - torch.sigmoid(real_scores).mean()


def generator_loss(fake_scores):
    return -torch.sigmoid(fake_scores).mean()
