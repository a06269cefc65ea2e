# cell: init_solution
# Batch-norm weights drawn with mean 0 (like the convs) instead of 1: every norm starts by scaling its features to almost nothing.
def dcgan_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
