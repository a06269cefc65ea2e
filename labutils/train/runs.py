"""What each lab trains: its networks, optimisers, batch source and step, handed to ``loop.fit``.

A lab's runner is its only code here: the loop, the checkpoints, the history and the speed
switches are shared. Each runner takes the lab's models and config and returns a ``History``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from .. import augment as augment_lib
from .. import data as data_lib
from .. import losses
from ..config import DCGANConfig, get_device
from . import speed
from .batches import BatchSource
from .loop import History, fit
from .updates import LossD, LossG, gan_step


class _AugmentedDisc(nn.Module):
    """D(augment(x)): differentiable augmentation of real and fake inside D (DiffAugment)."""

    def __init__(self, disc: nn.Module, fn: Callable[[Tensor], Tensor]):
        super().__init__()
        self.disc, self.fn = disc, fn

    def forward(self, x: Tensor) -> Tensor:
        return self.disc(self.fn(x))


def make_optimizers(
    gen: nn.Module, disc: nn.Module, cfg: DCGANConfig, device: torch.device, *, fused: bool | None = None
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Lab 1's Adam for both networks (``cfg.lr``, ``cfg.betas``).

    ``fused`` picks the implementation (same update, different speed): None takes the fastest
    one measured for ``device``, True the fused kernel, False the plain or foreach loop.
    """
    kw = dict(lr=cfg.lr, betas=cfg.betas, device=device, fused=fused)
    return speed.adam(gen.parameters(), **kw), speed.adam(disc.parameters(), **kw)


def train_gan(
    gen: nn.Module,
    disc: nn.Module,
    data: Tensor,
    cfg: DCGANConfig,
    *,
    step: Callable[..., tuple[Tensor, Tensor]] = gan_step,
    d_loss_fn: LossD | None = None,
    g_loss_fn: LossG | None = None,
    device: torch.device | str | None = None,
    evaluators: Mapping[str, Callable[[nn.Module], float]] | None = None,
    callbacks: Sequence[Callable[[int, History], None]] = (),
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1000,
    resume: bool = True,
    progress: bool | None = None,
    n_samples: int = 64,
    channels_last: bool | None = None,
    fused: bool | None = None,
    amp: bool = False,
    compile: bool | str = False,
    cudnn_benchmark: bool = True,
) -> History:
    """Lab 1: train ``gen`` against ``disc`` on ``data`` for ``cfg.iters`` iterations.

    data: (N, C, H, W) in [-1, 1]. ``step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn)``
    does one iteration and returns (d_loss, g_loss), recorded as the losses "D" and "G". The
    losses default to ``cfg.loss``. ``evaluators`` map a metric name to ``f(gen) -> float``.
    The sample grid is G of ``n_samples`` fixed noise vectors. Everything else is ``loop.fit``'s
    (checkpoints, resume, callbacks, progress, ``amp``, ``compile``, ``cudnn_benchmark``).

    Speed switches (benchmarks/train_speed.py measures them): ``channels_last`` stores models
    and data channels-last (None: where it was measured to win, i.e. on the CPU); ``fused``
    picks Adam's kernel (see ``make_optimizers``); these two change only rounding.
    """
    device = torch.device(device) if device is not None else get_device()
    data_lib.check_images(data, "data")
    mode = speed.compile_mode(compile) if compile else False  # a wrong mode fails before anything moves
    if d_loss_fn is None or g_loss_fn is None:
        default_d, default_g = losses.get(cfg.loss)
        d_loss_fn, g_loss_fn = d_loss_fn or default_d, g_loss_fn or default_g

    layout = speed.memory_format(device, channels_last)
    nets = nn.ModuleDict({"gen": gen, "disc": disc}).to(device, memory_format=layout)
    data = data.to(device, torch.float32).contiguous(memory_format=layout)
    opt_g, opt_d = make_optimizers(gen, disc, cfg, device, fused=fused)
    aug = augment_lib.get(cfg.augment)
    diffaugment = cfg.augment == "diffaugment"  # augment real and fake inside D; data as is
    batches = BatchSource(
        {"real": data}, cfg.batch_size, noise={"z": cfg.nz}, seed=cfg.seed, device=device,
        augment={"real": augment_lib.basic if diffaugment else aug},
    )  # fmt: skip
    fixed_z = torch.randn(n_samples, cfg.nz, generator=torch.Generator().manual_seed(cfg.seed + 1))
    fixed_z = fixed_z.to(device)
    wrapped: dict[int, nn.Module] = {}  # DiffAugment's D around the step's D, made once

    def dcgan_step(nets: nn.ModuleDict, opts, batches: BatchSource) -> dict[str, Tensor]:
        batch = batches.next()  # real (B, C, H, W), z (B, nz)
        d = nets["disc"]
        if diffaugment:
            d = wrapped.get(id(d)) or wrapped.setdefault(
                id(d), _AugmentedDisc(d, lambda x: aug(x, generator=batches.generator))
            )
        d_loss, g_loss = step(nets["gen"], d, opts["gen"], opts["disc"], batch["real"], batch["z"], d_loss_fn, g_loss_fn)
        return {"D": d_loss, "G": g_loss}

    return fit(
        nets, {"gen": opt_g, "disc": opt_d}, batches, dcgan_step, cfg,
        sample=lambda nets: nets["gen"](fixed_z),
        evaluators={name: (lambda nets, fn=fn: fn(nets["gen"])) for name, fn in (evaluators or {}).items()},
        callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        progress=progress, amp=amp, compile=mode, cudnn_benchmark=cudnn_benchmark,
    )  # fmt: skip
