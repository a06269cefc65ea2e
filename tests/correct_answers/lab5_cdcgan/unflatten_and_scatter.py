# cell: generator_solution
# nn.Unflatten inside the Sequential
class ConditionalGenerator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32, n_classes: int = 10):
        super().__init__()
        self.nz, self.n_classes = nz, n_classes
        self.main = nn.Sequential(
            nn.Unflatten(1, (nz + n_classes, 1, 1)),
            nn.ConvTranspose2d(nz + n_classes, 2 * ngf, 7, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=True),
            nn.Tanh(),
        )

    def forward(self, z, y):
        return self.main(torch.cat([z, y.to(z.dtype)], dim=-1))

# cell: discriminator_solution
# maps by multiplying y with a ones image of the input's size; squeeze of the trailing dimensions
class ConditionalDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32, n_classes: int = 10):
        super().__init__()
        self.n_classes = n_classes
        self.main = nn.Sequential(
            nn.Conv2d(1 + n_classes, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=True),
        )

    def forward(self, x, y):
        ones = x.new_ones(x.shape[0], 1, x.shape[2], x.shape[3])
        maps = y[:, :, None, None] * ones
        return self.main(torch.cat([x, maps], 1)).squeeze(3).squeeze(2).squeeze(1)

# cell: step_solution
# one-hot by scatter_; zero_grad with set_to_none=False; the losses cloned
def cgan_step(gen, disc, opt_g, opt_d, real, real_labels, z, fake_labels, d_loss_fn=losses.bce_d_loss,
              g_loss_fn=losses.bce_g_loss, n_classes=10):
    def onehot(lab):
        return torch.zeros(len(lab), n_classes, device=lab.device).scatter_(1, lab[:, None], 1.0)

    y_real, y_fake = onehot(real_labels), onehot(fake_labels)
    fake = gen(z, y_fake)
    opt_d.zero_grad(set_to_none=False)
    d_loss = d_loss_fn(disc(real, y_real), disc(fake.detach(), y_fake))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=False)
    g_loss = g_loss_fn(disc(fake, y_fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach().clone(), g_loss.detach().clone()
