"""Reference models. Discriminators return logits; constructors take keyword arguments."""

from .conditional import ConditionalDiscriminator, ConditionalGenerator, LabelBlind, one_hot
from .cyclegan import CycleGenerator, PatchDiscriminator, ResidualBlock
from .dcgan import DCDiscriminator, DCGenerator, dcgan_init
from .mnist import MNISTDiscriminator, MNISTGenerator
from .wgan import ConvCritic, ConvGenerator, FCCritic, FCGenerator

__all__ = [
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "ConvCritic",
    "ConvGenerator",
    "FCCritic",
    "FCGenerator",
    "LabelBlind",
    "CycleGenerator",
    "DCDiscriminator",
    "DCGenerator",
    "MNISTDiscriminator",
    "MNISTGenerator",
    "PatchDiscriminator",
    "ResidualBlock",
    "dcgan_init",
    "one_hot",
]
