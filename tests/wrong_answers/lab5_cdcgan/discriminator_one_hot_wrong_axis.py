# cell: discriminator_solution
# the one-hot vector tiled along the pixels instead of broadcast per channel: map c is not y[:, c] everywhere
class ConditionalDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32, n_classes: int = 10):
        super().__init__()
        self.n_classes = n_classes
        self.net = nn.Sequential(
            nn.Conv2d(1 + n_classes, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7, 1, 0),
        )

    def forward(self, x, y):
        maps = y.repeat(1, x.shape[2] * x.shape[3]).view(x.shape[0], self.n_classes, x.shape[2], x.shape[3])
        return self.net(torch.cat([x, maps], dim=1)).flatten()
