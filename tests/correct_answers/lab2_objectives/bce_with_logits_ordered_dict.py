# cell: g_losses_solution
# BCE with logits against the labels "real" (non-saturating) and minus BCE against "fake" (minimax)
def minimax_g_loss(fake_logits):
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def nonsaturating_g_loss(fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

# cell: g_grads_solution
# written from D = sigmoid(l): d/dl log(1 - D) = -D, d/dl -log D = -(1 - D)
def minimax_g_grad(fake_logits):
    d = fake_logits.sigmoid()
    return -d


def nonsaturating_g_grad(fake_logits):
    d = fake_logits.sigmoid()
    return -(1 - d)

# cell: generator_solution
# an OrderedDict of layers, reshape in forward
from collections import OrderedDict


class Generator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.layers = nn.Sequential(OrderedDict([
            ("convt1", nn.ConvTranspose2d(nz, 2 * ngf, 7, bias=False)),
            ("bn1", nn.BatchNorm2d(2 * ngf)),
            ("relu1", nn.ReLU(inplace=True)),
            ("convt2", nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False)),
            ("bn2", nn.BatchNorm2d(ngf)),
            ("relu2", nn.ReLU(inplace=True)),
            ("convt3", nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=True)),
            ("tanh", nn.Tanh()),
        ]))

    def forward(self, z):
        return self.layers(z.reshape(-1, self.nz, 1, 1))

# cell: discriminator_solution
# an OrderedDict (imported in the generator's cell), flatten through torch.flatten
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([
            ("c1", nn.Conv2d(1, ndf, 4, 2, 1, bias=False)),
            ("a1", nn.LeakyReLU(0.2, inplace=True)),
            ("c2", nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False)),
            ("n2", nn.BatchNorm2d(2 * ndf)),
            ("a2", nn.LeakyReLU(0.2, inplace=True)),
            ("c3", nn.Conv2d(2 * ndf, 1, 7, 1, 0)),
        ]))

    def forward(self, x):
        return torch.flatten(self.body(x))
