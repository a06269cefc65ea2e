# cell: generator_solution
# named layers and a functional forward (F.relu); residual blocks in an nn.ModuleList
class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv_a = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm_a = nn.InstanceNorm2d(channels, affine=True)
        self.conv_b = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm_b = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x):
        h = F.relu(self.norm_a(self.conv_a(x)))
        h = self.norm_b(self.conv_b(h))
        return h + x


class CycleGenerator(nn.Module):
    def __init__(self, ngf: int = 32, n_res: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, ngf, 4, stride=2, padding=1, bias=False)
        self.norm1 = nn.InstanceNorm2d(ngf, affine=True)
        self.conv2 = nn.Conv2d(ngf, ngf * 2, 4, stride=2, padding=1, bias=False)
        self.norm2 = nn.InstanceNorm2d(ngf * 2, affine=True)
        self.blocks = nn.ModuleList([ResidualBlock(ngf * 2) for _ in range(n_res)])
        self.deconv1 = nn.ConvTranspose2d(ngf * 2, ngf, 4, stride=2, padding=1, bias=False)
        self.norm3 = nn.InstanceNorm2d(ngf, affine=True)
        self.deconv2 = nn.ConvTranspose2d(ngf, 3, 4, stride=2, padding=1, bias=True)

    def forward(self, x):
        h = F.relu(self.norm1(self.conv1(x)))
        h = F.relu(self.norm2(self.conv2(h)))
        for block in self.blocks:
            h = block(h)
        h = F.relu(self.norm3(self.deconv1(h)))
        return torch.tanh(self.deconv2(h))

# cell: discriminator_solution
# named layers, F.leaky_relu in forward
class PatchDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.c1 = nn.Conv2d(3, ndf, 4, 2, 1)
        self.c2 = nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False)
        self.n2 = nn.InstanceNorm2d(2 * ndf, affine=True)
        self.c3 = nn.Conv2d(2 * ndf, 4 * ndf, 4, 2, 1, bias=False)
        self.n3 = nn.InstanceNorm2d(4 * ndf, affine=True)
        self.c4 = nn.Conv2d(4 * ndf, 1, 3, 1, 1)

    def forward(self, x):
        h = F.leaky_relu(self.c1(x), negative_slope=0.2)
        h = F.leaky_relu(self.n2(self.c2(h)), negative_slope=0.2)
        h = F.leaky_relu(self.n3(self.c3(h)), negative_slope=0.2)
        return self.c4(h)

# cell: losses_solution
# through torch.nn.functional: mse_loss and l1_loss
def ls_d_loss(real_logits, fake_logits):
    real = F.mse_loss(real_logits, torch.ones_like(real_logits))
    fake = F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)


def ls_g_loss(fake_logits):
    return 0.5 * F.mse_loss(fake_logits, torch.ones_like(fake_logits))


def cycle_loss(real, reconstructed):
    return F.l1_loss(reconstructed, real)


def identity_loss(real, same):
    return F.l1_loss(same, real)

# cell: step_solution
# a helper to freeze, zero_grad(set_to_none=False), separate terms
def set_requires_grad(nets, flag):
    for net in nets:
        for p in net.parameters():
            p.requires_grad = flag


def cyclegan_step(g_xy, g_yx, d_x, d_y, opt_g, opt_d, x, y, *, lambda_cycle, lambda_identity,
                  d_loss_fn, g_loss_fn, cycle_loss_fn, identity_loss_fn):
    fake_y = g_xy(x)
    fake_x = g_yx(y)
    set_requires_grad([d_x, d_y], False)
    opt_g.zero_grad(set_to_none=False)
    adv_y = g_loss_fn(d_y(fake_y))
    adv_x = g_loss_fn(d_x(fake_x))
    cyc_x = cycle_loss_fn(x, g_yx(fake_y))
    cyc_y = cycle_loss_fn(y, g_xy(fake_x))
    loss = adv_y + adv_x + lambda_cycle * (cyc_x + cyc_y)
    identity = torch.tensor(0.0, device=x.device)
    if lambda_identity > 0:
        identity = identity_loss_fn(y, g_xy(y)) + identity_loss_fn(x, g_yx(x))
        loss = loss + lambda_identity * identity
    loss.backward()
    opt_g.step()
    set_requires_grad([d_x, d_y], True)

    opt_d.zero_grad(set_to_none=False)
    loss_dx = d_loss_fn(d_x(x), d_x(fake_x.detach()))
    loss_dy = d_loss_fn(d_y(y), d_y(fake_y.detach()))
    (loss_dx + loss_dy).backward()
    opt_d.step()
    return {"G": (adv_y + adv_x).detach(), "cycle": (cyc_x + cyc_y).detach(),
            "identity": identity.detach(), "D_X": loss_dx.detach(), "D_Y": loss_dy.detach()}
