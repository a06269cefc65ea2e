# cell: generator_solution
# the residual block forgets the skip connection: out = branch(x)
class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.InstanceNorm2d(channels, affine=True), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x):
        return self.branch(x)


class CycleGenerator(nn.Module):
    def __init__(self, ngf: int = 32, n_res: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ngf, 4, 2, 1, bias=False), nn.InstanceNorm2d(ngf, affine=True), nn.ReLU(),
            nn.Conv2d(ngf, 2 * ngf, 4, 2, 1, bias=False), nn.InstanceNorm2d(2 * ngf, affine=True), nn.ReLU(),
            *[ResidualBlock(2 * ngf) for _ in range(n_res)],
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False), nn.InstanceNorm2d(ngf, affine=True), nn.ReLU(),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, x):
        return self.net(x)
