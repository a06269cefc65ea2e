# cell: generator_solution
# every transposed convolution keeps its bias, also those followed by batch norm
class Generator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 2 * ngf, 7, 1, 0), nn.BatchNorm2d(2 * ngf), nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1), nn.BatchNorm2d(ngf), nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], self.nz, 1, 1))
