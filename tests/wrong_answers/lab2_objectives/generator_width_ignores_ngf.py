# cell: generator_solution
# widths hard-coded for ngf = 32: right at the default, wrong at any other ngf
class Generator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 64, 7, 1, 0, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], self.nz, 1, 1))
