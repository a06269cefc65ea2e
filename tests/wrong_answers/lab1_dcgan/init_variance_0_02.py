# cell: init_solution
# Reads N(0, 0.02) as variance 0.02: standard deviation sqrt(0.02) = 0.141 for every weight.
def dcgan_init(module: nn.Module) -> None:
    std = math.sqrt(0.02)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)
