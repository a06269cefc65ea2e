# cell: discriminator_solution
# One LeakyReLU too many: after the last conv as well, so negative logits are squashed by 0.2.
class Discriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        layers = []
        c_in = 3
        for i, c_out in enumerate((ndf, 2 * ndf, 4 * ndf)):
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False))
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        layers += [nn.Conv2d(c_in, 1, 4, 1, 0), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()
