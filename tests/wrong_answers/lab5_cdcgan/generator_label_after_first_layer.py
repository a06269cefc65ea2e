# cell: generator_solution
# the label enters at the second layer (as constant 7x7 maps), not with z at the input
class ConditionalGenerator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32, n_classes: int = 10):
        super().__init__()
        self.nz, self.n_classes = nz, n_classes
        self.first = nn.Sequential(nn.ConvTranspose2d(nz, 2 * ngf, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * ngf), nn.ReLU())
        self.rest = nn.Sequential(
            nn.ConvTranspose2d(2 * ngf + n_classes, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z, y):
        h = self.first(z[:, :, None, None])
        maps = y[:, :, None, None].expand(-1, -1, 7, 7)
        return self.rest(torch.cat([h, maps], dim=1))
