# cell: padding_solution
# The formula inline in the solver, and a search over every P up to K.
def conv_out_size(W: int, K: int, S: int, P: int) -> int:
    """Output width of a convolution: floor((W + 2P - K) / S) + 1."""
    if min(K, S) <= 0:
        raise ValueError(f"kernel and stride must be positive, got K={K}, S={S}")
    if P < 0:
        raise ValueError(f"padding must be >= 0, got {P}")
    span = W + 2 * P - K
    if span < 0:
        raise ValueError(f"kernel {K} does not fit into {W} padded by {P}")
    return span // S + 1


def solve_padding(W: int, K: int, S: int) -> int | None:
    """Smallest P >= 0 with conv_out_size(W, K, S, P) == W / S, or None if there is none."""
    target, rest = divmod(W, S)
    if rest:
        return None
    candidates = [P for P in range(K + 1) if W + 2 * P >= K and (W + 2 * P - K) // S + 1 == target]
    return min(candidates) if candidates else None

# cell: discriminator_solution
# nn.Sequential of an OrderedDict, blocks built in a loop, in-place activations.
from collections import OrderedDict


class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        layers = OrderedDict()
        channels = [3, ndf, 2 * ndf, 4 * ndf]
        for i in range(3):
            layers[f"conv{i + 1}"] = nn.Conv2d(channels[i], channels[i + 1], 4, 2, 1, bias=False)
            if i > 0:
                layers[f"norm{i + 1}"] = nn.BatchNorm2d(channels[i + 1])
            layers[f"act{i + 1}"] = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        layers["conv4"] = nn.Conv2d(4 * ndf, 1, 4, 1, 0)
        layers["flatten"] = nn.Flatten(start_dim=0)
        self.main = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)

# cell: generator_solution
# A helper that builds each block, nn.Unflatten for the reshape, nn.Tanh at the end.
def _up(c_in: int, c_out: int, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.model = nn.Sequential(
            nn.Unflatten(1, (nz, 1, 1)),
            _up(nz, 4 * ngf, 1, 0),
            _up(4 * ngf, 2 * ngf, 2, 1),
            _up(2 * ngf, ngf, 2, 1),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)

# cell: init_solution
# torch.nn.init with keyword arguments and constant_ for the biases.
def dcgan_init(module: nn.Module) -> None:
    conv = isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))
    norm = isinstance(module, nn.BatchNorm2d)
    if conv or norm:
        torch.nn.init.normal_(module.weight, mean=1.0 if norm else 0.0, std=0.02)
        if module.bias is not None:
            torch.nn.init.constant_(module.bias, 0.0)

# cell: losses_solution
# BCE by hand with F.logsigmoid (stable: log sigma(l) = logsigmoid(l), log(1 - sigma(l)) = logsigmoid(-l)); LSGAN with F.mse_loss.
def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())


def bce_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(fake_logits).mean()


def ls_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    real = F.mse_loss(real_logits, torch.ones_like(real_logits))
    fake = F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * real + 0.5 * fake


def ls_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * F.mse_loss(fake_logits, torch.ones_like(fake_logits))

# cell: step_solution
# Every gradient zeroed once at the start (fake is detached in the D loss, so G's stay zero
# until its own backward); the fake batch goes through D before the real one.
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    opt_d.zero_grad()
    opt_g.zero_grad()
    fake = gen(z)
    fake_logits = disc(fake.detach())
    real_logits = disc(real)
    d_loss = d_loss_fn(real_logits, fake_logits)
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
