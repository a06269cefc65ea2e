# cell: discriminator_solution
# the second layer's width hard-coded to 64 (right only at ndf = 32)
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 1, 7, 1, 0),
        )

    def forward(self, x):
        return self.net(x).flatten()
