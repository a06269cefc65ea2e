# cell: generator_solution
# an OrderedDict, nn.Unflatten inside the Sequential
from collections import OrderedDict


class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.layers = nn.Sequential(OrderedDict([
            ("project", nn.Linear(nz, 2 * ngf * 7 * 7, bias=False)),
            ("bn0", nn.BatchNorm1d(2 * ngf * 7 * 7)),
            ("relu0", nn.ReLU(inplace=True)),
            ("reshape", nn.Unflatten(1, (2 * ngf, 7, 7))),
            ("up1", nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False)),
            ("bn1", nn.BatchNorm2d(ngf)),
            ("relu1", nn.ReLU(inplace=True)),
            ("up2", nn.ConvTranspose2d(ngf, 1, 4, 2, 1)),
            ("tanh", nn.Tanh()),
        ]))

    def forward(self, z):
        return self.layers(z)

# cell: critic_solution
# an OrderedDict, squeezed with [:, 0, 0, 0]
from collections import OrderedDict  # noqa: F811 (each block is its own cell)


class Critic(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.main = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(1, ndf, kernel_size=4, stride=2, padding=1, bias=True)),
            ("a1", nn.LeakyReLU(negative_slope=0.2, inplace=True)),
            ("c2", nn.Conv2d(ndf, 2 * ndf, kernel_size=4, stride=2, padding=1, bias=True)),
            ("a2", nn.LeakyReLU(negative_slope=0.2, inplace=True)),
            ("c3", nn.Conv2d(2 * ndf, 1, kernel_size=7, stride=1, padding=0, bias=True)),
        ]))

    def forward(self, x):
        return self.main(x)[:, 0, 0, 0]

# cell: losses_solution
# torch.mean and a negated difference
def critic_loss(real_scores, fake_scores):
    return -(torch.mean(real_scores) - torch.mean(fake_scores))


def generator_loss(fake_scores):
    return torch.mean(-fake_scores)

# cell: clip_solution
# copy_ of the clamped values
def clip_weights(critic, clip_value):
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.clamp(p, -clip_value, clip_value))

# cell: penalty_solution
# torch.lerp for the interpolates, grad_outputs of ones, sqrt of the sum of squares
def gradient_penalty(critic, real, fake, gp_lambda=10.0):
    b = real.size(0)
    alpha = torch.rand(b, 1, 1, 1, device=real.device).to(real.dtype).expand_as(real)
    interp = torch.lerp(fake.detach(), real.detach(), alpha).requires_grad_(True)
    out = critic(interp)
    (g,) = torch.autograd.grad(out, interp, grad_outputs=torch.ones_like(out), create_graph=True)
    norm = torch.sqrt((g.view(b, -1) ** 2).sum(dim=1))
    return gp_lambda * ((norm - 1) ** 2).mean()

# cell: step_solution
# the critic frozen (requires_grad off) during the generator's update; the critic's gradients zeroed by hand
def wgan_step(gen, critic, opt_g, opt_c, next_real, next_z, n_critic=5, clip_value=None, gp_lambda=0.0):
    for _ in range(n_critic):
        x = next_real()
        with torch.no_grad():
            fx = gen(next_z())
        for p in critic.parameters():
            p.grad = None
        sr, sf = critic(x), critic(fx)
        loss = critic_loss(sr, sf)
        if gp_lambda > 0:
            loss = loss + gradient_penalty(critic, x, fx, gp_lambda)
        loss.backward()
        opt_c.step()
        if clip_value is not None:
            clip_weights(critic, clip_value)
    for p in critic.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad()
    g_loss = generator_loss(critic(gen(next_z())))
    g_loss.backward()
    opt_g.step()
    for p in critic.parameters():
        p.requires_grad_(True)
    return {"critic": loss.detach(), "G": g_loss.detach(), "W": (sr.mean() - sf.mean()).detach()}
