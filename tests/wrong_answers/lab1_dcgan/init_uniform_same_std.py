# cell: init_solution
# A uniform distribution with the right standard deviation (0.02 = a / sqrt(3)) instead of a normal one.
def dcgan_init(module: nn.Module) -> None:
    a = 0.02 * math.sqrt(3)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.uniform_(module.weight, -a, a)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.uniform_(module.weight, 1 - a, 1 + a)
        nn.init.zeros_(module.bias)
