# cell: step_solution
# Zeroes D's gradients before its backward but forgets G's: G steps with its old gradients added.
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    opt_d.zero_grad()
    d_loss = d_loss_fn(disc(real), disc(fake.detach()))
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
