"""Run each submission's kernel in a sandbox while nbgrader autogrades (Debian's bubblewrap).

nbgrader runs a student's notebook in a kernel with the instructor's rights: without this, the
student's code can read ``source/`` (the hidden tests) and print it into its own feedback, read
other students' submissions, write to ``gradebook.db``, fork, fill the memory or print without
end. ``nbgrader_config.py`` grades with :class:`SandboxedExecute` instead of nbgrader's
``Execute``; its kernel manager starts every kernel through ``bwrap``:

- **What the kernel sees.** A new, empty root with, read-only: ``/usr`` (programs and shared
  libraries), a few files of ``/etc`` (fonts, the dynamic loader's cache), the Python
  installation and its site-packages, and the labutils package (not the rest of the
  repository). Writable, each a tmpfs of ``disk`` bytes: the kernel's working directory, at the
  path of the student's autograded folder, with that folder's files copied in as the kernel
  starts (the folder itself is read-only at ``/submission``; what the kernel writes is
  discarded with it), and a private ``/tmp`` (``HOME`` is ``/tmp``). Nothing else: no
  ``source/``, no gradebook, no other student, no ``/root`` or ``/home``.
- **No network**: a network namespace of its own (loopback only). The kernel talks to nbgrader
  through Unix sockets (ZeroMQ's ``ipc`` transport) in a private folder bound into the sandbox;
  as root, the grader takes that folder back once the kernel has made its sockets.
- **Its own PID, IPC and UTS namespaces**: it sees only its own processes; when the kernel is
  shut down or killed, everything it started dies with it.
- **Limits** (``resource`` limits, set before ``bwrap`` starts): address space (memory:
  ``MemoryError`` past it), CPU seconds (the kernel is killed), processes and threads, the
  size of any file it writes, and no core dumps; the bytes it may write (``disk``: the size of
  its tmpfs folders). :class:`SandboxedExecute` bounds the output a notebook may send back
  (later output is dropped) and the wall time of all its cells together (``notebook_seconds``).
- **Its own user** when nbgrader runs as root (as in CI and on many grading servers): the
  kernel runs as uid ``200000 + pid`` with no capabilities, so the process limit counts only
  that kernel's processes. Run as an ordinary user, bwrap maps that user into a user namespace
  and the process limit counts all of that user's processes (set it with room to spare).

A kernel stopped by a limit (or one that exits) is not the end of the student's grading: the
cells that ran keep their scores, every test cell that did not run fails with a message,
the notebook gets a note at the top saying what happened, and its tests are flagged for manual
grading. The rest of the class is graded as usual.

The limits are traits of :class:`SandboxedKernelManager` (``c.SandboxedKernelManager.memory``,
...) and of :class:`SandboxedExecute` (``max_output_bytes``, and ``notebook_seconds``, the wall
time of all of a notebook's cells together); see the instructor guide.
Without bubblewrap the kernel does not start and the error says how to install it, unless the
instructor turns the sandbox off on purpose (``LABUTILS_SANDBOX=off``).

This module's top level uses only the standard library: ``python sandbox.py launch ...`` is the
launcher that sets the limits and becomes ``bwrap``, started by the kernel manager without
importing labutils (torch) first.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ENV_SWITCH = "LABUTILS_SANDBOX"  # "off": run kernels without the sandbox (the instructor's choice)
UID_BASE = 200_000  # sandbox uids are UID_BASE + the launcher's pid (unique while it runs)
# Variables the kernel keeps (everything else of nbgrader's environment is dropped).
KEEP_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
KEEP_ENV_PREFIXES = ("LABUTILS_",)
# Read-only files of /etc a kernel needs (fonts for matplotlib, the loader's cache, time zone).
ETC = ("/etc/fonts", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf", "/etc/alternatives")
# OpenMP's wait policy for the kernels (read when torch loads OpenMP, so set in the environment):
# idle threads sleep instead of spinning against other processes' threads.
OPENMP_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
INSTALL_HINT = (
    "the autograder runs each student's kernel in a bubblewrap sandbox, and bwrap was not "
    "found: install it (Debian/Ubuntu: apt-get install bubblewrap), or set LABUTILS_SANDBOX=off "
    "to grade without a sandbox (student code then runs with your rights)"
)

# What a stopped kernel's exit status means, for the student's feedback.
STOP_REASONS = {
    -signal.SIGXCPU: "it used up its CPU time limit",
    -signal.SIGKILL: "it was killed (out of memory, or past its CPU time limit)",
    -signal.SIGXFSZ: "it wrote a file larger than the file size limit",
    -signal.SIGSEGV: "it crashed (segmentation fault)",
    -signal.SIGABRT: "it aborted (often: a memory allocation failed)",
}


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here."""


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "").lower() not in ("off", "0", "no", "false")


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(INSTALL_HINT)
    return path


def describe_exit(status: int | None) -> str:
    """Why the kernel stopped, in words, from its exit status (negative: killed by a signal)."""
    if status is None:
        return "it stopped"
    if 128 < status < 128 + 65:  # bwrap reports a child killed by signal N as 128 + N
        status = 128 - status
    if status in STOP_REASONS:
        return STOP_REASONS[status]
    if status < 0:
        return f"it was killed by signal {signal.Signals(-status).name}"
    return f"its process exited with status {status} (for example os._exit or sys.exit in a thread)"


def runtime_paths() -> list[str]:
    """The folders the kernel's Python needs, read-only: the installation, site-packages and
    labutils itself (an editable install points into the repository: only labutils/ is bound)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):
        for scheme_vars in ({}, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
            try:
                paths.add(sysconfig.get_path(key, vars=scheme_vars or None))
            except KeyError:
                pass
    paths.add(str(Path(__file__).resolve().parent))  # labutils
    paths.add(str(Path(sys.executable).resolve().parent))
    paths = {str(Path(p).resolve()) for p in paths if p and os.path.isdir(p)}
    # keep the outermost of nested folders; /usr comes whole anyway
    out = []
    for p in sorted(paths):
        if p == "/usr" or p.startswith("/usr/"):
            continue
        if not any(p.startswith(q + "/") for q in out):
            out.append(p)
    return out


def _dirs(path: str, made: set[str]) -> list[str]:
    """bwrap arguments creating the parents of ``path`` as world-traversable folders."""
    args = []
    parts = Path(path).parts[1:-1]
    cur = ""
    for part in parts:
        cur += "/" + part
        if cur not in made:
            made.add(cur)
            args += ["--perms", "0755", "--dir", cur]
    return args


SUBMISSION = "/submission"  # the kernel's folder as nbgrader made it, read-only, when ``disk`` is set


def bwrap_command(
    cmd: list[str], *, cwd: str, runtime_dir: str, uid: int | None, extra_ro: tuple[str, ...] = (), disk: int | None = None
) -> list[str]:
    """The bwrap command line that runs ``cmd`` in the sandbox (see the module docstring).

    With ``disk`` (bytes), ``/tmp`` and the working folder are tmpfs of that size each: the
    folder's files are copied in as the kernel starts (``seed``), and what the kernel writes
    there is discarded with it. Without, the folder is bound read-write.
    """
    size = ["--size", str(int(disk))] if disk else []
    args = [bwrap_path(), "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent"]
    if uid is None:  # an ordinary user: a user namespace maps us
        args += ["--unshare-user"]
    else:  # root: no user namespace; the kernel drops to `uid` as it starts (setpriv below)
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        target = f"/{link}"
        if os.path.islink(target):
            args += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            args += ["--ro-bind", target, target]
    args += ["--proc", "/proc", "--dev", "/dev", *size, "--perms", "1777", "--tmpfs", "/tmp", *size, "--perms", "1777", "--tmpfs", "/dev/shm"]
    made = {"/tmp", "/usr", "/dev", "/proc"}
    for path in ETC:
        if os.path.exists(path):
            args += _dirs(path, made) + ["--ro-bind", path, path]
    for path in (*runtime_paths(), *extra_ro):
        args += _dirs(path, made) + ["--ro-bind", path, path]
    args += _dirs(runtime_dir, made) + ["--bind", runtime_dir, runtime_dir]
    if disk:
        args += ["--ro-bind", cwd, SUBMISSION] + _dirs(cwd, made) + [*size, "--perms", "1777", "--tmpfs", cwd]
    else:
        args += _dirs(cwd, made) + ["--bind", cwd, cwd]
    args += ["--chdir", cwd, "--clearenv"]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", **OPENMP_ENV}
    for key, value in os.environ.items():
        if key in KEEP_ENV or key.startswith(KEEP_ENV_PREFIXES):
            env[key] = value
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    if uid is not None:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise SandboxUnavailable("setpriv (util-linux) is needed to run the sandboxed kernel as its own user")
        args += ["--", setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
    else:
        args += ["--"]
    if disk:
        args += [sys.executable, "-I", str(Path(__file__).resolve()), "seed", SUBMISSION, cwd, "--"]
    return args + list(cmd)


def seed(source: str, folder: str, cmd: list[str]) -> None:
    """Inside the sandbox: copy the submission's folder into the kernel's tmpfs, then exec ``cmd``."""
    try:
        for entry in os.scandir(source):  # not the folder itself: it is the tmpfs, not the kernel's
            target = os.path.join(folder, entry.name)
            if entry.is_dir(follow_symlinks=False):
                shutil.copytree(entry.path, target, symlinks=True)
            else:
                shutil.copy2(entry.path, target, follow_symlinks=False)
    except OSError as exc:
        sys.exit(f"labutils.sandbox: the submission's files do not fit in the kernel's folder ({exc}); raise c.SandboxedKernelManager.disk")
    os.execv(cmd[0], cmd)


def _set_limits(limits: dict) -> None:
    """The resource limits (a limit of 0 or None is left as it is); no core dumps."""
    for which, key, grace in (
        (resource.RLIMIT_AS, "memory", 0),
        (resource.RLIMIT_CPU, "cpu_seconds", 10),  # SIGXCPU at the soft limit, SIGKILL 10 s later
        (resource.RLIMIT_NPROC, "processes", 0),
        (resource.RLIMIT_FSIZE, "file_size", 0),
    ):
        if limits.get(key):
            resource.setrlimit(which, (int(limits[key]), int(limits[key]) + grace))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def launch(spec: dict) -> None:
    """Become the sandboxed kernel: set the limits, give the kernel its folders, exec bwrap."""
    uid = UID_BASE + os.getpid() if os.geteuid() == 0 else None
    limits = dict(spec["limits"])
    if uid is None and limits.get("processes"):
        # the count is of all this user's processes: leave room for the ones already running
        limits["processes"] = int(limits["processes"]) + _count_tasks(os.getuid())
    if uid is not None:
        for top in (spec["cwd"], spec["runtime_dir"]):
            for folder, _sub, files in os.walk(top):
                for name in [folder, *(os.path.join(folder, f) for f in files)]:
                    os.lchown(name, uid, uid)
    argv = bwrap_command(
        spec["cmd"], cwd=spec["cwd"], runtime_dir=spec["runtime_dir"], uid=uid,
        extra_ro=tuple(spec.get("extra_ro", ())), disk=limits.get("disk"),
    )  # fmt: skip
    _set_limits(limits)
    os.execv(argv[0], argv)


def _count_tasks(uid: int) -> int:
    n = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return n


if __name__ == "__main__":  # python sandbox.py launch '<json spec>'
    if len(sys.argv) > 4 and sys.argv[1] == "seed" and sys.argv[4] == "--":
        seed(sys.argv[2], sys.argv[3], sys.argv[5:])
    if len(sys.argv) != 3 or sys.argv[1] != "launch":
        sys.exit("usage: python -I labutils/sandbox.py launch '<json spec>' (started by SandboxedKernelManager)")
    try:
        launch(json.loads(sys.argv[2]))
    except SandboxUnavailable as exc:
        sys.exit(f"labutils.sandbox: {exc}")


# --- the nbgrader side (needs jupyter_client and nbgrader; imported by nbgrader_config.py) ---

try:
    from jupyter_client.manager import AsyncKernelManager, KernelManager
    from nbgrader.preprocessors import Execute, NbGraderPreprocessor

    from .autograde import flag_test_grades
    from .widgets import no_client_output_widget
except ImportError:  # the launcher above needs neither
    AsyncKernelManager = Execute = None

if AsyncKernelManager is not None and Execute is not None:
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync
    from traitlets import Integer, List, Unicode

    class SandboxedKernelManager(AsyncKernelManager):
        """A kernel manager that starts every kernel in the bubblewrap sandbox, with limits."""

        memory = Integer(8 << 30, help="Address-space limit of the kernel, bytes (torch's CUDA build maps ~3.5 GB at import).").tag(config=True)
        cpu_seconds = Integer(1800, help="CPU time of the kernel, seconds (all its threads); then it is killed.").tag(config=True)
        processes = Integer(512, help="Processes and threads the kernel's user may have.").tag(config=True)
        file_size = Integer(1 << 30, help="Largest file the kernel may write, bytes.").tag(config=True)
        disk = Integer(1 << 30, help="Bytes the kernel may write into its folder, and into /tmp (each a tmpfs, so memory; discarded when the kernel stops); 0: its folder is bound read-write, unbounded.").tag(config=True)
        extra_ro = List(Unicode(), help="More folders the kernel may read (read-only).").tag(config=True)

        exit_status: int | None = None

        async def _async_pre_start_kernel(self, **kw):
            if not enabled():
                return await KernelManager._async_pre_start_kernel(self, **kw)
            bwrap_path()  # fail with the install hint before anything starts
            self._sandbox_dir = tempfile.mkdtemp(prefix="labutils-kernel-")
            self.transport = "ipc"
            self.connection_file = os.path.join(self._sandbox_dir, "kernel.json")
            self.ip = os.path.join(self._sandbox_dir, "k")
            cmd, kw = await KernelManager._async_pre_start_kernel(self, **kw)
            cwd = str(Path(kw.get("cwd") or os.getcwd()).resolve())
            spec = {
                "cmd": cmd,
                "cwd": cwd,
                "runtime_dir": self._sandbox_dir,
                "extra_ro": list(self.extra_ro),
                "limits": {"memory": self.memory, "cpu_seconds": self.cpu_seconds, "processes": self.processes, "file_size": self.file_size, "disk": self.disk},
            }
            launcher = [sys.executable, "-I", str(Path(__file__).resolve()), "launch", json.dumps(spec)]
            return launcher, kw

        pre_start_kernel = _async_pre_start_kernel  # jupyter_client calls the underscored name

        def seal(self) -> None:
            """Once the kernel has made its sockets: as root, take its socket folder back, so the
            kernel cannot write there (it is outside the ``disk`` bound)."""
            folder = getattr(self, "_sandbox_dir", None)
            if folder and enabled() and os.geteuid() == 0:
                os.chown(folder, 0, 0)
                os.chmod(folder, 0o755)

        async def _async_interrupt_kernel(self):
            """Interrupt through the kernel's control channel: a signal sent from outside the
            sandbox does not reach the kernel's process group inside its PID namespace."""
            if enabled() and self.has_kernel:
                msg = self.session.msg("interrupt_request", content={})
                self._connect_control_socket()
                self.session.send(self._control_socket, msg)
                return
            await KernelManager._async_interrupt_kernel(self)

        interrupt_kernel = _async_interrupt_kernel

        async def _async_is_alive(self):
            alive = await KernelManager._async_is_alive(self)
            if not alive and self.provisioner is not None:
                process = getattr(self.provisioner, "process", None)
                if process is not None and process.returncode is not None:
                    self.exit_status = process.returncode
            return alive

        is_alive = _async_is_alive

        async def _async_cleanup_resources(self, restart: bool = False):
            await KernelManager._async_cleanup_resources(self, restart=restart)
            folder = getattr(self, "_sandbox_dir", None)
            if folder and not restart:
                shutil.rmtree(folder, ignore_errors=True)

        cleanup_resources = _async_cleanup_resources  # shutdown_kernel calls the underscored name

    class SandboxedExecute(Execute):
        """nbgrader's Execute with the sandboxed kernel, bounded output, and a stopped kernel
        turned into feedback (see the module docstring)."""

        max_output_bytes = Integer(20 << 20, help="Output a notebook may send back (text and images), bytes; later output is dropped.").tag(config=True)
        notebook_seconds = Integer(3600, help="Wall time all of a notebook's cells may take together, seconds (0: no limit); then the kernel is stopped.").tag(config=True)

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
            super().__init__(*args, **kwargs)

        # no client-side Output widget: its state updates on the shell socket could leave the
        # client waiting out the cell timeout for a reply (labutils/widgets.py says why)
        on_comm_open_jupyter_widget = no_client_output_widget

        def preprocess(self, nb, resources=None, km=None):
            self._output_bytes = 0
            self._dropped = False
            self._running = None
            self._managers = []
            self._deadline = None
            self._cell_timeout = self.timeout  # the configured one; preprocess_cell cuts it to the time left
            try:
                return super().preprocess(nb, resources, km)
            except _TimeUp:
                self._stopped(f"the notebook ran past its time limit of {self.notebook_seconds} s for all of its cells together", running=False)
                return self.nb, self.resources
            except DeadKernelError:
                status = next((m.exit_status for m in self._managers if m.exit_status is not None), None)
                self._stopped(describe_exit(status))
                return self.nb, self.resources
            except CellTimeoutError:
                # interrupted after the cell timeout, the kernel still sent nothing (it ignores
                # SIGINT, or a fork bomb holds it): nbgrader would drop the student; the kernel
                # is killed as the client shuts down, and the student gets the message
                self._stopped("it did not respond to an interrupt after the cell time limit (an endless loop that ignores interrupts, or a flood of processes)")
                return self.nb, self.resources
            finally:
                self.timeout = self._cell_timeout

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()  # the kernel has answered: its sockets exist
            for km in self._managers:
                km.seal()
            return kc

        start_new_kernel_client = run_sync(async_start_new_kernel_client)  # what setup_kernel calls

        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            self._managers.append(km)
            return km

        def preprocess_cell(self, cell, resources, index):
            self._running = index
            if cell.cell_type == "code" and self.notebook_seconds > 0:
                # the notebook's wall time: from its first cell; no cell may run past what is left
                now = time.monotonic()
                if self._deadline is None:
                    self._deadline = now + self.notebook_seconds
                left = self._deadline - now
                if left <= 0:
                    raise _TimeUp
                self.timeout = max(1, math.ceil(left)) if not self._cell_timeout else max(1, min(self._cell_timeout, math.ceil(left)))
            return super().preprocess_cell(cell, resources, index)

        def output(self, outs, msg, display_id, cell_index):
            size = _message_size(msg)
            if self._output_bytes + size > self.max_output_bytes:
                if not self._dropped:  # the kernel may go on printing: the cell timeout ends that
                    self._dropped = True
                    outs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                        f"\n[autograder: this notebook's output passed the limit of "
                        f"{self.max_output_bytes / 2**20:g} MB; the rest of it is dropped]\n")))
                    self.log.warning("Output limit reached in cell %s; later output dropped", cell_index)
                return None
            self._output_bytes += size
            return super().output(outs, msg, display_id, cell_index)

        def _stopped(self, why: str, running: bool = True) -> None:
            """The kernel died while running cell ``self._running`` (or, ``running=False``, was
            stopped before it): fail what did not run."""
            student = (self.resources or {}).get("nbgrader", {}).get("student")
            self.log.error("The kernel of student %s stopped in cell %s: %s", student, self._running, why)
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code" or index < (self._running or 0):
                    continue
                if index == self._running and running:
                    text = f"the kernel stopped while running this cell: {why}"
                elif index == self._running:
                    text = f"not run: {why}"
                else:
                    text = "not run: the kernel stopped in an earlier cell"
                    cell.outputs = []
                cell.outputs.append(nbformat.v4.new_output("error", ename="KernelStopped", evalue=text, traceback=[f"KernelStopped: {text}"]))
            note = nbformat.v4.new_markdown_cell(
                "**The autograder stopped your notebook** at a cell: "
                f"{why}. The cells before it were graded; that cell and every cell after it "
                "did not run and score 0. This notebook is flagged for your instructor to grade by "
                "hand. Look for the cell marked `KernelStopped` below."
            )
            note.pop("id", None)
            if self.nb.get("nbformat_minor", 0) >= 5:
                note["id"] = "labutils-kernel-stopped"
            self.nb.cells.insert(0, note)

    class FlagStopped(NbGraderPreprocessor):
        """Autograde step (after SaveAutoGrades): a notebook whose kernel stopped keeps the
        scores of the cells that ran, and its test cells are flagged for manual grading."""

        def preprocess(self, nb, resources):
            if not any(
                out.get("output_type") == "error" and out.get("ename") == "KernelStopped"
                for cell in nb.cells
                if cell.cell_type == "code"
                for out in cell.get("outputs", [])
            ):
                return nb, resources
            flag_test_grades(nb, resources["nbgrader"], zero=False)
            info = resources["nbgrader"]
            self.log.warning("The kernel of student %s stopped: %s flagged for manual grading", info["student"], info["notebook"])
            return nb, resources

    class _TimeUp(Exception):
        """The notebook's cells together ran past ``SandboxedExecute.notebook_seconds``."""

    def _message_size(msg) -> int:
        content = msg.get("content", {})
        if msg.get("msg_type") == "stream":
            return len(content.get("text", ""))
        data = content.get("data", {})
        size = sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())
        if msg.get("msg_type") == "error":
            size += sum(len(line) for line in content.get("traceback", []))
        return size

else:

    def __getattr__(name):
        if name in ("SandboxedKernelManager", "SandboxedExecute", "FlagStopped"):
            raise ImportError(f"labutils.sandbox.{name} needs nbgrader and jupyter_client")
        raise AttributeError(name)
