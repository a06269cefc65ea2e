# cell: init_solution
# Initialises the convolutions only: batch-norm weights keep PyTorch's default (all ones, not N(1, 0.02)).
def dcgan_init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
