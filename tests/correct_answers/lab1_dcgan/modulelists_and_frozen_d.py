# cell: padding_solution
# A while loop over P, with the size function doing the work.
def conv_out_size(W: int, K: int, S: int, P: int) -> int:
    """Output width of a convolution: floor((W + 2P - K) / S) + 1."""
    if not (K > 0 and S > 0 and P >= 0):
        raise ValueError("need K > 0, S > 0 and P >= 0")
    if K > W + 2 * P:
        raise ValueError("the kernel does not fit")
    return int((W + 2 * P - K) // S) + 1


def solve_padding(W: int, K: int, S: int) -> int | None:
    """Smallest P >= 0 with conv_out_size(W, K, S, P) == W / S, or None if there is none."""
    if W % S:
        return None
    P = 0
    while 2 * P <= K:  # beyond that the output only grows
        if W + 2 * P >= K and conv_out_size(W, K, S, P) == W // S:
            return P
        P += 1
    return None

# cell: discriminator_solution
# Convolutions and norms in two ModuleLists (registered convs first: another parameter order).
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        widths = [3, ndf, 2 * ndf, 4 * ndf]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 4, 2, 1, bias=False) for a, b in zip(widths, widths[1:]))
        self.head = nn.Conv2d(4 * ndf, 1, 4, 1, 0)
        self.norms = nn.ModuleList([nn.Identity(), nn.BatchNorm2d(2 * ndf), nn.BatchNorm2d(4 * ndf)])
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = self.act(norm(conv(x)))
        return self.head(x).view(x.size(0), -1).squeeze(1)

# cell: generator_solution
# Layers from a list of (in, out, stride, padding), batch norm and ReLU in a ModuleList, tanh in forward.
class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz = nz
        spec = [(nz, 4 * ngf, 1, 0), (4 * ngf, 2 * ngf, 2, 1), (2 * ngf, ngf, 2, 1)]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(a, b, 4, s, p, bias=False), nn.BatchNorm2d(b), nn.ReLU())
            for a, b, s, p in spec
        )
        self.to_rgb = nn.ConvTranspose2d(ngf, 3, kernel_size=4, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z.reshape(-1, self.nz, 1, 1)
        for block in self.blocks:
            x = block(x)
        return self.to_rgb(x).tanh()

# cell: init_solution
# Fresh values copied in: randn * std + mean, under no_grad; every kind of convolution via _ConvNd.
def dcgan_init(module: nn.Module) -> None:
    with torch.no_grad():
        if isinstance(module, nn.modules.conv._ConvNd):
            module.weight.copy_(torch.randn_like(module.weight) * 0.02)
            if module.bias is not None:
                module.bias.fill_(0)
        if isinstance(module, nn.BatchNorm2d):
            module.weight.copy_(1 + 0.02 * torch.randn_like(module.weight))
            module.bias.fill_(0)

# cell: losses_solution
# Loss modules (nn.BCEWithLogitsLoss), torch.square and torch.mean.
_bce = nn.BCEWithLogitsLoss()


def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return _bce(real_logits, torch.ones_like(real_logits)) + _bce(fake_logits, torch.zeros_like(fake_logits))


def bce_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return _bce(fake_logits, torch.ones_like(fake_logits))


def ls_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.mean(torch.square(real_logits - 1)) + 0.5 * torch.mean(torch.square(fake_logits))


def ls_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.mean(torch.square(fake_logits - 1))

# cell: step_solution
# Gradients set to None by hand, D frozen (requires_grad_(False)) during G's update, and a
# second forward of G for its own update (the same fake: G has not changed yet).
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    for p in disc.parameters():
        p.grad = None
    with torch.no_grad():
        fake = gen(z)
    d_loss = d_loss_fn(disc(real), disc(fake))
    d_loss.backward()
    opt_d.step()

    for p in gen.parameters():
        p.grad = None
    for p in disc.parameters():
        p.requires_grad_(False)
    try:
        g_loss = g_loss_fn(disc(gen(z)))
        g_loss.backward()
    finally:
        for p in disc.parameters():
            p.requires_grad_(True)
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
