# cell: step_solution
# Runs D once on the real and fake batches concatenated: batch norm then mixes their statistics.
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    opt_d.zero_grad()
    logits = disc(torch.cat([real, fake.detach()]))
    d_loss = d_loss_fn(logits[: len(real)], logits[len(real) :])
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
