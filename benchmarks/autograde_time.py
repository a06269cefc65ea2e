"""The autograde time of one whole submission per lab: kernel start (in the sandbox where
bubblewrap is installed), imports, every cell of the solution, in the smoke profile.

    python benchmarks/autograde_time.py                  # every lab, 2 submissions each, 1 worker
    python benchmarks/autograde_time.py --labs lab2_objectives --students 4 --workers 2

Each lab gets a throwaway course (the course's nbgrader_config.py, its notebooks released with
``generate_assignment``) and ``--students`` copies of the solution, graded by scripts/grade.py.
It prints each submission's seconds (as scripts/grade.py timed its worker's ``autograde``) and,
per lab, the median and the submissions per minute of the whole run. HOME, the Jupyter folders
and Matplotlib's live in the temporary folder. Time it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> None:
    import course_url
    import hermetic

    labs = [p.parent.name for p in course_url.solution_notebooks()]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", nargs="+", default=labs, choices=labs)
    parser.add_argument("--students", type=int, default=2, help="copies of the solution per lab")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="autograde-time-"))
    home = tmp / "home"
    os.environ.update(hermetic.home_env(home), LABUTILS_PROFILE="smoke", LABUTILS_DEVICE="cpu")
    import nbformat
    import nbgrader_harness as h

    print(f"{args.students} submissions per lab, {args.workers} worker(s), folder {tmp}")
    for lab in args.labs:
        course = h.make_course(tmp / lab, lab)
        ((name, release_nb),) = h.release_notebooks(course, lab).items()
        solution_nb = nbformat.read(ROOT / "solutions" / lab / f"{name}.ipynb", as_version=4)
        full = h.fill_solutions(release_nb, solution_nb)
        for i in range(args.students):
            h.submit(course, f"student{i:03d}", lab, name, full)
        start = time.perf_counter()
        log = h.autograde(course, lab, workers=args.workers)
        wall = time.perf_counter() - start
        seconds = [float(line.split("(")[1].split(" s)")[0]) for line in log.splitlines() if line.startswith("=== student ")]
        print(f"{lab}: per submission {', '.join(f'{s:.1f}' for s in seconds)} s (median {statistics.median(seconds):.1f}); "
              f"{len(seconds)} in {wall:.1f} s = {60 * len(seconds) / wall:.1f} submissions/min")


if __name__ == "__main__":
    main()
