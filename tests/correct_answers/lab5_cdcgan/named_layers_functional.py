# cell: generator_solution
# named layers, functional activations, torch.hstack and unsqueeze
class ConditionalGenerator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32, n_classes: int = 10):
        super().__init__()
        self.nz = nz
        self.n_classes = n_classes
        self.up1 = nn.ConvTranspose2d(nz + n_classes, ngf * 2, kernel_size=7, stride=1, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(ngf * 2)
        self.up2 = nn.ConvTranspose2d(ngf * 2, ngf, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ngf)
        self.up3 = nn.ConvTranspose2d(ngf, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z, y):
        h = torch.hstack([z, y]).unsqueeze(-1).unsqueeze(-1)
        h = F.relu(self.bn1(self.up1(h)))
        h = F.relu(self.bn2(self.up2(h)))
        return torch.tanh(self.up3(h))

# cell: discriminator_solution
# repeat instead of expand; flatten through view
class ConditionalDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32, n_classes: int = 10):
        super().__init__()
        self.n_classes = n_classes
        self.features = nn.Sequential(
            nn.Conv2d(1 + n_classes, ndf, kernel_size=4, stride=2, padding=1, bias=False),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(ndf, 2 * ndf, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
        )
        self.head = nn.Conv2d(2 * ndf, 1, kernel_size=7)

    def forward(self, x, y):
        maps = y.unsqueeze(2).unsqueeze(3).repeat(1, 1, x.size(2), x.size(3))
        out = self.head(self.features(torch.cat((x, maps), 1)))
        return out.view(out.size(0))

# cell: step_solution
# one-hot through an identity matrix; the networks' own zero_grad
def cgan_step(gen, disc, opt_g, opt_d, real, real_labels, z, fake_labels, d_loss_fn=losses.bce_d_loss,
              g_loss_fn=losses.bce_g_loss, n_classes=10):
    eye = torch.eye(n_classes, device=real.device)
    y_real, y_fake = eye[real_labels], eye[fake_labels]
    fake = gen(z, y_fake)
    disc.zero_grad()
    real_logits = disc(real, y_real)
    fake_logits = disc(fake.detach(), y_fake)
    d_loss = d_loss_fn(real_logits, fake_logits)
    d_loss.backward()
    opt_d.step()
    gen.zero_grad()
    g_loss = g_loss_fn(disc(fake, y_fake))
    g_loss.backward()
    opt_g.step()
    return (d_loss.detach(), g_loss.detach())
