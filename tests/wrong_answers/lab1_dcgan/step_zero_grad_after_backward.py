# cell: step_solution
# Zeroes the gradients between backward and step instead of before backward: the optimisers step with nothing.
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    d_loss = d_loss_fn(disc(real), disc(fake.detach()))
    d_loss.backward()
    opt_d.zero_grad()
    opt_d.step()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.zero_grad()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
