# cell: step_solution
# No fake.detach() in the D step and one zero_grad for both at the start: D's loss leaks into G's update (retain_graph to silence the error).
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    opt_d.zero_grad()
    opt_g.zero_grad()
    fake = gen(z)
    d_loss = d_loss_fn(disc(real), disc(fake))
    d_loss.backward(retain_graph=True)
    opt_d.step()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
