"""Training: the updates, the one loop every lab uses, its batch source and speed switches.

- ``updates``: one function per update (``d_step``, ``g_step``) and each lab's iteration
  (``gan_step``, ``cyclegan_step``, ``wgan_step``, ``cgan_step``), the pieces a student writes and the reference the tests compare with;
- ``loop``: ``fit``, the loop (networks as an ``nn.ModuleDict``, optimisers as a dict, a step
  returning named losses), ``History`` and atomic checkpoints;
- ``batches``: ``BatchSource``, named tensors drawn by index on the device, plus noise;
- ``speed``: the measured speed defaults (Adam's kernel, memory layout, compile modes);
- ``runs``: each lab's runner (``train_gan`` for Labs 1 and 2, ``train_cyclegan`` for Lab 3, ``train_wgan`` for Lab 4, ``train_cgan`` for Lab 5), which builds what ``fit`` needs;
- ``sweep``: ``Sweep``, named runs of an experiment (seeds, ablations), checkpointed and tabulated.
"""

from . import batches, loop, runs, speed, sweep, updates
from .batches import BatchSource
from .loop import (
    CheckpointError,
    History,
    TrainingDiverged,
    evaluating,
    fit,
    iters_per_second,
    load_checkpoint,
    sample,
    save_checkpoint,
)
from .runs import (
    cgan_models,
    class_grid_inputs,
    cyclegan_models,
    make_optimizers,
    mnist_models,
    train_cgan,
    train_cyclegan,
    train_gan,
    train_wgan,
    wgan_models,
    wgan_optimizers,
)
from .speed import COMPILE_MODES
from .sweep import Run, Sweep, mean_sd
from .updates import (
    cgan_step,
    clip_weights_,
    cyclegan_step,
    d_step,
    frozen,
    g_step,
    gan_step,
    wgan_step,
)

__all__ = [
    "COMPILE_MODES",
    "BatchSource",
    "CheckpointError",
    "History",
    "Run",
    "Sweep",
    "TrainingDiverged",
    "batches",
    "cgan_models",
    "cgan_step",
    "class_grid_inputs",
    "clip_weights_",
    "cyclegan_models",
    "cyclegan_step",
    "d_step",
    "evaluating",
    "fit",
    "frozen",
    "g_step",
    "gan_step",
    "iters_per_second",
    "load_checkpoint",
    "loop",
    "make_optimizers",
    "mean_sd",
    "mnist_models",
    "runs",
    "sample",
    "save_checkpoint",
    "speed",
    "sweep",
    "train_cgan",
    "train_cyclegan",
    "train_gan",
    "train_wgan",
    "updates",
    "wgan_models",
    "wgan_optimizers",
    "wgan_step",
]
