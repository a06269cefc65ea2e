"""Train the emoji feature network of ``labutils.metrics`` and bundle its weights.

    python scripts/train_feature_net.py             # ~1.5 min on 2 idle cores, 9 on busy ones
    python scripts/train_feature_net.py --no-write  # train and report, write nothing

Task: tell the emoji apart. Every TRAIN emoji (1,417) is one class with three examples, its
google, twitter and windows images; a second head names the style (3 classes). Both heads are
linear on the 128-d output of ``metrics.EmojiFeatures.unnormalized`` (the metrics use it rescaled
to length sqrt(128)); loss = CE(identity, label smoothing 0.1) + 0.5 CE(style). Augmentation, fresh every batch: shift up to 3 px (white fills the
border), flip left-right, saturation x0.7-1.3, contrast x0.8-1.2, brightness +-0.1.
No hue change (a red and a blue heart are different emoji) and no blur or noise (the metric
must see those). AdamW with a one-cycle learning rate; seeded and deterministic on one machine.

The test split is never trained on; it measures whether the embedding generalises to unseen
emoji: for each test emoji in one style, is its nearest neighbour (cosine) among the 169 test
emoji of another style the same emoji? Writes ``labutils/bundled/emoji_features.pt`` (float16
state_dict of the feature network only; the heads are dropped) and its MANIFEST.json entry.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from manifest import bundle_weights, half_state
from torch import Tensor, nn

from labutils import augment as augment_lib
from labutils import data, metrics

OUT = data.BUNDLED_DIR / metrics.FEATURES_FILE


def augment(x: Tensor, g: torch.Generator, shift: int = 3) -> Tensor:
    """Random shift, flip and colour for a batch (B, 3, S, S) in [-1, 1]; same shape and range."""
    b, c, h, w = x.shape

    def u(lo: float, hi: float) -> Tensor:
        return (lo + (hi - lo) * torch.rand(b, generator=g)).view(b, 1, 1, 1)

    padded = F.pad(x, (shift,) * 4, value=1.0)  # white border, (B, C, S + 2 shift, S + 2 shift)
    top, left = torch.randint(0, 2 * shift + 1, (2, b), generator=g)
    flip = torch.rand(b, generator=g) < 0.5
    x = augment_lib._crop(padded, top, left, h, w, flip)  # shifted, some mirrored: (B, C, S, S)
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * u(0.7, 1.3)  # saturation
    mean = x.mean((1, 2, 3), keepdim=True)
    return (mean + (x - mean) * u(0.8, 1.2) + u(-0.1, 0.1)).clamp(-1, 1)  # contrast, brightness


@torch.no_grad()
def retrieval(model: nn.Module) -> float:
    """Mean top-1 cross-style retrieval accuracy on the test split (6 ordered style pairs)."""
    model.eval()
    emb = {s: F.normalize(model(data.load_emoji(s, split="test")), dim=1) for s in data.STYLES}
    accs = []
    for a, b in itertools.permutations(data.STYLES, 2):
        nearest = (emb[a] @ emb[b].T).argmax(1)
        accs.append((nearest == torch.arange(len(nearest))).float().mean().item())
    return sum(accs) / len(accs)


def train(args: argparse.Namespace) -> tuple[metrics.EmojiFeatures, dict[str, float]]:
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    g = torch.Generator().manual_seed(args.seed)
    images = torch.cat([data.load_emoji(s, split="train") for s in data.STYLES])  # (3M, 3, 32, 32)
    m = len(images) // len(data.STYLES)
    ident = torch.arange(m).repeat(len(data.STYLES))  # (3M,)
    style = torch.arange(len(data.STYLES)).repeat_interleave(m)

    features = metrics.EmojiFeatures()
    heads = nn.ModuleDict(
        {"id": nn.Linear(features.num_features, m), "style": nn.Linear(features.num_features, 3)}
    )
    params = list(features.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=5e-4)
    steps_per_epoch = len(images) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, args.lr, total_steps=args.epochs * steps_per_epoch
    )
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        features.train()
        perm = torch.randperm(len(images), generator=g)
        total = correct = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            emb = features.unnormalized(augment(images[idx], g))
            logits = heads["id"](emb)
            loss = F.cross_entropy(logits, ident[idx], label_smoothing=0.1)
            loss = loss + 0.5 * F.cross_entropy(heads["style"](emb), style[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            correct += (logits.argmax(1) == ident[idx]).float().mean().item()
        print(
            f"epoch {epoch + 1}/{args.epochs}: loss {total / steps_per_epoch:.3f}, "
            f"augmented id accuracy {correct / steps_per_epoch:.3f}, {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    features.eval()
    with torch.no_grad():
        emb = torch.cat([features.unnormalized(c) for c in images.split(500)])
        id_acc = (heads["id"](emb).argmax(1) == ident).float().mean().item()
        style_acc = (heads["style"](emb).argmax(1) == style).float().mean().item()
    report = {
        "seconds": time.perf_counter() - t0,
        "train_id_accuracy": id_acc,
        "train_style_accuracy": style_acc,
        "test_retrieval": retrieval(features),
    }
    return features, report


def manifest_entry(args: argparse.Namespace, report: dict[str, float]) -> dict:
    """What MANIFEST.json says of the weights this run writes."""
    return dict(
        description="float16 state_dict of labutils.metrics.EmojiFeatures: the 128-d "
        "emoji embedding of metrics.FrechetDistance and metrics.KernelDistance",
        copyright="labutils authors; weights trained on the train split of the bundled "
        "emoji (their licences: ATTRIBUTION.md)",
        source={
            "script": "scripts/train_feature_net.py",
            "version": "1",
            "args": f"--seed {args.seed} --epochs {args.epochs} --batch-size {args.batch_size} "
            f"--lr {args.lr}",
            "test_retrieval_top1": round(report["test_retrieval"], 3),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (2: shared machines)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-write", action="store_true", help="train and report only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    features, report = train(args)
    state = half_state(features)
    reloaded = metrics.EmojiFeatures()
    reloaded.load_state_dict(state)
    report["test_retrieval_float16"] = retrieval(reloaded)
    print(", ".join(f"{k} {v:.3f}" for k, v in report.items()))
    if not args.no_write:
        bundle_weights(args.out, state, **manifest_entry(args, report))


if __name__ == "__main__":
    main()
