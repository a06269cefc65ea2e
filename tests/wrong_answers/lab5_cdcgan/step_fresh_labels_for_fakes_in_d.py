# cell: step_solution
# D scores the fakes with freshly drawn labels, not the ones they were generated for
def cgan_step(gen, disc, opt_g, opt_d, real, real_labels, z, fake_labels, d_loss_fn=losses.bce_d_loss,
              g_loss_fn=losses.bce_g_loss, n_classes=10):
    y_real, y_fake = one_hot(real_labels, n_classes), one_hot(fake_labels, n_classes)
    fake = gen(z, y_fake)
    opt_d.zero_grad()
    other = one_hot(torch.randint(n_classes, fake_labels.shape), n_classes)
    d_loss = d_loss_fn(disc(real, y_real), disc(fake.detach(), other))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = g_loss_fn(disc(fake, y_fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
