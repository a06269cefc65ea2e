# cell: step_solution
# Computes both losses and backward passes first, then steps D and G: G's gradient comes from the D before its update.
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    opt_g.zero_grad()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_d.zero_grad()
    d_loss = d_loss_fn(disc(real), disc(fake.detach()))
    d_loss.backward()
    opt_d.step()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
