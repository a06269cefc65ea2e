"""Markdown tables from the JSON that benchmarks/train_speed.py writes.

One paragraph saying how a result was made (device, versions, commit, switches, budget, load)
and one table per result file. scripts/prepare_book.py writes these into the book's appendix
(book/performance.md includes them), so the book shows the numbers of the committed JSON files
and nothing typed by hand.

    python benchmarks/results_table.py                      # every benchmarks/results/*.json
    python benchmarks/results_table.py benchmarks/results/cpu.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PATHS = {"baseline": "classic course code", "labutils": "labutils"}
MODELS = {"dcgan": "DCGAN (Lab 1)", "cyclegan": "CycleGAN (Lab 3)", "wgan-gp": "WGAN-GP (Lab 4)"}  # results before Lab 3: DCGAN


def result_files(device: str | None = None, folder: Path = RESULTS) -> list[Path]:
    """The JSON results in ``folder``; ``device='cpu'`` or ``'cuda'`` keeps that kind only."""
    files = sorted(folder.glob("*.json"))
    if device is not None:
        files = [f for f in files if json.loads(f.read_text()).get("device", "").split(":")[0] == device]
    return files


def _switches(switches: dict) -> str:
    on = []
    for name, value in switches.items():
        if name == "cudnn_benchmark":
            on += [] if value else ["cudnn_benchmark off"]
        elif value is True:
            on.append(name)
        elif value is False or value is None:
            continue
        else:
            on.append(f"{name}={value}")
    return ", ".join(on) if on else "labutils' defaults"


def provenance(result: dict, name: str) -> str:
    """How the numbers in ``result`` (read from the file ``name``) were made, in one paragraph."""
    commit = (result.get("git_commit") or "unknown")[:10]
    dirty = " plus uncommitted changes" if result.get("git_dirty") else ""
    threads = f", {result['threads']} threads" if result.get("device") == "cpu" else ""
    rounds = result["rounds"]
    return (
        f"`{name}`: {result['device']} ({result['device_name']}){threads}; torch {result['torch']}, "
        f"Python {result['python']}; commit `{commit}`{dirty}. labutils switches: "
        f"{_switches(result.get('switches', {}))}. {result['iters']} timed iterations per path in "
        f"{rounds} alternating rounds after {result['warmup']} warm-up iterations; it/s is the "
        f"median round (slowest and fastest round in brackets). Matmul peak "
        f"{result['matmul_gflop_per_s']:.0f} GFLOP/s ({result['matmul_size']}x{result['matmul_size']} "
        f"float32, best). Load average before and after: {result.get('loadavg_before')}, "
        f"{result.get('loadavg_after')}."
    )


def table(result: dict) -> str:
    """The result's rows: model, batch, path, it/s, ms/it, GFLOP/it, GFLOP/s, % of peak, 5,000 it, ratio."""
    lines = [
        "| model | batch | path | it/s (min-max) | ms / it | GFLOP / it | GFLOP/s | % of matmul peak "
        "| 5,000 iterations | speed-up |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["configs"]:
        model = MODELS[row.get("model", "dcgan")]
        for key, label in PATHS.items():
            r = row[key]
            lo, hi = min(r["it_per_s_rounds"]), max(r["it_per_s_rounds"])
            seconds = r["seconds_for_5000"]
            time = f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.1f} s"
            ratio = f"{row['ratio']:.2f}x" if key == "labutils" else ""
            if r["gflop_per_it"] is None:  # not counted (WGAN-GP: FlopCounterMode cannot follow autograd.grad)
                flops = "n/a | n/a | n/a"
            else:
                flops = f"{r['gflop_per_it']:.2f} | {r['gflop_per_s']:.0f} | {100 * r['fraction_of_matmul']:.0f}%"
            lines.append(
                f"| {model} | {row['batch_size']} | {label} | {r['it_per_s']:.1f} ({lo:.1f}-{hi:.1f}) "
                f"| {r['ms_per_it']:.1f} | {flops} | {time} | {ratio} |"
            )
    return "\n".join(lines)


def markdown(files: list[Path], *, none: str = "No results.") -> str:
    """Provenance and table for each file; ``none`` when there are no files."""
    if not files:
        return none + "\n"
    parts = []
    for f in files:
        result = json.loads(f.read_text())
        parts += [provenance(result, f.name), table(result)]
    return "\n\n".join(parts) + "\n"


def profile_markdown(path: Path, *, rows: int = 16) -> str:
    """benchmarks/step_profile.py's JSON: where one iteration's time goes, and a table of operators."""
    r = json.loads(Path(path).read_text())
    commit = (r.get("git_commit") or "unknown")[:10]
    head = (
        f"`{Path(path).name}`: {r['device']} ({r['device_name']}), {r['threads']} threads, torch "
        f"{r['torch']}, commit `{commit}`; batch {r['batch_size']}, {r['layout']}, {r['iters']} "
        f"iterations. One iteration took {r['ms_per_it']:.1f} ms for {r['gflop_per_it']:.2f} GFLOP, "
        f"{100 * r['fraction_of_matmul']:.0f}% of the matmul peak ({r['matmul_gflop_per_s']:.0f} "
        f"GFLOP/s). Of that, the convolutions (forward and backward) took {r['conv_ms']:.1f} ms at "
        f"{100 * r['conv_fraction_of_matmul']:.0f}% of the peak, all other operators "
        f"{r['other_ops_ms']:.1f} ms, and time outside operators (Python, autograd) "
        f"{r['outside_ops_ms']:.1f} ms."
    )
    lines = [
        "| operator | input shapes | calls / it | ms / it | GFLOP / it | % of matmul peak |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for op in r["ops"][:rows]:
        frac = f"{100 * op['fraction_of_matmul']:.0f}%" if op["fraction_of_matmul"] else "-"
        lines.append(
            f"| `{op['op']}` | {op['shapes']} | {op['calls_per_it']} | {op['ms_per_it']:.2f} "
            f"| {op['gflop_per_it']:.3f} | {frac} |"
        )
    return head + "\n\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    files = [Path(a) for a in args] or result_files()
    print(markdown(files), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
