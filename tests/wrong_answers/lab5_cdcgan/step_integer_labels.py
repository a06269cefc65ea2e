# cell: step_solution
# the class indices passed straight to the networks, where one-hot labels are specified
def cgan_step(gen, disc, opt_g, opt_d, real, real_labels, z, fake_labels, d_loss_fn=losses.bce_d_loss,
              g_loss_fn=losses.bce_g_loss, n_classes=10):
    fake = gen(z, fake_labels)
    opt_d.zero_grad()
    d_loss = d_loss_fn(disc(real, real_labels), disc(fake.detach(), fake_labels))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = g_loss_fn(disc(fake, fake_labels))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
