# cell: init_solution
# Tests isinstance(module, nn.Conv2d) only: nn.ConvTranspose2d is not a subclass, so the generator's layers keep PyTorch's init.
def dcgan_init(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
