"""Lab 5's reference code: the conditional generator and discriminator, the step and its runner."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from labutils import config, grading, losses, models, train
from labutils.models.conditional import one_hot


def digits(n=64, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_shapes_and_one_hot_labels():
    gen, disc = models.ConditionalGenerator(nz=16, ngf=8), models.ConditionalDiscriminator(ndf=8)
    y = one_hot(torch.tensor([0, 3, 9, 3, 1]))
    assert y.shape == (5, 10) and y.sum(1).eq(1).all()
    out = gen(torch.randn(5, 16), y)
    assert out.shape == (5, 1, 28, 28)
    grading.assert_output_range(out, -1, 1, what="cG")
    assert disc(out, y).shape == (5,)
    assert not grading.has_module(disc, torch.nn.Sigmoid)


def test_the_label_changes_both_networks():
    torch.manual_seed(0)
    gen, disc = models.ConditionalGenerator(nz=16, ngf=8).eval(), models.ConditionalDiscriminator(ndf=8).eval()
    z = torch.randn(10, 16)
    same_z = z[:1].repeat(10, 1)
    with torch.no_grad():
        images = gen(same_z, one_hot(torch.arange(10)))  # one z, ten classes
        assert float((images[1:] - images[:1]).abs().amax(dim=(1, 2, 3)).min()) > 1e-3
        x = digits(1).repeat(10, 1, 1, 1)
        logits = disc(x, one_hot(torch.arange(10)))  # one image, ten claimed classes
        assert float(logits.std()) > 1e-4


def test_bad_labels_get_clear_errors():
    gen, disc = models.ConditionalGenerator(nz=16, ngf=8), models.ConditionalDiscriminator(ndf=8)
    with pytest.raises(TypeError, match="one-hot float labels"):
        gen(torch.randn(4, 16), torch.tensor([1, 2, 3, 4]))  # integer labels where one-hot is specified
    with pytest.raises(ValueError, match=r"shape \(4, 10\)"):
        disc(digits(4), one_hot(torch.tensor([1, 2, 3, 4])).T)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        one_hot(torch.tensor([3, 10]))
    with pytest.raises(TypeError, match="integer tensor"):
        one_hot(torch.tensor([0.0, 1.0]))


def small(condition_d=True, seed=0):
    cfg = config.CGANConfig(nz=8, ngf=4, ndf=4, batch_size=8, seed=seed, condition_d=condition_d,
                            iters=4, sample_every=2, eval_every=2, n_eval=16, log_every=2)
    return cfg, *train.cgan_models(cfg)


@pytest.mark.parametrize("condition_d", [True, False])
def test_step_updates_d_then_g_each_alone(condition_d):
    cfg, gen, disc = small(condition_d)
    opt_g, opt_d = train.make_optimizers(gen, disc, cfg, torch.device("cpu"))
    y = one_hot(torch.arange(8) % 10)
    with grading.record_steps({"D": opt_d, "G": opt_g}, {"D": disc, "G": gen}) as rec:
        d_loss, g_loss = train.cgan_step(gen, disc, opt_g, opt_d, digits(8), y, torch.randn(8, 8), y.flip(0),
                                         condition_d=condition_d)
    assert rec.order == ["D", "G"]
    assert [e.changed for e in rec.events] == [("D",), ("G",)]
    assert not d_loss.requires_grad and not g_loss.requires_grad


def test_runner_draws_real_labels_with_their_images_and_uniform_fake_labels(one_thread):
    cfg, gen, disc = small()
    labels = torch.arange(64) % 10
    images = digits(64)
    seen = {"real": [], "fake": []}

    def spy(gen, disc, opt_g, opt_d, real, y_real, z, y_fake, d_loss_fn, g_loss_fn, condition_d=True):
        # each real image comes with its own label (row i of the data has label i % 10)
        rows = [int((images - r).abs().flatten(1).sum(1).argmin()) for r in real]
        assert torch.equal(y_real.argmax(1), torch.tensor(rows) % 10)
        seen["fake"].append(y_fake.argmax(1))
        return train.cgan_step(gen, disc, opt_g, opt_d, real, y_real, z, y_fake, d_loss_fn, g_loss_fn, condition_d=condition_d)

    history = train.train_cgan(gen, disc, images, labels, dataclasses.replace(cfg, iters=30, log_every=10, sample_every=30, eval_every=30),
                               step=spy, device="cpu", progress=False)
    counts = torch.bincount(torch.cat(seen["fake"]), minlength=10)
    assert counts.min() > 0, f"fake labels must cover every class: {counts.tolist()}"
    grid = history.samples[30]
    assert grid.shape == (80, 1, 28, 28)  # one row of 8 per class


def test_class_grid_repeats_the_noise_in_every_row():
    cfg = config.CGANConfig(nz=5)
    z, y = train.class_grid_inputs(cfg, per_class=3)
    assert z.shape == (30, 5) and y.shape == (30, 10)
    assert torch.equal(z[:3], z[3:6]) and torch.equal(y.argmax(1), torch.arange(10).repeat_interleave(3))


def test_runner_checks_labels_and_resumes(tmp_path, one_thread):
    cfg, gen, disc = small()
    with pytest.raises(ValueError, match="one per image"):
        train.train_cgan(gen, disc, digits(16), torch.arange(8), cfg, device="cpu", progress=False)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        train.train_cgan(gen, disc, digits(16), torch.arange(16), cfg, device="cpu", progress=False)
    labels = torch.arange(32) % 10
    whole = train.train_cgan(gen, disc, digits(32), labels, cfg, device="cpu", progress=False)
    _, gen2, disc2 = small()
    path = tmp_path / "c.pt"
    train.train_cgan(gen2, disc2, digits(32), labels, dataclasses.replace(cfg, iters=2), device="cpu", progress=False,
                     checkpoint=path, checkpoint_every=2)
    _, gen3, disc3 = small()
    resumed = train.train_cgan(gen3, disc3, digits(32), labels, cfg, device="cpu", progress=False, checkpoint=path)
    assert resumed.losses == whole.losses
    assert losses.get(cfg.loss)[0] is losses.bce_d_loss
