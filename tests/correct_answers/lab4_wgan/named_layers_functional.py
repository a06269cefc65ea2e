# cell: generator_solution
# named layers and a functional forward; unflatten instead of view
class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz, self.ngf = nz, ngf
        self.fc = nn.Linear(nz, ngf * 2 * 49, bias=False)
        self.bn0 = nn.BatchNorm1d(ngf * 2 * 49)
        self.up1 = nn.ConvTranspose2d(ngf * 2, ngf, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(ngf)
        self.up2 = nn.ConvTranspose2d(ngf, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z))).unflatten(1, (self.ngf * 2, 7, 7))
        h = F.relu(self.bn1(self.up1(h)))
        return torch.tanh(self.up2(h))

# cell: critic_solution
# named layers, F.leaky_relu, the score squeezed with view(-1)
class Critic(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, ndf, 4, 2, 1)
        self.conv2 = nn.Conv2d(ndf, ndf * 2, 4, 2, 1)
        self.out = nn.Conv2d(ndf * 2, 1, 7)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.conv2(h), negative_slope=0.2)
        return self.out(h).view(-1)

# cell: losses_solution
# means written as sums over numel
def critic_loss(real_scores, fake_scores):
    return fake_scores.sum() / fake_scores.numel() - real_scores.sum() / real_scores.numel()


def generator_loss(fake_scores):
    return -(fake_scores.sum() / fake_scores.numel())

# cell: clip_solution
# through .data
def clip_weights(critic, clip_value):
    for p in critic.parameters():
        p.data.clamp_(min=-clip_value, max=clip_value)

# cell: penalty_solution
# fake + eps (real - fake), rand_like for the epsilons, the norm with torch.linalg.vector_norm
def gradient_penalty(critic, real, fake, gp_lambda=10.0):
    real, fake = real.detach(), fake.detach()
    eps = torch.rand_like(real[:, :1, :1, :1])
    x_hat = fake + eps * (real - fake)
    x_hat.requires_grad_()
    scores = critic(x_hat)
    grads = torch.autograd.grad(outputs=scores, inputs=x_hat, grad_outputs=torch.ones_like(scores), create_graph=True, retain_graph=True)[0]
    norms = torch.linalg.vector_norm(grads.reshape(grads.shape[0], -1), dim=1)
    return gp_lambda * torch.mean((norms - 1.0) ** 2)

# cell: step_solution
# the fakes detached instead of made under no_grad; zero_grad(set_to_none=False); W from detached scores
def wgan_step(gen, critic, opt_g, opt_c, next_real, next_z, n_critic=5, clip_value=None, gp_lambda=0.0):
    for _i in range(n_critic):
        real = next_real()
        fake = gen(next_z()).detach()
        opt_c.zero_grad(set_to_none=False)
        real_scores = critic(real)
        fake_scores = critic(fake)
        c_loss = critic_loss(real_scores, fake_scores)
        if gp_lambda:
            c_loss = c_loss + gradient_penalty(critic, real, fake, gp_lambda=gp_lambda)
        c_loss.backward()
        opt_c.step()
        if clip_value:
            clip_weights(critic, clip_value)
        w = (real_scores.detach().mean() - fake_scores.detach().mean())
    opt_g.zero_grad(set_to_none=False)
    g_loss = generator_loss(critic(gen(next_z())))
    g_loss.backward()
    opt_g.step()
    return dict(critic=c_loss.detach(), G=g_loss.detach(), W=w)
