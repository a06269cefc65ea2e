"""Training under load: 1, 2 and 4 Lab 1 trainings at once on one machine; each one's it/s and the total.

    python benchmarks/under_load.py                       # labutils' default: threads follow the load
    python benchmarks/under_load.py --setting torch       # torch's defaults: every core, OMP spinning
    python benchmarks/under_load.py --procs 1 2 4 --seconds 20

Each process trains the Lab 1 DCGAN (``train_speed.py``'s labutils path: batch 16, 32x32 emoji,
nz 64, widths 32) in rounds of ``--round-iters`` iterations for ``--seconds`` after a warm-up,
and reports its median it/s. All processes of a count start together (they wait on a shared
start time) so that they overlap for the whole measurement.

Settings, applied through each process's environment before torch starts:

- ``torch``: ``OMP_WAIT_POLICY`` unset and the thread count fixed where torch puts it
  (``LABUTILS_THREADS`` = ``os.cpu_count()``), as a plain script has it: labutils before it
  followed the load;
- ``one-thread``: one torch thread per process (``OMP_NUM_THREADS=1``), OpenMP's default wait;
- ``passive``: ``OMP_WAIT_POLICY=PASSIVE`` (``sandbox.OPENMP_ENV``, what the autograder's
  kernels get) and labutils' thread count, fixed;
- ``labutils``: labutils' default, nothing in the environment: the thread count starts at
  ``config.available_cpus()`` (affinity and cgroup quota) and follows the load
  (``config.LoadFollower``).

Each process prints the thread counts its timed rounds ended with (``threads``).

The goal (issue #13): with 2 and 4 processes the total is at least 0.8 times the one-process
figure. Run it on an otherwise idle machine: it is itself the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(args) -> None:
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import train_speed  # imports labutils, which sets the thread count

    bench = train_speed.Labutils(16, torch.device("cpu"), seed=0, switches={}, n=None)
    bench.run(args.warmup)
    while time.time() < args.start:
        time.sleep(0.01)
    rates, threads, stop = [], [], time.time() + args.seconds
    while time.time() < stop:
        rates.append(args.round_iters / bench.run(args.round_iters))
        threads.append(torch.get_num_threads())
    print(json.dumps({"pid": os.getpid(), "threads": sorted(set(threads)), "it_s": statistics.median(rates), "rounds": len(rates)}))


def run_count(n: int, args) -> dict:
    env = dict(os.environ)
    for key in ("OMP_WAIT_POLICY", "LABUTILS_THREADS", "OMP_NUM_THREADS"):
        env.pop(key, None)
    if args.setting == "passive":
        from labutils import config, sandbox

        env.update(sandbox.OPENMP_ENV)
        env["LABUTILS_THREADS"] = str(config.available_cpus())  # fixed, as in a grading kernel
    if args.setting == "torch":
        env["LABUTILS_THREADS"] = str(os.cpu_count() or 1)  # torch's own default, fixed
    if args.setting == "one-thread":
        env["OMP_NUM_THREADS"] = "1"
    for item in args.set:
        key, _, value = item.partition("=")
        env[key] = value
    start = time.time() + 15 + 3 * n  # after every process has loaded and warmed up
    cmd = [sys.executable, __file__, "--child", "--setting", args.setting, "--seconds", str(args.seconds),
           "--round-iters", str(args.round_iters), "--warmup", str(args.warmup), "--start", str(start)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    results = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"a training process failed (exit {p.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    threads = sorted({t for r in results for t in r["threads"]})
    return {"procs": n, "each": [r["it_s"] for r in results], "threads": threads, "total": sum(r["it_s"] for r in results)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--setting", choices=("labutils", "torch", "one-thread", "passive"), default="labutils")
    p.add_argument("--seconds", type=float, default=20.0, help="timed seconds per process")
    p.add_argument("--round-iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="an extra environment variable for the trainings (repeatable)")
    p.add_argument("--out", type=Path, default=None, help="JSON results (default: print only)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--start", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    from labutils import config

    print(f"setting {args.setting} {' '.join(args.set)}; {os.cpu_count()} cores seen, {config.available_cpus()} available; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    rows = [run_count(n, args) for n in args.procs]
    single = next((r["total"] for r in rows if r["procs"] == 1), None)
    print(f"{'procs':>5} {'threads':>7} {'each it/s':>28} {'total it/s':>10} {'x single':>8}")
    for r in rows:
        each = ", ".join(f"{x:.1f}" for x in r["each"])
        ratio = f"{r['total'] / single:.2f}" if single else "n/a"
        threads = "/".join(str(t) for t in r["threads"])
        print(f"{r['procs']:>5} {threads:>7} {each:>28} {r['total']:>10.1f} {ratio:>8}")
    if args.out:
        args.out.write_text(json.dumps({"setting": args.setting, "set": args.set, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
