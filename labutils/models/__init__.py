"""Reference models. Discriminators return logits; constructors take keyword arguments."""

from .dcgan import DCDiscriminator, DCGenerator, dcgan_init

__all__ = ["DCDiscriminator", "DCGenerator", "dcgan_init"]
