import dataclasses
import math

import pytest
import torch

from labutils import config, grading, losses, models, train


def tiny_setup(seed=0, nz=8):
    torch.manual_seed(seed)
    gen = models.DCGenerator(nz=nz, ngf=8).apply(models.dcgan_init)
    disc = models.DCDiscriminator(ndf=8).apply(models.dcgan_init)
    return gen, disc


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(40, 3, 32, 32, generator=g) * 2 - 1


def tiny_cfg(**kw):
    base = dict(iters=12, batch_size=8, nz=8, ngf=8, ndf=8, sample_every=4, eval_every=6, log_every=5, augment="deluxe")
    return dataclasses.replace(config.DCGANConfig(), **{**base, **kw})


def params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_d_step_changes_only_d_and_g_step_changes_only_g():
    gen, disc = tiny_setup()
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3)
    real, z = torch.rand(4, 3, 32, 32) * 2 - 1, torch.randn(4, 8)
    g0, d0 = grading.snapshot(gen), grading.snapshot(disc)
    fake = gen(z)
    train.d_step(disc, opt_d, real, fake, losses.bce_d_loss)
    assert grading.max_change(g0, gen) == 0 and grading.max_change(d0, disc) > 0
    d1 = grading.snapshot(disc)
    train.g_step(disc, opt_g, fake, losses.bce_g_loss)
    assert grading.max_change(d1, disc) == 0 and grading.max_change(g0, gen) > 0
    assert all(p.requires_grad for p in disc.parameters()), "g_step restores D's requires_grad"


def test_two_seeded_cpu_runs_are_identical(images):
    cfg = tiny_cfg()
    runs = []
    for _ in range(2):
        gen, disc = tiny_setup()
        h = train.train_gan(gen, disc, images, cfg, device="cpu")
        runs.append((h, params(gen)))
    (h1, p1), (h2, p2) = runs
    assert h1.losses["D"] == h2.losses["D"] and h1.losses["G"] == h2.losses["G"]
    assert torch.equal(p1, p2)
    assert h1.iters == list(range(1, 13)) and len(h1.losses["D"]) == 12
    assert sorted(h1.samples) == [4, 8, 12] and h1.samples[12].shape == (64, 3, 32, 32)


def test_another_seed_gives_another_run(images):
    gen, disc = tiny_setup()
    h1 = train.train_gan(gen, disc, images, tiny_cfg(), device="cpu")
    gen, disc = tiny_setup()
    h2 = train.train_gan(gen, disc, images, tiny_cfg(seed=1), device="cpu")
    assert h1.losses["D"] != h2.losses["D"]


def test_resume_equals_uninterrupted(images, tmp_path):
    gen, disc = tiny_setup()
    full = train.train_gan(gen, disc, images, tiny_cfg(), device="cpu")
    full_params = params(gen)

    ckpt = tmp_path / "run.pt"
    gen, disc = tiny_setup()
    train.train_gan(gen, disc, images, tiny_cfg(iters=7), device="cpu", checkpoint=ckpt)
    gen, disc = tiny_setup(seed=99)  # fresh objects: everything must come from the checkpoint
    resumed = train.train_gan(gen, disc, images, tiny_cfg(), device="cpu", checkpoint=ckpt)
    assert resumed.losses["D"] == full.losses["D"] and resumed.losses["G"] == full.losses["G"]
    assert torch.equal(params(gen), full_params)
    # the interrupted session also saved a grid at its last iteration (7)
    assert set(resumed.samples) == set(full.samples) | {7}
    assert all(torch.equal(resumed.samples[k], full.samples[k]) for k in full.samples)
    # a finished run returns at once with its history
    again = train.train_gan(*tiny_setup(), images, tiny_cfg(), device="cpu", checkpoint=ckpt)
    assert again.losses["D"] == full.losses["D"]


def test_checkpoint_of_another_run_is_refused(images, tmp_path):
    ckpt = tmp_path / "run.pt"
    train.train_gan(*tiny_setup(), images, tiny_cfg(iters=3), device="cpu", checkpoint=ckpt)
    with pytest.raises(train.CheckpointError, match="lr"):
        train.train_gan(*tiny_setup(), images, tiny_cfg(lr=1e-2), device="cpu", checkpoint=ckpt)


def test_corrupted_checkpoint_gives_a_clear_error(images, tmp_path):
    ckpt = tmp_path / "run.pt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(train.CheckpointError, match="delete it"):
        train.train_gan(*tiny_setup(), images, tiny_cfg(), device="cpu", checkpoint=ckpt)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    train.save_checkpoint(path, {"a": torch.ones(2)})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        train.save_checkpoint(path, {"a": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(train.load_checkpoint(path)["a"], torch.ones(2)), "the old checkpoint survives"


def test_nan_loss_stops_with_a_clear_message(images):
    def exploding_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
        d, g = train.gan_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn)
        return d * math.nan, g

    with pytest.raises(train.TrainingDiverged, match="the D loss became nan at iteration 1"):
        train.train_gan(*tiny_setup(), images, tiny_cfg(), step=exploding_step, device="cpu")


def test_data_outside_minus_one_one_is_rejected():
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        train.train_gan(*tiny_setup(), torch.rand(20, 3, 32, 32) * 255, tiny_cfg(), device="cpu")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        train.train_gan(*tiny_setup(), torch.rand(20, 32, 32), tiny_cfg(), device="cpu")
    nan = torch.zeros(20, 3, 32, 32)
    nan[3, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        train.train_gan(*tiny_setup(), nan, tiny_cfg(), device="cpu")


def test_student_step_losses_evaluators_and_callbacks_plug_in(images):
    calls, seen = [], []

    def my_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):
        calls.append(real.shape)
        return train.gan_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn)

    h = train.train_gan(
        *tiny_setup(), images, tiny_cfg(loss="lsgan"), step=my_step, device="cpu",
        evaluators={"const": lambda gen: 1.5}, callbacks=[lambda it, hist: seen.append(it)],
    )
    assert len(calls) == 12 and calls[0] == (8, 3, 32, 32)
    assert h.metrics["const"] == [(6, 1.5), (12, 1.5)]
    assert seen == [5, 10, 12]


def test_diffaugment_trains(images):
    h = train.train_gan(*tiny_setup(), images, tiny_cfg(augment="diffaugment"), device="cpu")
    assert len(h.losses["D"]) == 12 and all(math.isfinite(v) for v in h.losses["D"])


def test_profiles_and_device(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert config.current_profile() == "smoke"
    monkeypatch.setenv("LABUTILS_PROFILE", "quick")
    assert config.current_profile() == "quick"
    cfg = config.with_profile(config.DCGANConfig(), "lab1")
    assert cfg.profile == "quick" and cfg.iters == config.BUDGETS["lab1"]["quick"]["iters"]
    monkeypatch.setenv("LABUTILS_PROFILE", "fast")
    with pytest.raises(ValueError, match="not a profile"):
        config.current_profile()
    monkeypatch.delenv("LABUTILS_PROFILE")
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert config.current_profile() == ("full" if torch.cuda.is_available() else "quick")
    monkeypatch.setenv("LABUTILS_DEVICE", "cpu")
    assert config.get_device() == torch.device("cpu")
