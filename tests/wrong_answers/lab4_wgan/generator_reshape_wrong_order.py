# cell: generator_solution
# the projection reshaped as (B, 7, 7, C) then permuted: another layout of the same numbers
class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz, self.ngf = nz, ngf
        self.project = nn.Sequential(nn.Linear(nz, 2 * ngf * 7 * 7, bias=False), nn.BatchNorm1d(2 * ngf * 7 * 7), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(self.project(z).view(-1, 7, 7, 2 * self.ngf).permute(0, 3, 1, 2))
