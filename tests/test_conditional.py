"""Lab 5's reference code: the conditional generator and discriminator, the step and its runner."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from labutils import config, data, grading, losses, metrics, models, train
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
    labels = torch.arange(8) % 10
    with grading.record_steps({"D": opt_d, "G": opt_g}, {"D": disc, "G": gen}) as rec:
        d_loss, g_loss = train.cgan_step(gen, disc, opt_g, opt_d, digits(8), labels, torch.randn(8, 8), labels.flip(0))
    assert rec.order == ["D", "G"]
    assert [e.changed for e in rec.events] == [("D",), ("G",)]
    assert not d_loss.requires_grad and not g_loss.requires_grad


class Recording(torch.nn.Module):
    """Wraps a network and records the labels of every call, by which batch came with them."""

    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, []

    def forward(self, x, y):
        self.calls.append((x.detach().clone(), y.detach().clone()))
        return self.net(x, y)


def test_step_gives_each_batch_its_own_labels_one_hot():
    cfg, gen, disc = small()
    gen, disc = Recording(gen), Recording(disc)
    opt_g, opt_d = train.make_optimizers(gen, disc, cfg, torch.device("cpu"))
    real, real_labels, fake_labels = digits(8), torch.tensor([0, 1, 2, 3, 4, 5, 6, 7]), torch.tensor([9, 9, 8, 8, 7, 7, 6, 6])
    train.cgan_step(gen, disc, opt_g, opt_d, real, real_labels, torch.randn(8, 8), fake_labels)
    assert len(gen.calls) == 1 and torch.equal(gen.calls[0][1], one_hot(fake_labels))
    (x0, y0), (x1, y1), (x2, y2) = disc.calls  # D(real), D(fake) for D's update, D(fake) for G's
    assert torch.equal(x0, real) and torch.equal(y0, one_hot(real_labels))
    assert torch.equal(y1, one_hot(fake_labels)) and torch.equal(y2, one_hot(fake_labels))
    with pytest.raises(TypeError, match="one-hot"):  # integer labels where one-hot is specified
        disc.net(real, real_labels)


def test_label_blind_discriminator_ignores_the_label():
    torch.manual_seed(0)
    d = models.LabelBlind(models.MNISTDiscriminator(ndf=4)).eval()
    x = digits(4)
    assert torch.equal(d(x, one_hot(torch.tensor([0, 1, 2, 3]))), d(x, one_hot(torch.tensor([9, 9, 9, 9]))))
    with pytest.raises(ValueError, match=r"shape \(4, 10\)"):
        d(x, one_hot(torch.tensor([0, 1])))


def test_runner_draws_real_labels_with_their_images_and_uniform_fake_labels(one_thread):
    cfg, gen, disc = small()
    labels = torch.arange(64) % 10
    images = digits(64)
    seen = {"real": [], "fake": []}

    def spy(gen, disc, opt_g, opt_d, real, real_labels, z, fake_labels, d_loss_fn, g_loss_fn, n_classes=10):
        # each real image comes with its own label (row i of the data has label i % 10)
        rows = [int((images - r).abs().flatten(1).sum(1).argmin()) for r in real]
        assert torch.equal(real_labels, torch.tensor(rows) % 10)
        seen["fake"].append(fake_labels)
        return train.cgan_step(gen, disc, opt_g, opt_d, real, real_labels, z, fake_labels, d_loss_fn, g_loss_fn, n_classes=n_classes)

    history = train.train_cgan(gen, disc, images, labels, dataclasses.replace(cfg, iters=30, log_every=10, sample_every=30, eval_every=30),
                               step=spy, device="cpu", progress=False)
    fake = torch.cat(seen["fake"])
    assert fake.dtype == torch.long and fake.shape == (30 * 8,)
    counts = torch.bincount(fake, minlength=10)
    assert counts.min() > 0, f"fake labels must cover every class: {counts.tolist()}"
    # uniform: a chi-square test at the 0.1% level (27.9 for 9 degrees of freedom)
    expected = len(fake) / 10
    assert float(((counts - expected) ** 2 / expected).sum()) < 27.9, counts.tolist()
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


def stroke(slope=0.0, width=1, n=1):
    """Digits of one straight vertical stroke through the centre, leaning by ``slope`` columns
    per row going up, ``width`` pixels wide: (n, 1, 28, 28) in [-1, 1]."""
    img = -torch.ones(n, 1, 28, 28)
    for r in range(4, 24):
        c = round(14 + slope * (14 - r))
        img[:, 0, r, c : c + width] = 1
    return img


def test_ink_mass_and_slant_measure_the_strokes():
    assert float(metrics.ink_mass(-torch.ones(2, 1, 28, 28)).max()) == 0
    assert float(metrics.ink_mass(torch.ones(1, 1, 28, 28))) == 1
    assert float(metrics.ink_mass(stroke(width=3))) == pytest.approx(3 * float(metrics.ink_mass(stroke(width=1))))
    assert float(metrics.slant(stroke(0.0))) == pytest.approx(0, abs=1e-9)
    assert float(metrics.slant(stroke(0.5))) == pytest.approx(0.5, abs=0.05)  # leaning right
    assert float(metrics.slant(stroke(-0.3))) == pytest.approx(-0.3, abs=0.05)  # leaning left
    assert float(metrics.slant(-torch.ones(1, 1, 28, 28))) == 0  # blank: no slant, no NaN
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        metrics.slant(torch.zeros(2, 3, 28, 28))


def test_style_correlation_is_one_when_z_sets_the_style_and_near_zero_otherwise():
    g = torch.Generator().manual_seed(0)
    style = torch.rand(200, 1, generator=g)  # one value per z
    same = style * torch.linspace(1, 2, 10) + 0.01 * torch.randn(200, 10, generator=g)
    assert metrics.style_correlation(same) > 0.99
    shuffled = torch.stack([same[torch.randperm(200, generator=g), c] for c in range(10)], 1)
    assert abs(metrics.style_correlation(shuffled)) < 0.1
    assert metrics.style_correlation(-same[:, :2] * torch.tensor([1.0, -1.0])) < -0.99
    with pytest.raises(ValueError, match="constant"):
        metrics.style_correlation(torch.ones(5, 3))
    with pytest.raises(ValueError, match="n_z >= 3"):
        metrics.style_correlation(torch.ones(5))


def test_digit_metrics_score_a_conditional_generator(one_thread):
    m = metrics.DigitMetrics(n=60)
    held_out, labels = data.load_mnist(split="test")
    scores = m.score(held_out[:500], labels[:500])
    assert scores["accuracy"] > 0.95 and set(scores) >= {"fcd", "covered", "kl", "confidence", "plausible"}
    assert m.score(held_out[:500], (labels[:500] + 1) % 10)["accuracy"] < 0.05

    class Lookup(torch.nn.Module):
        """A 'generator' that returns a held-out digit of the class asked for (of its noise's sign)."""

        nz, n_classes = 4, 10

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))
            self.bank = [held_out[labels == c][:2] for c in range(10)]

        def forward(self, z, y):
            models.conditional.check_one_hot(y, len(z), 10)
            return torch.stack([self.bank[int(c)][int(s > 0)] for c, s in zip(y.argmax(1), z[:, 0])]) + 0 * self.w

    images, asked = m.conditional_samples(Lookup())
    assert images.shape == (60, 1, 28, 28) and torch.equal(asked, torch.arange(60) % 10)
    scores = m.conditional(Lookup())
    assert scores["accuracy"] > 0.9 and scores["covered"] == 10
    with pytest.raises(ValueError, match="integer classes"):
        m.score(held_out[:4], torch.zeros(4))
