# cell: g_losses_solution
# losses through logsigmoid; log(1 - sigmoid(l)) = logsigmoid(-l)
def minimax_g_loss(fake_logits):
    return F.logsigmoid(-fake_logits).mean()


def nonsaturating_g_loss(fake_logits):
    return -F.logsigmoid(fake_logits).mean()

# cell: g_grads_solution
# closed forms through the identity sigma(-l) = 1 - sigma(l)
def minimax_g_grad(fake_logits):
    return torch.sigmoid(-fake_logits) - 1


def nonsaturating_g_grad(fake_logits):
    return -torch.sigmoid(-fake_logits)

# cell: generator_solution
# named layers, unsqueeze instead of view
class Generator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.up1 = nn.ConvTranspose2d(nz, ngf * 2, kernel_size=7, stride=1, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(ngf * 2)
        self.up2 = nn.ConvTranspose2d(ngf * 2, ngf, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ngf)
        self.up3 = nn.ConvTranspose2d(ngf, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z):
        x = z.unsqueeze(-1).unsqueeze(-1)
        x = F.relu(self.bn1(self.up1(x)))
        x = F.relu(self.bn2(self.up2(x)))
        return torch.tanh(self.up3(x))

# cell: discriminator_solution
# named layers and a functional forward; the logits squeezed with view(-1)
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, ndf, 4, 2, 1, bias=False)
        self.conv2 = nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(ndf * 2)
        self.conv3 = nn.Conv2d(ndf * 2, 1, 7)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), negative_slope=0.2)
        return self.conv3(h).view(-1)
