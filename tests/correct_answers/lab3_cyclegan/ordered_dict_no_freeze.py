# cell: generator_solution
# OrderedDict-named Sequentials, the blocks built in a loop with add_module
from collections import OrderedDict


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(channels, channels, 3, padding=1, bias=False)),
            ("in1", nn.InstanceNorm2d(channels, affine=True)),
            ("relu", nn.ReLU(inplace=True)),
            ("conv2", nn.Conv2d(channels, channels, 3, padding=1, bias=False)),
            ("in2", nn.InstanceNorm2d(channels, affine=True)),
        ]))

    def forward(self, x):
        residual = x
        out = self.body(x)
        out += residual
        return out


class CycleGenerator(nn.Module):
    def __init__(self, ngf: int = 32, n_res: int = 2):
        super().__init__()
        self.encoder = nn.Sequential(OrderedDict([
            ("down1", nn.Conv2d(3, ngf, 4, 2, 1, bias=False)), ("in1", nn.InstanceNorm2d(ngf, affine=True)), ("relu1", nn.ReLU(True)),
            ("down2", nn.Conv2d(ngf, 2 * ngf, 4, 2, 1, bias=False)), ("in2", nn.InstanceNorm2d(2 * ngf, affine=True)), ("relu2", nn.ReLU(True)),
        ]))
        self.transform = nn.Sequential()
        for i in range(n_res):
            self.transform.add_module(f"res{i}", ResidualBlock(2 * ngf))
        self.decoder = nn.Sequential(OrderedDict([
            ("up1", nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False)), ("in3", nn.InstanceNorm2d(ngf, affine=True)), ("relu3", nn.ReLU(True)),
            ("up2", nn.ConvTranspose2d(ngf, 3, 4, 2, 1)), ("tanh", nn.Tanh()),
        ]))

    def forward(self, x):
        return self.decoder(self.transform(self.encoder(x)))

# cell: discriminator_solution
# a list of blocks built in a loop
class PatchDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        layers = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        ch = ndf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.InstanceNorm2d(ch * 2, affine=True), nn.LeakyReLU(0.2, inplace=True)]
            ch *= 2
        layers.append(nn.Conv2d(ch, 1, kernel_size=3, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, img):
        return self.model(img)

# cell: losses_solution
# torch.mean / torch.abs / torch.square
def ls_d_loss(real_logits, fake_logits):
    return torch.mean(torch.square(real_logits - 1)) / 2 + torch.mean(torch.square(fake_logits)) / 2


def ls_g_loss(fake_logits):
    return torch.mean(torch.square(fake_logits - 1)) / 2


def cycle_loss(real, reconstructed):
    return torch.mean(torch.abs(real - reconstructed))


def identity_loss(real, same):
    return torch.mean(torch.abs(same - real))

# cell: step_solution
# does not freeze the discriminators, but zeroes their gradients before their own backward
def cyclegan_step(g_xy, g_yx, d_x, d_y, opt_g, opt_d, x, y, *, lambda_cycle, lambda_identity,
                  d_loss_fn, g_loss_fn, cycle_loss_fn, identity_loss_fn):
    fake_y, fake_x = g_xy(x), g_yx(y)
    rec_x, rec_y = g_yx(fake_y), g_xy(fake_x)
    g_adv = g_loss_fn(d_y(fake_y)) + g_loss_fn(d_x(fake_x))
    g_cyc = cycle_loss_fn(x, rec_x) + cycle_loss_fn(y, rec_y)
    if lambda_identity > 0:
        g_idt = identity_loss_fn(y, g_xy(y)) + identity_loss_fn(x, g_yx(x))
    else:
        g_idt = torch.zeros((), device=x.device)
    opt_g.zero_grad()
    (g_adv + lambda_cycle * g_cyc + lambda_identity * g_idt).backward()
    opt_g.step()

    opt_d.zero_grad()
    d_x_loss = d_loss_fn(d_x(x), d_x(fake_x.detach()))
    d_y_loss = d_loss_fn(d_y(y), d_y(fake_y.detach()))
    (d_x_loss + d_y_loss).backward()
    opt_d.step()
    return dict(G=g_adv.detach(), cycle=g_cyc.detach(), identity=g_idt.detach(), D_X=d_x_loss.detach(), D_Y=d_y_loss.detach())
