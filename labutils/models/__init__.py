"""Reference models. Discriminators return logits; constructors take keyword arguments."""

from .cyclegan import CycleGenerator, PatchDiscriminator, ResidualBlock
from .dcgan import DCDiscriminator, DCGenerator, dcgan_init
from .mnist import MNISTDiscriminator, MNISTGenerator
from .wgan import ConvCritic, ConvGenerator, FCCritic, FCGenerator

__all__ = [
    "ConvCritic",
    "ConvGenerator",
    "FCCritic",
    "FCGenerator",
    "CycleGenerator",
    "DCDiscriminator",
    "DCGenerator",
    "MNISTDiscriminator",
    "MNISTGenerator",
    "PatchDiscriminator",
    "ResidualBlock",
    "dcgan_init",
]
