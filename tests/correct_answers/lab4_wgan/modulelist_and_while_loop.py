# cell: generator_solution
# a ModuleList looped over; the projection viewed with reshape
class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.c = 2 * ngf
        self.lin = nn.Linear(nz, self.c * 7 * 7, bias=False)
        self.norm = nn.BatchNorm1d(self.c * 7 * 7)
        self.blocks = nn.ModuleList([
            nn.ConvTranspose2d(self.c, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1),
        ])

    def forward(self, z):
        h = torch.relu(self.norm(self.lin(z))).reshape(z.shape[0], self.c, 7, 7)
        for layer in self.blocks:
            h = layer(h)
        return h.tanh()

# cell: critic_solution
# a ModuleList; squeeze of the trailing dimensions
class Critic(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(1, ndf, 4, 2, 1), nn.Conv2d(ndf, 2 * ndf, 4, 2, 1)])
        self.head = nn.Conv2d(2 * ndf, 1, 7, 1, 0)

    def forward(self, x):
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return self.head(x).squeeze(3).squeeze(2).squeeze(1)

# cell: losses_solution
# torch.mean over flattened scores
def critic_loss(real_scores, fake_scores):
    return torch.mean(fake_scores.flatten()) - torch.mean(real_scores.flatten())


def generator_loss(fake_scores):
    return -torch.mean(fake_scores.reshape(-1))

# cell: clip_solution
# nn.utils' parameters_to_vector is not in place; clamp each with torch.clamp_(out=...)
def clip_weights(critic, clip_value):
    for p in critic.parameters():
        with torch.no_grad():
            torch.clamp(p, -clip_value, clip_value, out=p)

# cell: penalty_solution
# the norm through .norm(dim=(1, 2, 3)), eps from torch.empty().uniform_()
def gradient_penalty(critic, real, fake, gp_lambda=10.0):
    eps = torch.empty(real.shape[0], 1, 1, 1, dtype=real.dtype, device=real.device).uniform_(0, 1)
    mixed = eps * real + (1 - eps) * fake
    mixed = mixed.detach().requires_grad_(True)
    grad = torch.autograd.grad(critic(mixed).sum(), [mixed], create_graph=True)[0]
    return gp_lambda * (grad.norm(2, dim=(1, 2, 3)) - 1).pow(2).mean()

# cell: step_solution
# a while loop; the penalty added only when asked; a tuple-unpacked result dict
def wgan_step(gen, critic, opt_g, opt_c, next_real, next_z, n_critic=5, clip_value=None, gp_lambda=0.0):
    k = 0
    while k < n_critic:
        real = next_real()
        fake = gen(next_z()).detach()
        real_scores = critic(real)
        fake_scores = critic(fake)
        total = critic_loss(real_scores, fake_scores)
        if gp_lambda and gp_lambda > 0:
            total = total + gradient_penalty(critic, real, fake, gp_lambda=gp_lambda)
        opt_c.zero_grad()
        total.backward()
        opt_c.step()
        if clip_value is not None:
            clip_weights(critic, clip_value=clip_value)
        k += 1
    z = next_z()
    opt_g.zero_grad()
    fake_scores_g = critic(gen(z))
    gl = generator_loss(fake_scores_g)
    gl.backward()
    opt_g.step()
    names, values = ("critic", "G", "W"), (total, gl, real_scores.mean() - fake_scores.mean())
    return {n: v.detach() for n, v in zip(names, values)}
