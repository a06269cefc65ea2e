# cell: generator_solution
# batch norm instead of instance norm: the same parameters, another function
class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
        )

    def forward(self, x):
        return x + self.branch(x)


class CycleGenerator(nn.Module):
    def __init__(self, ngf: int = 32, n_res: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(),
            nn.Conv2d(ngf, 2 * ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ngf), nn.ReLU(),
            *[ResidualBlock(2 * ngf) for _ in range(n_res)],
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, x):
        return self.net(x)
