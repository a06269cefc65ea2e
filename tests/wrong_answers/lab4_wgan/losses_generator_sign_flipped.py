# cell: losses_solution
# the generator minimises mean f(G(z)): it lowers its own score
def critic_loss(real_scores, fake_scores):
    return fake_scores.mean() - real_scores.mean()


def generator_loss(fake_scores):
    return fake_scores.mean()
