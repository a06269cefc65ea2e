# cell: generator_solution
# Uses the discriminator's LeakyReLU(0.2) in the generator instead of ReLU (same shapes, same count).
class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 4 * ngf, 4, 1, 0, bias=False),
            nn.BatchNorm2d(4 * ngf),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z.view(z.shape[0], self.nz, 1, 1)))
