# cell: discriminator_solution
# a sigmoid on the output: probabilities, not the logits the losses expect
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ndf), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7, 1, 0), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x).flatten()
