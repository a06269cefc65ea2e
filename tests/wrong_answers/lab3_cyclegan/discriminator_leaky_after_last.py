# cell: discriminator_solution
# a LeakyReLU on the logits
class PatchDiscriminator(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), nn.InstanceNorm2d(2 * ndf, affine=True), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 4 * ndf, 4, 2, 1, bias=False), nn.InstanceNorm2d(4 * ndf, affine=True), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * ndf, 1, 3, 1, 1),
        )

    def forward(self, x):
        return F.leaky_relu(self.net(x), 0.2)
