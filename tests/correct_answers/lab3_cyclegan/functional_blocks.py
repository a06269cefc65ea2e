# cell: generator_solution
# helper functions that build the layer groups; the residual block adds in forward
def conv_in_relu(c_in, c_out, transposed=False):
    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    return [conv(c_in, c_out, 4, 2, 1, bias=False), nn.InstanceNorm2d(c_out, affine=True), nn.ReLU()]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        c = channels
        self.f = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.InstanceNorm2d(c, affine=True), nn.ReLU(),
                               nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return torch.add(x, self.f(x))


class CycleGenerator(nn.Module):
    def __init__(self, ngf: int = 32, n_res: int = 2):
        super().__init__()
        blocks = [ResidualBlock(2 * ngf) for _ in range(n_res)]
        self.net = nn.Sequential(
            *conv_in_relu(3, ngf), *conv_in_relu(ngf, 2 * ngf), *blocks,
            *conv_in_relu(2 * ngf, ngf, transposed=True),
            nn.ConvTranspose2d(ngf, 3, kernel_size=4, stride=2, padding=1), nn.Tanh(),
        )

    def forward(self, x):
        out = self.net(x)
        return out

# cell: discriminator_solution
# nn.Sequential with a helper for the norm blocks; LeakyReLU without inplace
def down(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.InstanceNorm2d(c_out, affine=True), nn.LeakyReLU(negative_slope=0.2))


class PatchDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.first = nn.Sequential(nn.Conv2d(3, ndf, 4, 2, 1, bias=True), nn.LeakyReLU(0.2))
        self.mid = nn.Sequential(down(ndf, ndf * 2), down(ndf * 2, ndf * 4))
        self.head = nn.Conv2d(ndf * 4, 1, 3, padding=1)

    def forward(self, x):
        return self.head(self.mid(self.first(x)))

# cell: losses_solution
# pow and a shared L1 helper
def _l1(a, b):
    return (a - b).abs().mean()


def ls_d_loss(real_logits, fake_logits):
    return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def ls_g_loss(fake_logits):
    return (fake_logits - 1).pow(2).mean() * 0.5


def cycle_loss(real, reconstructed):
    return _l1(real, reconstructed)


def identity_loss(real, same):
    return _l1(real, same)

# cell: step_solution
# torch.no_grad-free freezing with a context manager of its own; module.zero_grad()
import contextlib


@contextlib.contextmanager
def frozen(*nets):
    params = [p for n in nets for p in n.parameters()]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def cyclegan_step(g_xy, g_yx, d_x, d_y, opt_g, opt_d, x, y, *, lambda_cycle, lambda_identity,
                  d_loss_fn, g_loss_fn, cycle_loss_fn, identity_loss_fn):
    fake_y = g_xy(x)
    fake_x = g_yx(y)
    with frozen(d_x, d_y):
        g_xy.zero_grad()
        g_yx.zero_grad()
        adversarial = g_loss_fn(d_y(fake_y)) + g_loss_fn(d_x(fake_x))
        cycle = cycle_loss_fn(x, g_yx(fake_y)) + cycle_loss_fn(y, g_xy(fake_x))
        total = adversarial + cycle * lambda_cycle
        identity = x.new_zeros(())
        if lambda_identity > 0:
            identity = identity_loss_fn(y, g_xy(y)) + identity_loss_fn(x, g_yx(x))
            total = total + identity * lambda_identity
        total.backward()
        opt_g.step()
    d_x.zero_grad()
    d_y.zero_grad()
    loss_dx = d_loss_fn(d_x(x), d_x(fake_x.detach()))
    loss_dy = d_loss_fn(d_y(y), d_y(fake_y.detach()))
    (loss_dx + loss_dy).backward()
    opt_d.step()
    return {"G": adversarial.detach(), "cycle": cycle.detach(), "identity": identity.detach(), "D_X": loss_dx.detach(), "D_Y": loss_dy.detach()}
