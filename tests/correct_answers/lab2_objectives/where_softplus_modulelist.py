# cell: g_losses_solution
# the stable formula written out: softplus(x) = max(x, 0) + log1p(exp(-|x|))
def _softplus(x):
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


def minimax_g_loss(fake_logits):
    return -_softplus(fake_logits).mean()


def nonsaturating_g_loss(fake_logits):
    return torch.mean(_softplus(-fake_logits))

# cell: g_grads_solution
# the derivative of softplus is the sigmoid, written as 1 / (1 + exp(-l))
def minimax_g_grad(fake_logits):
    return -1 / (1 + torch.exp(-fake_logits))


def nonsaturating_g_grad(fake_logits):
    return 1 / (1 + torch.exp(-fake_logits)) - 1

# cell: generator_solution
# blocks in a ModuleList, built in a loop
class Generator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.blocks = nn.ModuleList()
        for c_in, c_out, k, s, p in [(nz, 2 * ngf, 7, 1, 0), (2 * ngf, ngf, 4, 2, 1)]:
            self.blocks.append(nn.Sequential(nn.ConvTranspose2d(c_in, c_out, k, s, p, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()))
        self.out = nn.ConvTranspose2d(ngf, 1, 4, 2, 1)

    def forward(self, z):
        h = z[:, :, None, None]
        for block in self.blocks:
            h = block(h)
        return self.out(h).tanh()

# cell: discriminator_solution
# the last conv as a module, the flattening with squeeze of the three trailing dims
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, ndf, kernel_size=4, stride=2, padding=1, bias=False),
            nn.LeakyReLU(negative_slope=0.2),
            nn.Conv2d(ndf, ndf * 2, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(negative_slope=0.2),
        )
        self.logit = nn.Conv2d(ndf * 2, 1, kernel_size=7)

    def forward(self, x):
        return self.logit(self.features(x)).squeeze(3).squeeze(2).squeeze(1)
