"""labutils: bundled data, reference models, losses, training and plots for the GAN course lab.

Notebooks import by module: ``from labutils import config, data, models, train, plot``.
"""

from . import augment, config, data, grading, hints, losses, metrics, models, plot, train, widgets

hints.install()  # inside IPython: a NameError after a failed cell says why (labutils/hints.py)

__version__ = "0.1.0"

__all__ = ["augment", "config", "data", "grading", "hints", "losses", "metrics", "models", "plot", "train", "widgets"]
