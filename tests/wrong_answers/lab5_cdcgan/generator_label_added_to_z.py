# cell: generator_solution
# the one-hot label added onto the first n_classes noise components instead of concatenated
class ConditionalGenerator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 32, n_classes: int = 10):
        super().__init__()
        self.nz, self.n_classes = nz, n_classes
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, 2 * ngf, 7, 1, 0, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z, y):
        z = torch.cat([z[:, : self.n_classes] + y, z[:, self.n_classes :]], dim=1)
        return self.net(z[:, :, None, None])
