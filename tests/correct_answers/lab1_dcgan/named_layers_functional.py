# cell: padding_solution
# Closed form: floor((W + 2P - K) / S) = W/S - 1 exactly when K - S <= 2P <= K - 1.
def conv_out_size(W: int, K: int, S: int, P: int) -> int:
    """Output width of a convolution: floor((W + 2P - K) / S) + 1."""
    if K < 1 or S < 1 or P < 0:
        raise ValueError("K and S must be positive and P non-negative")
    if W + 2 * P < K:
        raise ValueError("the kernel is larger than the padded input")
    return math.floor((W + 2 * P - K) / S) + 1


def solve_padding(W: int, K: int, S: int) -> int | None:
    """Smallest P >= 0 with conv_out_size(W, K, S, P) == W / S, or None if there is none."""
    if W % S != 0:
        return None
    P = max(0, math.ceil((K - S) / 2))
    return P if 2 * P <= K - 1 else None

# cell: discriminator_solution
# Named layers in the table's order and a functional forward (F.leaky_relu).
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(3, ndf, kernel_size=4, stride=2, padding=1, bias=False)
        self.conv2 = nn.Conv2d(ndf, 2 * ndf, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * ndf)
        self.conv3 = nn.Conv2d(2 * ndf, 4 * ndf, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * ndf)
        self.conv4 = nn.Conv2d(4 * ndf, 1, kernel_size=4, stride=1, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(x), 0.2)  # (B, ndf, 16, 16)
        x = F.leaky_relu(self.bn2(self.conv2(x)), 0.2)  # (B, 2ndf, 8, 8)
        x = F.leaky_relu(self.bn3(self.conv3(x)), negative_slope=0.2)  # (B, 4ndf, 4, 4)
        return self.conv4(x).view(-1)  # (B,)

# cell: generator_solution
# Named layers and a functional forward (F.relu, torch.tanh); z reshaped with [:, :, None, None].
class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.deconv1 = nn.ConvTranspose2d(nz, 4 * ngf, 4, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(4 * ngf)
        self.deconv2 = nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * ngf)
        self.deconv3 = nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(ngf)
        self.deconv4 = nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z[:, :, None, None]  # (B, nz, 1, 1)
        x = F.relu(self.bn1(self.deconv1(x)))
        x = F.relu(self.bn2(self.deconv2(x)))
        x = F.relu(self.bn3(self.deconv3(x)))
        return torch.tanh(self.deconv4(x))

# cell: init_solution
# In-place .normal_() and .zero_() on the tensors under torch.no_grad().
def dcgan_init(module: nn.Module) -> None:
    with torch.no_grad():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            module.weight.normal_(mean=0.0, std=0.02)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.normal_(1.0, 0.02)
            module.bias.zero_()

# cell: losses_solution
# Through softplus: -log sigma(l) = softplus(-l) and -log(1 - sigma(l)) = softplus(l).
def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def bce_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-fake_logits).mean()


def ls_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return ((real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean()) / 2


def ls_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return (fake_logits - 1).pow(2).mean() / 2

# cell: step_solution
# Gradients zeroed through the models (model.zero_grad) and to zeros, not None (set_to_none=False).
def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
    fake = gen(z)
    disc.zero_grad(set_to_none=False)
    real_logits = disc(real)
    fake_logits = disc(fake.detach())
    d_loss = d_loss_fn(real_logits, fake_logits)
    d_loss.backward()
    opt_d.step()
    gen.zero_grad(set_to_none=False)
    g_loss = g_loss_fn(disc(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.detach(), g_loss.detach()
