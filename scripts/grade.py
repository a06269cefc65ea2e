"""Autograde a class in parallel: N worker processes, each autograding one student at a time.

    python scripts/grade.py lab1_dcgan                         # 2 workers, the course's gradebook
    python scripts/grade.py lab1_dcgan --workers 4 --db-url postgresql://grader@/gan?host=/run/postgresql
    python scripts/grade.py lab1_dcgan --student alice --student bob

Run from the course root (the folder with nbgrader_config.py, solutions/ and submitted/), after
``nbgrader generate_assignment``. Every student with a folder ``submitted/<student>/<assignment>``
is graded exactly once, by whichever worker is free next (a queue: a slow submission does not
hold up a share of the class). Each worker is nbgrader's own autograde with the course's
configuration, so each kernel runs in the sandbox (labutils/sandbox.py) with its limits.

The gradebook must take concurrent writers:

- **SQLite** (nbgrader's default, ``sqlite:///gradebook.db``): writers take turns on the file's
  lock; this script waits up to ``--sqlite-timeout`` seconds for it (nbgrader's own default is
  5 s). Fine for a couple of workers on one machine.
- **PostgreSQL**: ``--db-url postgresql://user@host/db`` (the driver is psycopg2). The gradebook's
  tables are created on first use. Use it for many workers or several machines.

Each kernel gets ``OMP_NUM_THREADS`` = the CPUs available divided by the workers (at least 1),
unless it is set, so that workers do not oversubscribe the cores. Prints one line per student
(seconds, result) and the submissions per minute; exits 1 if any student failed to grade.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "scripts") not in sys.path:  # spawned workers import this module as `grade`
    sys.path.insert(0, str(ROOT / "scripts"))
_spec = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
release = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(release)


@dataclass
class Graded:
    student: str
    ok: bool
    seconds: float
    log: str
    worker: int


@dataclass
class Report:
    assignment: str
    workers: int
    seconds: float
    results: list[Graded] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [r.student for r in self.results if not r.ok]

    @property
    def per_minute(self) -> float:
        return 60 * len(self.results) / self.seconds if self.seconds else 0.0


def with_sqlite_timeout(db_url: str, seconds: float) -> str:
    """``db_url`` with a lock timeout for SQLite (other URLs unchanged)."""
    if not db_url.startswith("sqlite") or "timeout=" in db_url:
        return db_url
    return db_url + ("&" if "?" in db_url else "?") + f"timeout={seconds:g}"


def submitted_students(course: Path, assignment: str) -> list[str]:
    folder = course / "submitted"
    return sorted(p.parent.name for p in folder.glob(f"*/{assignment}") if p.is_dir())


# --- worker side ---------------------------------------------------------------------------

_api = None
_worker_id = 0


def _config(course: Path, db_url: str | None, overrides: dict | None):
    from traitlets.config import Config

    cfg = release.nbgrader_config(course)
    if db_url:
        cfg.CourseDirectory.db_url = db_url
    cfg.merge(Config(overrides or {}))
    return cfg


def _init_worker(course: str, db_url: str | None, overrides: dict | None, threads: int) -> None:
    global _api, _worker_id
    from nbgrader.apps import NbGraderAPI

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    release.use_this_python()
    _worker_id = os.getpid()
    _api = NbGraderAPI(config=_config(Path(course), db_url, overrides))


def _grade_one(args: tuple[str, str]) -> Graded:
    assignment, student = args
    start = time.perf_counter()
    try:
        result = _api.autograde(assignment, student, force=True)
        ok, log = bool(result["success"]), result.get("log", "") + result.get("error", "")
    except Exception as exc:  # noqa: BLE001 (reported per student; the class goes on)
        ok, log = False, repr(exc)
    return Graded(student, ok, time.perf_counter() - start, log, _worker_id)


# --- the coordinator -----------------------------------------------------------------------


def grade(
    course: Path,
    assignment: str,
    *,
    workers: int = 2,
    db_url: str | None = None,
    students: list[str] | None = None,
    config: dict | None = None,
    sqlite_timeout: float = 300,
    progress=None,
) -> Report:
    """Autograde ``students`` (default: every submission) of ``assignment`` with ``workers``
    processes into ``db_url`` (default: the course's gradebook). ``config`` overrides nbgrader
    settings as in nbgrader_config.py (``{"Execute": {"timeout": 60}}``)."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Path(course).resolve()
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    db_url = with_sqlite_timeout(db_url or _config(course, None, config).CourseDirectory.db_url, sqlite_timeout)
    todo = sorted(set(students)) if students is not None else submitted_students(course, assignment)
    missing = [s for s in todo if not (course / "submitted" / s / assignment).is_dir()]
    if missing:
        raise FileNotFoundError(f"no submission of {assignment} for {missing} in {course / 'submitted'}")
    release.use_this_python()
    # open the gradebook once here: its tables are created before any worker writes
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise LookupError(
                f"{assignment} is not in the gradebook {db_url}: run nbgrader generate_assignment first"
            ) from None
    from labutils.config import available_cpus

    threads = max(1, available_cpus() // workers)
    report = Report(assignment, workers, 0.0)
    start = time.perf_counter()
    # a fresh interpreter per worker (no state shared with the caller); a free worker takes the
    # next student. A worker that cannot start raises BrokenProcessPool here.
    with ProcessPoolExecutor(workers, mp.get_context("spawn"), _init_worker, (str(course), db_url, config, threads)) as pool:
        for future in as_completed([pool.submit(_grade_one, (assignment, s)) for s in todo]):
            graded = future.result()
            report.results.append(graded)
            if progress:
                progress(graded)
    report.seconds = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--db-url", help="gradebook URL (default: the course's, sqlite:///gradebook.db)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course root (default: here)")
    parser.add_argument("--sqlite-timeout", type=float, default=300, help="seconds a worker waits for SQLite's lock")
    args = parser.parse_args(argv)

    def show(g: Graded) -> None:
        print(f"{g.student:30s} worker {g.worker}  {g.seconds:6.1f} s  {'graded' if g.ok else 'FAILED'}", flush=True)
        if not g.ok:
            print("\n".join("    " + line for line in g.log.strip().splitlines()[-20:]), flush=True)

    try:
        report = grade(args.course, args.assignment, workers=args.workers, db_url=args.db_url,
                       students=args.student, sqlite_timeout=args.sqlite_timeout, progress=show)
    except (FileNotFoundError, LookupError, ValueError) as exc:
        print(f"grade.py: {exc}", file=sys.stderr)
        return 2
    print(f"{len(report.results)} submissions of {args.assignment} in {report.seconds:.1f} s with "
          f"{args.workers} workers: {report.per_minute:.1f} per minute; failed: {report.failed or 'none'}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
