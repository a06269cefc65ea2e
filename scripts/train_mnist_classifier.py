"""Train the digit classifier of ``labutils.metrics`` (the MNIST kit) and bundle its weights.

    python scripts/train_mnist_classifier.py             # about a minute on 2 idle cores
    python scripts/train_mnist_classifier.py --no-write  # train and report, write nothing

Data: the 8,000 bundled training digits, each batch shifted by up to 2 pixels at random. The
2,000 held-out digits (``load_mnist(split="test")``) are never trained on; the accuracy on them
is reported and written into MANIFEST.json.

Outlier exposure: every batch also holds non-digits (uniform noise, smooth noise blobs, blank
images of one grey level, digits with their pixels shuffled), trained towards the uniform
distribution (1/10 per class), so that ``metrics.plausibility`` (the top-class confidence) is
low on images that are no digit at all rather than confidently wrong. Blurred digits are not
among them: the tests use those to check that the metrics see what was never trained on.

Writes ``labutils/bundled/mnist_classifier.pt`` (float16 state_dict) and its MANIFEST.json
entry. Seeded and deterministic on one machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from manifest import bundle_weights, half_state
from torch import Tensor

from labutils import data, metrics

OUT = data.BUNDLED_DIR / metrics.CLASSIFIER_FILE


def shift(x: Tensor, g: torch.Generator, pixels: int = 2) -> Tensor:
    """Shift each digit (B, 1, 28, 28) by up to ``pixels`` in x and y; background fills in."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pixels,) * 4, value=-1.0)
    top, left = torch.randint(0, 2 * pixels + 1, (2, b), generator=g)
    rows = (top[:, None] + torch.arange(h))[:, :, None]  # (B, h, 1)
    cols = (left[:, None] + torch.arange(w))[:, None, :]  # (B, 1, w)
    return padded[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)


def outliers(digits: Tensor, n: int, g: torch.Generator) -> Tensor:
    """``n`` non-digits (n, 1, 28, 28) in [-1, 1]: four kinds in equal parts."""
    k = n // 4
    noise = torch.rand(k, 1, 28, 28, generator=g) * 2 - 1
    blobs = F.interpolate(torch.rand(k, 1, 7, 7, generator=g) * 2 - 1, size=28, mode="bilinear")
    blank = (torch.rand(k, 1, 1, 1, generator=g) * 2 - 1).expand(k, 1, 28, 28)
    picked = digits[torch.randint(0, len(digits), (n - 3 * k,), generator=g)].flatten(1)
    order = torch.argsort(torch.rand(picked.shape, generator=g), dim=1)
    shuffled = picked.gather(1, order).view(-1, 1, 28, 28)
    return torch.cat([noise, blobs, blank, shuffled])


@torch.no_grad()
def accuracy(model: metrics.MNISTClassifier, x: Tensor, y: Tensor) -> float:
    model.eval()
    return float((torch.cat([model(c) for c in x.split(500)]).argmax(1) == y).float().mean())


def train(args: argparse.Namespace) -> tuple[metrics.MNISTClassifier, dict[str, float]]:
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    x, y = data.load_mnist(split="train")  # (8000, 1, 28, 28), (8000,)
    x_test, y_test = data.load_mnist(split="test")
    model = metrics.MNISTClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps_per_epoch = len(x) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.epochs * steps_per_epoch)
    n_out = args.batch_size // 4
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        total = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            logits = model(torch.cat([shift(x[idx], g), outliers(x, n_out, g)]))
            loss = F.cross_entropy(logits[: len(idx)], y[idx])
            loss = loss + args.outlier_weight * -logits[len(idx) :].log_softmax(1).mean()  # CE to uniform
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss {total / steps_per_epoch:.4f}, "
            f"held-out accuracy {accuracy(model, x_test, y_test):.4f}, {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    report = {
        "seconds": time.perf_counter() - t0,
        "train_accuracy": accuracy(model, x, y),
        "test_accuracy": accuracy(model, x_test, y_test),
    }
    return model, report


def manifest_entry(args: argparse.Namespace, report: dict[str, float]) -> dict:
    """What MANIFEST.json says of the weights this run writes."""
    return dict(
        description="float16 state_dict of labutils.metrics.MNISTClassifier: the digit "
        "classifier of metrics.DigitMetrics, mode_coverage, plausibility and class_accuracy",
        copyright="labutils authors; weights trained on the train split of the bundled "
        "MNIST digits (their licence: ATTRIBUTION.md)",
        source={
            "script": "scripts/train_mnist_classifier.py",
            "version": "1",
            "args": f"--seed {args.seed} --epochs {args.epochs} --batch-size {args.batch_size} "
            f"--lr {args.lr} --outlier-weight {args.outlier_weight}",
            "test_accuracy": round(report["test_accuracy_float16"], 4),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--outlier-weight", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (2: shared machines)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-write", action="store_true", help="train and report only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, report = train(args)
    state = half_state(model)
    reloaded = metrics.MNISTClassifier()
    reloaded.load_state_dict(state)
    x_test, y_test = data.load_mnist(split="test")
    report["test_accuracy_float16"] = accuracy(reloaded, x_test, y_test)
    print(", ".join(f"{k} {v:.4f}" for k, v in report.items()))
    if not args.no_write:
        bundle_weights(args.out, state, **manifest_entry(args, report))


if __name__ == "__main__":
    main()
