"""Where the time of one labutils training iteration goes, operator by operator.

Runs the reference Lab 1 DCGAN's ``train.gan_step`` (32x32, nz 64, width 32, BCE) with
labutils' default layout and Adam kernel on one device, and times every ATen operator call
inside a ``TorchDispatchMode``; FLOPs per call come from the formulas that
``torch.utils.flop_counter`` uses. It prints, per operator and input shapes, the calls, time and
GFLOP per iteration and the achieved fraction of the machine's matmul peak, then a summary:
convolutions against everything else, and the time outside any operator (Python, autograd).

This is what explains the CPU numbers in the book's appendix (book/performance.md): the
convolutions with 32 to 128 channels run near the matmul peak, while the layers with 3 channels
or a kernel as large as their input, the batch norms, activations and the optimizer add time
with few FLOPs.

    python benchmarks/step_profile.py                # batch 16 on the default device
    python benchmarks/step_profile.py --batch-size 64 --top 20

Timing each call adds a little overhead, and on CUDA every call is synchronised, so the per-op
times are an upper bound; the wall time per iteration is measured without the mode.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from labutils import config, train

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from train_speed import NZ, SIZE, WIDTH, device_name, git_commit, matmul_gflops, new_models, sync  # noqa: E402


def _shapes(args) -> str:
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            out.append("x".join(map(str, a.shape)) or "scalar")
        elif isinstance(a, (list, tuple)) and a and all(isinstance(t, torch.Tensor) for t in a):
            out.append(f"[{len(a)} tensors]")
    return ", ".join(out)


class OpTimer(TorchDispatchMode):
    """Wall time and FLOPs of every ATen call, by (operator, input shapes)."""

    def __init__(self, device: torch.device):
        super().__init__()
        self.device = device
        self.registry = FlopCounterMode().flop_registry
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.flops: dict[tuple[str, str], int] = defaultdict(int)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        sync(self.device)
        t = time.perf_counter()
        out = func(*args, **kwargs)
        sync(self.device)
        dt = time.perf_counter() - t
        key = (str(func.overloadpacket.__name__), _shapes(args))
        self.seconds[key] += dt
        self.calls[key] += 1
        formula = self.registry.get(func.overloadpacket)
        if formula is not None:
            self.flops[key] += int(formula(*args, **kwargs, out_val=out))
        return out


def setup(batch_size: int, device: torch.device, seed: int = 0):
    """Reference models, optimisers and a fixed batch laid out as train_gan lays them out."""
    gen, disc = new_models(seed)
    layout = torch.channels_last if train.speed.channels_last_wins(device) else torch.contiguous_format
    gen.to(device, memory_format=layout).train()
    disc.to(device, memory_format=layout).train()
    cfg = config.DCGANConfig(batch_size=batch_size, nz=NZ, ngf=WIDTH, ndf=WIDTH)
    opt_g, opt_d = train.make_optimizers(gen, disc, cfg, device)
    real = (torch.rand(batch_size, 3, SIZE, SIZE, device=device) * 2 - 1).contiguous(memory_format=layout)

    def step():
        z = torch.randn(batch_size, NZ, device=device)
        return train.gan_step(gen, disc, opt_g, opt_d, real, z)

    return step, layout


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--iters", type=int, default=50, help="profiled iterations (and timed ones)")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--device", default=None)
    p.add_argument("--top", type=int, default=15, help="operator rows to print and save")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON results (default benchmarks/results/profiles/<device>-b<batch>.json)")
    args = p.parse_args(argv)
    device = config.get_device(args.device)
    step, layout = setup(args.batch_size, device)
    for _ in range(args.warmup):
        step()

    def timed() -> float:
        sync(device)
        t = time.perf_counter()
        for _ in range(args.iters):
            step()
        sync(device)
        return (time.perf_counter() - t) / args.iters

    wall = min(timed(), timed())  # seconds per iteration, best of two
    timer = OpTimer(device)
    with timer:
        for _ in range(args.iters):
            step()
    peak = matmul_gflops(device)
    n = args.iters

    keys = sorted(timer.seconds, key=timer.seconds.get, reverse=True)
    rows = [
        {
            "op": name,
            "shapes": shapes,
            "calls_per_it": timer.calls[(name, shapes)] // n,
            "ms_per_it": 1e3 * timer.seconds[(name, shapes)] / n,
            "gflop_per_it": timer.flops[(name, shapes)] / n / 1e9,
        }
        for name, shapes in keys[: args.top]
    ]
    for row in rows:
        row["fraction_of_matmul"] = row["gflop_per_it"] / (row["ms_per_it"] / 1e3) / peak if row["gflop_per_it"] else None
    layout_name = "channels-last" if layout == torch.channels_last else "contiguous"
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch_size}, {layout_name}; "
          f"torch {torch.__version__}; matmul peak {peak:.0f} GFLOP/s")
    print(f"{'operator':<32} {'input shapes':<44} {'calls':>5} {'ms/it':>6} {'GFLOP/it':>8} {'%peak':>6}")
    for r in rows:
        frac = f"{100 * r['fraction_of_matmul']:5.0f}%" if r["fraction_of_matmul"] else "     -"
        print(f"{r['op'][:32]:<32} {r['shapes'][:44]:<44} {r['calls_per_it']:>5} {r['ms_per_it']:6.2f} "
              f"{r['gflop_per_it']:8.3f} {frac}")

    conv = [k for k in timer.seconds if "convolution" in k[0]]
    conv_s = sum(timer.seconds[k] for k in conv) / n
    conv_f = sum(timer.flops[k] for k in conv) / n
    all_s = sum(timer.seconds.values()) / n
    all_f = sum(timer.flops.values()) / n
    summary = {
        "device": str(device),
        "device_name": device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "git_commit": git_commit(),
        "layout": layout_name,
        "iters": n,
        "matmul_gflop_per_s": peak,
        "batch_size": args.batch_size,
        "ms_per_it": 1e3 * wall,
        "gflop_per_it": all_f / 1e9,
        "fraction_of_matmul": all_f / wall / 1e9 / peak,
        "conv_ms": 1e3 * conv_s,
        "conv_fraction_of_matmul": conv_f / conv_s / 1e9 / peak if conv_s else 0.0,
        "other_ops_ms": 1e3 * (all_s - conv_s),
        "outside_ops_ms": 1e3 * (wall - all_s),
    }
    print(
        f"\nwhole iteration: {summary['ms_per_it']:.1f} ms (timed without the mode), "
        f"{summary['gflop_per_it']:.2f} GFLOP, {100 * summary['fraction_of_matmul']:.0f}% of the matmul peak\n"
        f"  convolutions, forward and backward: {summary['conv_ms']:.1f} ms at "
        f"{100 * summary['conv_fraction_of_matmul']:.0f}% of the peak\n"
        f"  all other operators (norms, activations, losses, Adam, copies): {summary['other_ops_ms']:.1f} ms\n"
        f"  outside operators (Python, autograd engine; negative: timing overhead): "
        f"{summary['outside_ops_ms']:.1f} ms"
    )
    summary["ops"] = rows
    out = args.out or ROOT / "benchmarks" / "results" / "profiles" / f"{device.type}-b{args.batch_size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out}")
    return summary


if __name__ == "__main__":
    main()
