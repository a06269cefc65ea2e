# cell: losses_solution
# the critic's loss with the wrong sign: it learns to score fakes above real images
def critic_loss(real_scores, fake_scores):
    return real_scores.mean() - fake_scores.mean()


def generator_loss(fake_scores):
    return -fake_scores.mean()
