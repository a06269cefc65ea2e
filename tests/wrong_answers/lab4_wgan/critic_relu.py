# cell: critic_solution
# ReLU instead of LeakyReLU(0.2)
class Critic(nn.Module):
    def __init__(self, ndf: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(2 * ndf, 1, 7, 1, 0),
        )

    def forward(self, x):
        return self.net(x).flatten()
