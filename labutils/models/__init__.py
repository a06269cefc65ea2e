"""Reference models. Discriminators return logits; constructors take keyword arguments."""

from .cyclegan import CycleGenerator, PatchDiscriminator, ResidualBlock
from .dcgan import DCDiscriminator, DCGenerator, dcgan_init

__all__ = [
    "CycleGenerator",
    "DCDiscriminator",
    "DCGenerator",
    "PatchDiscriminator",
    "ResidualBlock",
    "dcgan_init",
]
