"""labutils: bundled data, reference models, losses, training and plots for the GAN course lab.

Notebooks import by module: ``from labutils import config, data, models, train, plot``.
"""

from . import augment, config, data, grading, losses, metrics, models, plot, train, widgets

__version__ = "0.1.0"

__all__ = ["augment", "config", "data", "grading", "losses", "metrics", "models", "plot", "train", "widgets"]
