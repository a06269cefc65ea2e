# cell: generator_solution
# y before z; the layers in a ModuleList looped over; the input viewed with reshape
class ConditionalGenerator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32, n_classes: int = 10):
        super().__init__()
        self.nz, self.n_classes = nz, n_classes
        self.layers = nn.ModuleList([
            nn.ConvTranspose2d(n_classes + nz, 2 * ngf, 7, 1, 0, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1),
        ])

    def forward(self, z, y):
        h = torch.cat((y, z), 1).reshape(z.shape[0], -1, 1, 1)
        for layer in self.layers:
            h = layer(h)
        return torch.tanh(h)

# cell: discriminator_solution
# the maps before the image, made by broadcasting y against a tensor of ones
class ConditionalDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32, n_classes: int = 10):
        super().__init__()
        self.n_classes = n_classes
        self.c1 = nn.Conv2d(n_classes + 1, ndf, 4, 2, 1, bias=False)
        self.c2 = nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(2 * ndf)
        self.c3 = nn.Conv2d(2 * ndf, 1, 7, 1, 0)

    def forward(self, x, y):
        maps = y.view(y.shape[0], -1, 1, 1) * torch.ones_like(x)  # (B, n_classes, 28, 28)
        h = F.leaky_relu(self.c1(torch.cat([maps, x], dim=1)), 0.2)
        h = F.leaky_relu(self.bn(self.c2(h)), 0.2)
        return self.c3(h).view(-1)

# cell: step_solution
# torch.nn.functional.one_hot; the generator's forward pass redone for its own update
def cgan_step(gen, disc, opt_g, opt_d, real, real_labels, z, fake_labels, d_loss_fn=losses.bce_d_loss,
              g_loss_fn=losses.bce_g_loss, n_classes=10):
    y_real = F.one_hot(real_labels, n_classes).float()
    y_fake = F.one_hot(fake_labels, n_classes).float()
    with torch.no_grad():
        fake = gen(z, y_fake)
    d_loss = d_loss_fn(disc(real, y_real), disc(fake, y_fake))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_fn(disc(gen(z, y_fake), y_fake))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
