"""What each lab trains: its networks, optimisers, batch source and step, handed to ``loop.fit``.

A lab's runner is its only code here: the loop, the checkpoints, the history and the speed
switches are shared. Each runner takes the lab's models and config and returns a ``History``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from .. import augment as augment_lib
from .. import data as data_lib
from .. import losses
from ..config import (
    CGANConfig,
    CycleGANConfig,
    DCGANConfig,
    MNISTGANConfig,
    WGANConfig,
    get_device,
    wgan_settings,
)
from . import speed
from .batches import BatchSource
from .loop import History, fit
from .updates import LossD, LossG, cgan_step, cyclegan_step, gan_step, parameters, wgan_step


class _AugmentedDisc(nn.Module):
    """D(augment(x)): differentiable augmentation of real and fake inside D (DiffAugment)."""

    def __init__(self, disc: nn.Module, fn: Callable[[Tensor], Tensor]):
        super().__init__()
        self.disc, self.fn = disc, fn

    def forward(self, x: Tensor) -> Tensor:
        return self.disc(self.fn(x))


def make_optimizers(
    gen: nn.Module, disc: nn.Module, cfg: DCGANConfig | MNISTGANConfig, device: torch.device, *, fused: bool | None = None
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G and for D: ``cfg.lr`` for both (Lab 1), or ``cfg.lr_g`` and ``cfg.lr_d`` (Lab 2).

    ``fused`` picks the implementation (same update, different speed): None takes the fastest
    one measured for ``device``, True the fused kernel, False the plain or foreach loop.
    """
    lr_g, lr_d = (cfg.lr_g, cfg.lr_d) if hasattr(cfg, "lr_g") else (cfg.lr, cfg.lr)
    kw = dict(betas=cfg.betas, device=device, fused=fused)
    return speed.adam(gen.parameters(), lr=lr_g, **kw), speed.adam(disc.parameters(), lr=lr_d, **kw)


def _prepare(gen, disc, data, cfg, device, channels_last, n_samples):
    """What the GAN runners share: the device, ``nets`` ({gen, disc} on it in the measured
    layout), the data there (checked) and the sample grid's fixed noise (seeded by cfg.seed)."""
    device = torch.device(device) if device is not None else get_device()
    data_lib.check_images(data, "data")
    layout = speed.memory_format(device, channels_last)
    nets = nn.ModuleDict({"gen": gen, "disc": disc}).to(device, memory_format=layout)
    data = data.to(device, torch.float32).contiguous(memory_format=layout)
    fixed_z = torch.randn(n_samples, cfg.nz, generator=torch.Generator().manual_seed(cfg.seed + 1))
    return device, nets, data, fixed_z.to(device)


def _loss_fns(cfg, d_loss_fn: LossD | None, g_loss_fn: LossG | None) -> tuple[LossD, LossG]:
    """The given losses, each missing one taken from ``cfg.loss``'s family (``losses.get``)."""
    default_d, default_g = losses.get(cfg.loss)
    return d_loss_fn or default_d, g_loss_fn or default_g


def train_gan(
    gen: nn.Module,
    disc: nn.Module,
    data: Tensor,
    cfg: DCGANConfig | MNISTGANConfig,
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
    """Labs 1 and 2: train ``gen`` against ``disc`` on ``data`` for ``cfg.iters`` iterations.

    data: (N, C, H, W) in [-1, 1]. ``step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn)``
    does one iteration and returns (d_loss, g_loss), recorded as the losses "D" and "G". The
    losses default to ``cfg.loss``. ``evaluators`` map a metric name to ``f(gen) -> float``.
    The sample grid is G of ``n_samples`` fixed noise vectors. Everything else is ``loop.fit``'s
    (checkpoints, resume, callbacks, progress, ``amp``, ``compile``, ``cudnn_benchmark``).

    Speed switches (benchmarks/train_speed.py measures them): ``channels_last`` stores models
    and data channels-last (None: where it was measured to win, i.e. on the CPU); ``fused``
    picks Adam's kernel (see ``make_optimizers``); these two change only rounding.
    """
    device, nets, data, fixed_z = _prepare(gen, disc, data, cfg, device, channels_last, n_samples)
    mode = speed.compile_mode(compile) if compile else False  # a wrong mode fails before anything moves
    d_loss_fn, g_loss_fn = _loss_fns(cfg, d_loss_fn, g_loss_fn)
    opt_g, opt_d = make_optimizers(gen, disc, cfg, device, fused=fused)
    aug_name = getattr(cfg, "augment", "basic")  # Lab 2's config has none: digits as they are
    aug = augment_lib.get(aug_name)
    diffaugment = aug_name == "diffaugment"  # augment real and fake inside D; data as is
    batches = BatchSource(
        {"real": data}, cfg.batch_size, noise={"z": cfg.nz}, seed=cfg.seed, device=device,
        augment={"real": augment_lib.basic if diffaugment else aug},
    )  # fmt: skip
    wrapped: dict[int, nn.Module] = {}  # DiffAugment's D around the step's D, made once

    def dcgan_step(nets: nn.ModuleDict, opts, batches: BatchSource) -> dict[str, Tensor]:
        batch = batches.next()  # real (B, C, H, W), z (B, nz)
        d = nets["disc"]
        if diffaugment:
            if id(d) not in wrapped:
                wrapped[id(d)] = _AugmentedDisc(d, lambda x: aug(x, generator=batches.generator))
            d = wrapped[id(d)]
        d_loss, g_loss = step(nets["gen"], d, opts["gen"], opts["disc"], batch["real"], batch["z"], d_loss_fn, g_loss_fn)
        return {"D": d_loss, "G": g_loss}

    return fit(
        nets, {"gen": opt_g, "disc": opt_d}, batches, dcgan_step, cfg,
        sample=lambda nets: nets["gen"](fixed_z),
        evaluators={name: (lambda nets, fn=fn: fn(nets["gen"])) for name, fn in (evaluators or {}).items()},
        callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        progress=progress, amp=amp, compile=mode, cudnn_benchmark=cudnn_benchmark,
    )  # fmt: skip


def mnist_models(cfg: MNISTGANConfig) -> tuple[nn.Module, nn.Module]:
    """Lab 2's reference generator and discriminator for ``cfg`` (widths, ``nz``), seeded by
    ``cfg.seed`` and initialised as ``cfg.init`` says ('dcgan' or 'default')."""
    from ..models import MNISTDiscriminator, MNISTGenerator, dcgan_init

    if cfg.init not in ("dcgan", "default"):
        raise ValueError(f"init must be 'dcgan' or 'default', got {cfg.init!r}")
    torch.manual_seed(cfg.seed)
    gen, disc = MNISTGenerator(nz=cfg.nz, ngf=cfg.ngf), MNISTDiscriminator(ndf=cfg.ndf)
    if cfg.init == "dcgan":
        gen.apply(dcgan_init), disc.apply(dcgan_init)
    return gen, disc


def cyclegan_models(cfg: CycleGANConfig) -> nn.ModuleDict:
    """Lab 3's four reference networks for ``cfg``, DCGAN-initialised from ``cfg.seed``:
    ``g_xy`` (G: X -> Y), ``g_yx`` (F: Y -> X), ``d_x`` and ``d_y`` (patch or DC)."""
    from ..models import CycleGenerator, DCDiscriminator, PatchDiscriminator, dcgan_init

    if cfg.disc not in ("patch", "dc"):
        raise ValueError(f"disc must be 'patch' or 'dc', got {cfg.disc!r}")
    torch.manual_seed(cfg.seed)

    def gen() -> nn.Module:
        return CycleGenerator(ngf=cfg.ngf, n_res=cfg.n_res, norm=cfg.norm)

    def disc() -> nn.Module:
        if cfg.disc == "dc":
            return DCDiscriminator(ndf=cfg.ndf, image_size=cfg.image_size)
        return PatchDiscriminator(ndf=cfg.ndf, norm=cfg.norm)

    nets = nn.ModuleDict({"g_xy": gen(), "g_yx": gen(), "d_x": disc(), "d_y": disc()})
    return nets.apply(dcgan_init)


def train_cyclegan(
    nets: nn.ModuleDict,
    x: Tensor,
    y: Tensor,
    cfg: CycleGANConfig,
    *,
    step: Callable[..., Mapping[str, Tensor]] = cyclegan_step,
    step_kwargs: Mapping[str, object] | None = None,
    probe: tuple[Tensor, Tensor] | None = None,
    device: torch.device | str | None = None,
    evaluators: Mapping[str, Callable[[nn.ModuleDict], float]] | None = None,
    callbacks: Sequence[Callable[[int, History], None]] = (),
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1000,
    resume: bool = True,
    progress: bool | None = None,
    channels_last: bool | None = None,
    fused: bool | None = None,
    amp: bool = False,
    compile: bool | str = False,
) -> History:
    """Lab 3: train ``nets`` (``g_xy``, ``g_yx``, ``d_x``, ``d_y``) on unpaired X and Y.

    x: (N, C, H, W) images of X, y: (M, C, H, W) of Y, in [-1, 1]; each batch draws the two
    independently (unpaired, as CycleGAN assumes). ``step(g_xy, g_yx, d_x, d_y, opt_g, opt_d,
    x, y, lambda_cycle=..., lambda_identity=..., **step_kwargs)`` does one iteration and returns
    its named losses (``step_kwargs``: e.g. the loss functions, for a student's step). ``probe`` = (some x, some y): the sample grid shows each source row above its
    translation (x, G(x), y, F(y)), the same images every time. ``evaluators`` take ``nets``.
    One Adam (``cfg.lr``, ``cfg.betas``) steps both generators, another both discriminators.
    """
    device = torch.device(device) if device is not None else get_device()
    data_lib.check_images(x, "x")
    data_lib.check_images(y, "y")
    if x.shape[1:] != y.shape[1:]:
        raise ValueError(f"x and y must have the same image shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    missing = {"g_xy", "g_yx", "d_x", "d_y"} - set(nets.keys())
    if missing:
        raise ValueError(f"nets lacks {sorted(missing)}; it needs g_xy, g_yx, d_x and d_y")
    mode = speed.compile_mode(compile) if compile else False
    layout = speed.memory_format(device, channels_last)
    nets.to(device, memory_format=layout)
    x, y = (t.to(device, torch.float32).contiguous(memory_format=layout) for t in (x, y))
    kw = dict(lr=cfg.lr, betas=cfg.betas, device=device, fused=fused)
    opts = {
        "gen": speed.adam(parameters(nets["g_xy"], nets["g_yx"]), **kw),
        "disc": speed.adam(parameters(nets["d_x"], nets["d_y"]), **kw),
    }
    batches = BatchSource({"x": x, "y": y}, cfg.batch_size, paired=False, seed=cfg.seed, device=device)
    if probe is None:
        probe = (x[:8], y[:8])
    px, py = (p.to(device, torch.float32) for p in probe)
    extra = dict(step_kwargs or {})

    def lab3_step(nets: nn.ModuleDict, opts, batches: BatchSource) -> Mapping[str, Tensor]:
        b = batches.next()  # x (B, C, H, W), y (B, C, H, W): unpaired draws
        return step(
            nets["g_xy"], nets["g_yx"], nets["d_x"], nets["d_y"], opts["gen"], opts["disc"], b["x"], b["y"],
            lambda_cycle=cfg.lambda_cycle, lambda_identity=cfg.lambda_identity, **extra,
        )  # fmt: skip

    def grid(nets: nn.ModuleDict) -> Tensor:  # rows: x, G(x), y, F(y)
        return torch.cat([px, nets["g_xy"](px), py, nets["g_yx"](py)])

    return fit(
        nets, opts, batches, lab3_step, cfg, sample=grid, evaluators=evaluators, callbacks=callbacks,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume, progress=progress,
        amp=amp, compile=mode,
    )  # fmt: skip


def wgan_models(cfg: WGANConfig) -> tuple[nn.Module, nn.Module]:
    """Lab 4's reference generator and critic for ``cfg`` ('conv' or 'fc' each), seeded by
    ``cfg.seed``, with PyTorch's default initialisation (as the WGAN-GP paper's code)."""
    from ..models import ConvCritic, ConvGenerator, FCCritic, FCGenerator

    wgan_settings(cfg)  # checks the names
    torch.manual_seed(cfg.seed)
    gen = ConvGenerator(nz=cfg.nz, ngf=cfg.ngf) if cfg.gen == "conv" else FCGenerator(nz=cfg.nz, hidden=cfg.hidden)
    critic = ConvCritic(ndf=cfg.ndf) if cfg.critic == "conv" else FCCritic(hidden=cfg.hidden)
    return gen, critic


def wgan_optimizers(
    gen: nn.Module, critic: nn.Module, cfg: WGANConfig, device: torch.device, *, fused: bool | None = None
) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """The optimisers of ``cfg``'s objective for G and the critic: Adam (the measured fastest
    kernel, see ``speed.adam``) or RMSprop, with its learning rate and betas."""
    s = wgan_settings(cfg)
    if s["optimizer"] == "rmsprop":
        return torch.optim.RMSprop(gen.parameters(), lr=s["lr"]), torch.optim.RMSprop(critic.parameters(), lr=s["lr"])
    kw = dict(lr=s["lr"], betas=s["betas"], device=device, fused=fused)
    return speed.adam(gen.parameters(), **kw), speed.adam(critic.parameters(), **kw)


def train_wgan(
    gen: nn.Module,
    critic: nn.Module,
    data: Tensor,
    cfg: WGANConfig,
    *,
    step: Callable[..., Mapping[str, Tensor]] = wgan_step,
    step_kwargs: Mapping[str, object] | None = None,
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
) -> History:
    """Lab 4: train ``gen`` against ``critic`` on ``data`` for ``cfg.iters`` generator updates.

    data: (N, 1, 28, 28) in [-1, 1]. ``step(gen, critic, opt_g, opt_c, next_real, next_z,
    n_critic=..., clip_value=..., gp_lambda=..., **step_kwargs)`` does one iteration (the
    reference: ``updates.wgan_step``) and returns its named losses; ``next_real()`` draws a fresh
    real batch (B, 1, 28, 28), ``next_z()`` fresh noise (B, nz), both from the run's seeded
    batch source. The objective (``cfg.objective``) sets the losses, n_critic, the constraint
    and the optimisers (``config.wgan_settings``); for 'gan' the reference step gets the BCE
    losses. The reference penalty draws its epsilons from the batch source too (a run is
    reproducible and resumable). ``evaluators`` map a metric name to ``f(gen)``. A step with
    the gradient penalty takes a double backward, which ``compile`` cannot: it is refused.
    """
    s = wgan_settings(cfg)
    device, nets, data, fixed_z = _prepare(gen, critic, data, cfg, device, channels_last, n_samples)
    mode = speed.compile_mode(compile) if compile else False
    opt_g, opt_c = wgan_optimizers(gen, critic, cfg, device, fused=fused)
    batches = BatchSource({"real": data}, cfg.batch_size, seed=cfg.seed, device=device)
    extra = dict(step_kwargs or {})
    if step is wgan_step:
        if cfg.objective == "gan":
            extra.setdefault("critic_loss_fn", losses.bce_d_loss)
            extra.setdefault("g_loss_fn", losses.bce_g_loss)
        extra.setdefault("penalty_fn", functools.partial(losses.gradient_penalty, generator=batches.generator))

    def lab4_step(nets: nn.ModuleDict, opts, batches: BatchSource) -> Mapping[str, Tensor]:
        return step(
            nets["gen"], nets["disc"], opts["gen"], opts["disc"],
            lambda: batches.next()["real"], lambda: batches.randn(cfg.batch_size, cfg.nz),
            n_critic=s["n_critic"], clip_value=s["clip_value"], gp_lambda=s["gp_lambda"], **extra,
        )  # fmt: skip

    lab4_step.double_backward = s["gp_lambda"] > 0
    return fit(
        nets, {"gen": opt_g, "disc": opt_c}, batches, lab4_step, cfg,
        sample=lambda nets: nets["gen"](fixed_z),
        evaluators={name: (lambda nets, fn=fn: fn(nets["gen"])) for name, fn in (evaluators or {}).items()},
        callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        progress=progress, amp=amp, compile=mode,
    )  # fmt: skip


def cgan_models(cfg: CGANConfig) -> tuple[nn.Module, nn.Module]:
    """Lab 5's reference conditional generator and discriminator for ``cfg``, seeded by
    ``cfg.seed`` and DCGAN-initialised; with ``cfg.condition_d`` False the discriminator is Lab
    2's unconditional one behind ``LabelBlind`` (called with y, it sees the images only)."""
    from ..models import (
        ConditionalDiscriminator,
        ConditionalGenerator,
        LabelBlind,
        MNISTDiscriminator,
        dcgan_init,
    )

    torch.manual_seed(cfg.seed)
    gen = ConditionalGenerator(nz=cfg.nz, ngf=cfg.ngf, n_classes=cfg.n_classes).apply(dcgan_init)
    if cfg.condition_d:
        return gen, ConditionalDiscriminator(ndf=cfg.ndf, n_classes=cfg.n_classes).apply(dcgan_init)
    return gen, LabelBlind(MNISTDiscriminator(ndf=cfg.ndf).apply(dcgan_init), cfg.n_classes)


def class_grid_inputs(cfg: CGANConfig, per_class: int = 8) -> tuple[Tensor, Tensor]:
    """(z, y) for a class grid: one row per class, the same ``per_class`` noise vectors in every
    row (seeded by ``cfg.seed``): z (n_classes * per_class, nz), y one-hot, row-major."""
    from ..models.conditional import one_hot

    z = torch.randn(per_class, cfg.nz, generator=torch.Generator().manual_seed(cfg.seed + 1))
    labels = torch.arange(cfg.n_classes).repeat_interleave(per_class)
    return z.repeat(cfg.n_classes, 1), one_hot(labels, cfg.n_classes)


def train_cgan(
    gen: nn.Module,
    disc: nn.Module,
    data: Tensor,
    labels: Tensor,
    cfg: CGANConfig,
    *,
    step: Callable[..., tuple[Tensor, Tensor]] = cgan_step,
    d_loss_fn: LossD | None = None,
    g_loss_fn: LossG | None = None,
    device: torch.device | str | None = None,
    evaluators: Mapping[str, Callable[[nn.Module], float]] | None = None,
    callbacks: Sequence[Callable[[int, History], None]] = (),
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1000,
    resume: bool = True,
    progress: bool | None = None,
    per_class: int = 8,
    channels_last: bool | None = None,
    fused: bool | None = None,
    amp: bool = False,
    compile: bool | str = False,
) -> History:
    """Lab 5: train a conditional ``gen`` against ``disc`` on ``data`` with its class ``labels``.

    data: (N, 1, 28, 28) in [-1, 1]; labels: (N,) class indices. Each batch draws images with
    their labels (paired); the labels the generator is asked for are drawn uniformly over the
    classes from the run's seeded source. ``step(gen, disc, opt_g, opt_d, real, real_labels, z,
    fake_labels, d_loss_fn, g_loss_fn, n_classes=...)`` does one iteration and returns
    (d_loss, g_loss), recorded as "D" and "G"; labels reach it as class indices, and
    ``n_classes=cfg.n_classes`` by keyword. The sample grid is
    ``class_grid_inputs``: one row per class, the same noise in every row. ``evaluators`` map a
    metric name to ``f(gen)``. The rest is ``loop.fit``'s.
    """
    from ..models.conditional import one_hot

    if not isinstance(labels, Tensor) or labels.dim() != 1 or len(labels) != len(data):
        raise ValueError(f"labels must be a (N,) tensor of class indices with one per image ({len(data)}), got {tuple(getattr(labels, 'shape', ()))}")
    device, nets, data, _ = _prepare(gen, disc, data, cfg, device, channels_last, 1)
    labels = labels.to(device, torch.long)
    one_hot(labels, cfg.n_classes)  # checks the range
    mode = speed.compile_mode(compile) if compile else False
    d_loss_fn, g_loss_fn = _loss_fns(cfg, d_loss_fn, g_loss_fn)
    opt_g, opt_d = make_optimizers(gen, disc, cfg, device, fused=fused)
    batches = BatchSource({"real": data, "label": labels}, cfg.batch_size, noise={"z": cfg.nz}, seed=cfg.seed, device=device)
    grid_z, grid_y = (t.to(device) for t in class_grid_inputs(cfg, per_class))

    def lab5_step(nets: nn.ModuleDict, opts, batches: BatchSource) -> dict[str, Tensor]:
        b = batches.next()  # real (B, 1, 28, 28), label (B,), z (B, nz)
        fake_labels = batches.randint(cfg.n_classes, cfg.batch_size)  # uniform over the classes
        d_loss, g_loss = step(nets["gen"], nets["disc"], opts["gen"], opts["disc"], b["real"], b["label"], b["z"], fake_labels,
                              d_loss_fn, g_loss_fn, n_classes=cfg.n_classes)  # fmt: skip
        return {"D": d_loss, "G": g_loss}

    return fit(
        nets, {"gen": opt_g, "disc": opt_d}, batches, lab5_step, cfg,
        sample=lambda nets: nets["gen"](grid_z, grid_y),
        evaluators={name: (lambda nets, fn=fn: fn(nets["gen"])) for name, fn in (evaluators or {}).items()},
        callbacks=callbacks, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        progress=progress, amp=amp, compile=mode,
    )  # fmt: skip
