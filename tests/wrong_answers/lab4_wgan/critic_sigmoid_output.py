# cell: critic_solution
# a sigmoid on the critic's score, as in a GAN discriminator
class Critic(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7, 1, 0),
        )

    def forward(self, x):
        return torch.sigmoid(self.net(x).flatten())
