"""Whether a widget cell can leave nbclient waiting for its reply: cells of ``interact`` run with
nbclient's own client (plain) and with the autograder's and the book's (no client-side Output
widget, ``labutils.widgets.no_client_output_widget``), optionally next to Lab 1 trainings.

    python benchmarks/widget_hang.py --cells 100 --runs 3 --load 2

Each run executes a notebook of ``--cells`` ``interact`` cells with a ``--timeout`` per cell and
prints the cells that took longer than 2 s (a cell that hangs takes the whole timeout). With
``--load N``, N trainings (``under_load.py``'s child, torch's thread count fixed) run meanwhile:
on an idle machine the plain client rarely hangs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from labutils.widgets import no_client_output_widget

ROOT = Path(__file__).resolve().parents[1]


class WithoutOutputWidget(NotebookClient):
    on_comm_open_jupyter_widget = no_client_output_widget


def run(client_class, cells: int, timeout: int) -> list[float]:
    code = ["import ipywidgets as w"] + [f"w.interact(lambda x: print('x =', x), x={i})" for i in range(cells)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in code])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = client_class(nb, timeout=timeout, kernel_name="python3")
    times, execute = [], client.async_execute_cell

    async def timed(cell, index, **kw):
        t = time.monotonic()
        try:
            return await execute(cell, index, **kw)
        finally:
            times.append(time.monotonic() - t)

    client.async_execute_cell = timed
    client.execute()
    return times[1:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=100)
    p.add_argument("--runs", type=int, default=3, help="runs per client")
    p.add_argument("--timeout", type=int, default=15, help="cell timeout, seconds")
    p.add_argument("--load", type=int, default=0, help="trainings to run meanwhile")
    args = p.parse_args()
    env = dict(os.environ, LABUTILS_THREADS=str(os.cpu_count() or 1))
    load = [subprocess.Popen([sys.executable, str(ROOT / "benchmarks/under_load.py"), "--child", "--setting", "torch",
                              "--seconds", "100000", "--round-iters", "20", "--warmup", "1", "--start", "0"],
                             env=env, stdout=subprocess.DEVNULL) for _ in range(args.load)]
    try:
        time.sleep(10 if load else 0)  # the trainings are past their imports
        for name, cls in (("plain nbclient", NotebookClient), ("no client-side Output widget", WithoutOutputWidget)):
            slow = total = 0
            for _ in range(args.runs):
                times = run(cls, args.cells, args.timeout)
                total += len(times)
                slow += sum(t >= args.timeout - 0.5 for t in times)
                print(f"{name}: {len(times)} cells, slowest {max(times):.1f} s, cells over 2 s: {[round(t, 1) for t in times if t > 2]}")
            print(f"{name}: {slow} of {total} cells waited out the {args.timeout} s timeout")
    finally:
        for proc in load:
            proc.kill()


if __name__ == "__main__":
    main()
