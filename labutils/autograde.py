"""Tampering checks for autograding, outside the kernel: a static checker and nbgrader preprocessors.

Student code runs in the same kernel as the hidden tests, so it can change how they run: register
an IPython hook that swallows every error, replace ``grading.assert_close``, rebind ``torch``, hunt
the tests' objects with ``gc``, or answer a cell with the course's own reference
(``train_step = train.gan_step``). Nothing inside the kernel can stop that, so this module looks
at the submitted *source*, before anything runs, and takes the autograded score out of the
kernel's hands when it finds such code:

    findings = check_notebook(nb, assignment="lab1_dcgan")   # [] for an ordinary notebook

The nbgrader side (wired in nbgrader_config.py):

- ``DetectTampering`` (``Autograde.sanitize_preprocessors``, after the locked cells are restored):
  runs ``check_notebook`` and the check of the files submitted next to the notebook, stores the
  findings in the notebook metadata under ``METADATA_KEY`` (always overwritten, so a student
  cannot pre-set it) and logs each one with the student id, for manual review;
- ``StderrAsNotes`` (``autograde_preprocessors``, right after ``Execute``): nbgrader scores a test
  cell 0 for *any* stderr output; this turns the stderr of graded test cells into a stdout note,
  so a warning (a deprecated torch call) no longer costs the cell. Errors stay errors;
- ``WithholdTampered`` (``autograde_preprocessors``, right after ``SaveAutoGrades``): for a
  flagged notebook it sets the auto score of every autograded test cell to 0 in the gradebook,
  marks them for manual grading and puts a markdown cell at the top listing the reasons (the
  feedback). A clean notebook is untouched.

What is checked: every code cell that is not a locked nbgrader cell (solution cells and ordinary
cells; IPython syntax is turned into Python with IPython's own transformer first, and the code in
``%%time``/``%%timeit``/``%%capture``/``%time`` bodies is checked too). A cell that does not parse
is not flagged: it cannot run. Flagged (each ``Finding.kind``):

- ``ipython``: any use of the IPython shell (``get_ipython().ast_transformers``, ``set_custom_exc``,
  ``events.register``, ``user_ns``...) except the magics IPython syntax produces from an allowed
  list (``%matplotlib``, ``%time``, ``%pip``, ``!cmd``...); IPython/ipykernel/nbgrader internals;
- ``hook``: ``sys.settrace``/``setprofile``/``excepthook``/``displayhook``..., global torch
  module/optimizer hooks, ``torch.library``/``torch.overrides``;
- ``patch``: assigning, deleting or augmenting an attribute of a module or of anything reached
  from one (``torch.allclose = f``, ``nn.Module.__call__ = f``, ``grading.assert_close = f``),
  ``setattr``/``delattr``/``__setattr__`` on them, ``vars(m)``/``m.__dict__``, changing a class
  through ``type(x)``/``x.__class__``, assigning dunder attributes (``f.__code__ = ...``),
  mutating labutils' own containers (``losses.LOSSES[...] = ...``). ``torch.backends.*`` switches
  are allowed;
- ``rebind``: rebinding, at the notebook's top level, a module name or a built-in that the test
  cells use (``grading = Fake()``, ``import numpy as torch``, ``range = ...``);
- ``modules``/``namespace``: ``sys.modules`` (except ``name in sys.modules``), ``globals()`` used
  for anything but reading, ``import __main__``, ``from x import *`` (except from labutils and
  math), a module's ``__file__``/``__path__`` (its source could be rewritten on disk);
- ``frames``/``object-hunt``: ``sys._getframe``, ``inspect.currentframe``, ``f_globals``,
  ``f_back``, ``tb_frame``, ``__globals__``, ``__builtins__``, ``gc.get_objects``/``get_referrers``;
- ``dynamic``: ``exec``/``eval``/``compile``/``__import__``/``importlib`` (but
  ``importlib.util.find_spec``)/``getattr(module, <not a literal>)``, ``setattr``/``getattr`` used
  as values, ``types.FunctionType``, unpickling (``pickle.loads``, ``allow_pickle=True``),
  ``ctypes``, ``threading``/``asyncio`` (code running in the background while the tests run),
  ``clear_output`` (it can erase a test's error), imports of modules that are not installed
  (a file submitted or written next to the notebook);
- ``lying-object``: a class defining ``__eq__``, ``__bool__``, the comparison, arithmetic or
  conversion dunders, ``__instancecheck__``, ``__torch_function__``..., a subclass of
  ``torch.Tensor``, ``unittest.mock``: objects that decide for themselves what they equal;
- ``delegation``: a solution cell using the labutils reference of what it must implement
  (``REFERENCES``), directly or through an alias, a helper defined in another cell, or the answer
  name being defined in another cell from the reference; and a solution cell using the test
  cells' own variables (``test-internals``);
- ``files`` (``check_files``): Python files submitted next to the notebook (``torch.py`` there
  would replace torch for the kernel);
- ``missing-locked`` (``check_locked_cells``): a locked code cell (the import cell) deleted from
  the submission: nbgrader puts back deleted test cells only, and code in its place would decide
  unchecked what ``torch`` and ``grading`` are;
- ``error``: the check itself failed on this notebook (it fails closed: the notebook is reviewed).

What is not, and cannot be: this is a static check of code that runs with the grader's rights in
the tests' process, so it is a tripwire, not a sandbox. Values that flow through containers,
function calls or strings the check cannot follow (``getattr`` with a computed name on an object
that is not known to be a module, an object fished out of a data structure), attacks on files or
the gradebook from a subprocess (``!sqlite3 gradebook.db``) or by a path written out (rewriting
labutils' installed source changes the *next* students' kernels), C extensions, and bugs in the
interpreter are out of its reach; run the grading kernel in a sandbox (no write access to the
course, no network) for those. False positives are possible by design: a flagged submission is
not failed, it is withheld for a person to review, and the reasons say what to look at.

``REFERENCES`` (delegation): ``assignment -> solution cell grade_id -> dotted labutils names``
that the cell may not use (a name forbids everything under it: ``"labutils.train"`` forbids
``train.gan_step``, ``train.d_step``, ``train.updates.g_step``...). Names are matched after
resolving aliases and labutils' own re-exports (``from labutils import train as t``, ``x = train``,
``from labutils.train import *``, ``labutils.train.updates.losses`` is ``labutils.losses``). A cell
missing from an assignment's table, or the ``"*"`` entry if there is one, forbids nothing. Lab 3
would add, e.g.::

    "lab3_cyclegan": {
        "generator_solution": ("labutils.models.cyclegan", "labutils.models.CycleGenerator"),
        "losses_solution": ("labutils.losses.cycle_loss", "labutils.losses.identity_loss"),
        "step_solution": ("labutils.train.cyclegan_step", "labutils.train.updates.cyclegan_step"),
    },
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import importlib.util
import re
import sys
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "METADATA_KEY",
    "NOTE_PREFIX",
    "REFERENCES",
    "Finding",
    "check_files",
    "check_locked_cells",
    "check_notebook",
    "check_source",
    "withheld_markdown",
    "DetectTampering",
    "StderrAsNotes",
    "WithholdTampered",
]

_LAB1_MODELS = ("labutils.models",)
_LAB5_MODELS = (
    "labutils.models.conditional.ConditionalGenerator",
    "labutils.models.conditional.ConditionalDiscriminator",
    "labutils.models.conditional.LabelBlind",
    "labutils.models.mnist",
    "labutils.models.dcgan",
    "labutils.models.wgan",
    "labutils.models.cyclegan",
)
REFERENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "lab1_dcgan": {
        "padding_solution": (),  # nothing in labutils computes a padding
        "discriminator_solution": _LAB1_MODELS,  # DCDiscriminator and everything in models
        "generator_solution": _LAB1_MODELS,  # DCGenerator
        "init_solution": _LAB1_MODELS,  # dcgan_init
        "losses_solution": ("labutils.losses",),  # bce_d_loss, lsgan_g_loss, get, LOSSES...
        "step_solution": ("labutils.train",),  # gan_step, d_step, g_step, everything
    },
    "lab2_objectives": {
        "g_losses_solution": ("labutils.losses",),  # saturating_g_loss, bce_g_loss, get, LOSSES...
        "g_grads_solution": ("labutils.losses",),
        "generator_solution": _LAB1_MODELS,  # MNISTGenerator
        "discriminator_solution": _LAB1_MODELS,  # MNISTDiscriminator
    },
    "lab3_cyclegan": {
        "generator_solution": _LAB1_MODELS,  # CycleGenerator, ResidualBlock
        "discriminator_solution": _LAB1_MODELS,  # PatchDiscriminator
        "losses_solution": ("labutils.losses",),  # lsgan_*, cycle_loss, identity_loss
        "step_solution": ("labutils.train",),  # cyclegan_step, frozen, everything
    },
    "lab4_wgan": {
        "generator_solution": _LAB1_MODELS,  # ConvGenerator
        "critic_solution": _LAB1_MODELS,  # ConvCritic
        "losses_solution": ("labutils.losses",),  # wasserstein_critic_loss, wasserstein_g_loss
        "clip_solution": ("labutils.train",),  # clip_weights_
        "penalty_solution": ("labutils.losses",),  # gradient_penalty
        "step_solution": ("labutils.train",),  # wgan_step, clip_weights_, everything
    },
    "lab5_cdcgan": {  # one_hot stays allowed (the notebook gives it); the networks that do the work do not
        "generator_solution": _LAB5_MODELS,  # ConditionalGenerator, MNISTGenerator (cat then Lab 2's G)
        "discriminator_solution": _LAB5_MODELS,  # ConditionalDiscriminator, LabelBlind, MNISTDiscriminator
        "step_solution": ("labutils.train",),  # cgan_step, everything
    },
}

METADATA_KEY = "labutils_autograde"  # notebook metadata: {"findings": [...]} (DetectTampering)
NOTE_PREFIX = "Note (warnings or stderr from this cell; not counted against you):\n"
WITHHELD_CELL_ID = "autograde-withheld"

_LABUTILS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Finding:
    """One piece of code the autograder cannot trust.

    ``cell`` is the cell's nbgrader grade_id, else its cell id, else ``"cell <index>"`` (or
    ``"files"`` for a submitted file); ``line`` is 1-based in the cell's source (0 for files);
    ``reason`` says in plain words what the code does and why grading cannot survive it;
    ``kind`` is a short tag (``ipython``, ``patch``, ``delegation``...; see the module docstring);
    ``code`` is the offending source line.
    """

    cell: str
    line: int
    reason: str
    kind: str = ""
    code: str = ""

    def describe(self) -> str:
        where = (
            "submitted files"
            if self.kind == "files"
            else (f"cell `{self.cell}`" + (f", line {self.line}" if self.line else ""))
        )
        return f"{where}: {self.reason}" + (f" (`{self.code}`)" if self.code else "")


# ------------------------------------------------------------------------------------ rules

_WHY = {
    "ipython": "code that reaches the IPython shell can change how the test cells run or hide "
    "their errors",
    "hook": "a hook runs inside the tests and can change or hide their outcome",
    "patch": "graded code must not change modules or classes that the tests also use",
    "frames": "frames hold the tests' own variables, which your code must not touch",
    "object-hunt": "it can find and change the tests' own objects",
    "dynamic": "the autograder cannot check code that is built, loaded or looked up at run time",
    "modules": "it can replace the modules the tests use",
    "namespace": "it can replace the names the tests use",
    "background": "code running in the background can change things while the tests run",
    "output": "it can erase a test cell's error from the record",
    "lying-object": "an object that decides for itself what it equals or is can pass a test's "
    "checks without being a right answer",
}

# (dotted prefix, kind, what it is); a path is flagged when it is this prefix or below it.
_PATH_RULES: list[tuple[str, str, str]] = [
    ("builtins.exec", "dynamic", "runs code from a string (exec)"),
    ("builtins.eval", "dynamic", "runs code from a string (eval)"),
    ("builtins.compile", "dynamic", "compiles code from a string (compile)"),
    ("builtins.__import__", "dynamic", "imports a module by a computed name (__import__)"),
    ("builtins.breakpoint", "hook", "starts the debugger (breakpoint)"),
    ("importlib", "dynamic", "imports or reloads modules by name (importlib)"),
    ("runpy", "dynamic", "runs modules or files (runpy)"),
    ("code", "dynamic", "runs code from strings (the code module)"),
    ("codeop", "dynamic", "compiles code from strings (codeop)"),
    ("types.FunctionType", "dynamic", "builds functions from code objects (types.FunctionType)"),
    ("types.LambdaType", "dynamic", "builds functions from code objects (types.LambdaType)"),
    ("types.CodeType", "dynamic", "builds code objects (types.CodeType)"),
    ("types.ModuleType", "modules", "builds module objects (types.ModuleType)"),
    ("pickle.load", "dynamic", "unpickles data, which can call any function (pickle.load)"),
    ("pickle.loads", "dynamic", "unpickles data, which can call any function (pickle.loads)"),
    ("pickle.Unpickler", "dynamic", "unpickles data, which can call any function"),
    ("_pickle", "dynamic", "unpickles data (_pickle)"),
    ("marshal", "dynamic", "loads code objects (marshal)"),
    ("dill", "dynamic", "unpickles data and code (dill)"),
    ("cloudpickle", "dynamic", "unpickles data and code (cloudpickle)"),
    ("shelve", "dynamic", "unpickles data (shelve)"),
    ("copyreg", "patch", "changes how objects are copied and pickled (copyreg)"),
    ("ctypes", "dynamic", "uses ctypes, which can change any object in memory"),
    ("_ctypes", "dynamic", "uses ctypes, which can change any object in memory"),
    ("cffi", "dynamic", "uses cffi, which can change any object in memory"),
    ("sys._getframe", "frames", "reads the running code's frames (sys._getframe)"),
    ("sys._current_frames", "frames", "reads the running code's frames (sys._current_frames)"),
    ("sys.settrace", "hook", "installs a tracing hook (sys.settrace)"),
    ("sys.setprofile", "hook", "installs a profiling hook (sys.setprofile)"),
    ("sys.excepthook", "hook", "uses the exception hook (sys.excepthook)"),
    ("sys.displayhook", "hook", "uses the display hook (sys.displayhook)"),
    ("sys.breakpointhook", "hook", "uses the breakpoint hook (sys.breakpointhook)"),
    ("sys.unraisablehook", "hook", "uses the unraisable-exception hook (sys.unraisablehook)"),
    ("sys.addaudithook", "hook", "installs an audit hook (sys.addaudithook)"),
    ("sys.monitoring", "hook", "installs monitoring callbacks (sys.monitoring)"),
    ("sys.meta_path", "modules", "changes how modules are imported (sys.meta_path)"),
    ("sys.path_hooks", "modules", "changes how modules are imported (sys.path_hooks)"),
    ("sys.path_importer_cache", "modules", "changes how modules are imported"),
    ("sys.modules", "modules", "uses sys.modules, the table of loaded modules"),
    ("threading.settrace", "hook", "installs a tracing hook (threading.settrace)"),
    ("threading.setprofile", "hook", "installs a profiling hook (threading.setprofile)"),
    ("threading", "background", "runs code in threads (threading)"),
    ("_thread", "background", "runs code in threads (_thread)"),
    ("asyncio", "background", "schedules code on the kernel's event loop (asyncio)"),
    ("concurrent", "background", "runs code in the background (concurrent.futures)"),
    ("sched", "background", "schedules code to run later (sched)"),
    ("signal", "hook", "installs signal handlers (signal)"),
    ("atexit", "hook", "registers exit handlers (atexit)"),
    ("gc.get_objects", "object-hunt", "searches the interpreter's memory (gc.get_objects)"),
    ("gc.get_referrers", "object-hunt", "searches the interpreter's memory (gc.get_referrers)"),
    ("gc.get_referents", "object-hunt", "searches the interpreter's memory (gc.get_referents)"),
    ("gc.callbacks", "hook", "installs garbage-collector callbacks (gc.callbacks)"),
    ("gc.garbage", "object-hunt", "reads the garbage collector's objects (gc.garbage)"),
    ("inspect.currentframe", "frames", "reads the running code's frames (inspect.currentframe)"),
    ("inspect.stack", "frames", "reads the running code's frames (inspect.stack)"),
    ("inspect.trace", "frames", "reads the running code's frames (inspect.trace)"),
    ("inspect.getouterframes", "frames", "reads the running code's frames"),
    ("inspect.getinnerframes", "frames", "reads the running code's frames"),
    ("inspect.getframeinfo", "frames", "reads the running code's frames"),
    ("inspect.getmodule", "modules", "finds modules from objects (inspect.getmodule)"),
    ("inspect.getfile", "modules", "finds source files, which can be rewritten (inspect.getfile)"),
    ("inspect.getsourcefile", "modules", "finds source files (inspect.getsourcefile)"),
    ("traceback.walk_stack", "frames", "reads the running code's frames (traceback.walk_stack)"),
    ("traceback.walk_tb", "frames", "reads frames from a traceback (traceback.walk_tb)"),
    ("weakref.finalize", "hook", "registers code that runs when objects die (weakref.finalize)"),
    ("unittest.mock", "lying-object", "uses unittest.mock (mock.ANY, MagicMock)"),
    ("mock", "lying-object", "uses mock objects (mock.ANY, MagicMock)"),
    ("IPython.get_ipython", "ipython", "uses the IPython shell (get_ipython)"),
    ("IPython.core", "ipython", "uses IPython's internals (IPython.core)"),
    ("IPython.terminal", "ipython", "uses IPython's internals (IPython.terminal)"),
    ("IPython.kernel", "ipython", "uses IPython's internals (IPython.kernel)"),
    ("IPython.extensions", "ipython", "uses IPython's internals (IPython.extensions)"),
    ("IPython.InteractiveShell", "ipython", "uses the IPython shell (InteractiveShell)"),
    ("IPython.embed", "ipython", "starts an IPython shell (IPython.embed)"),
    ("IPython.start_ipython", "ipython", "starts an IPython shell"),
    ("IPython.start_kernel", "ipython", "starts a kernel"),
    ("IPython.display.clear_output", "output", "clears cell output (clear_output)"),
    ("IPython.core.display.clear_output", "output", "clears cell output (clear_output)"),
    ("ipykernel", "ipython", "uses the kernel's internals (ipykernel)"),
    ("traitlets", "ipython", "changes Jupyter's configuration objects (traitlets)"),
    ("jupyter_client", "ipython", "talks to Jupyter kernels (jupyter_client)"),
    ("nbclient", "ipython", "uses the notebook runner (nbclient)"),
    ("nbconvert", "ipython", "uses the notebook converter (nbconvert)"),
    ("nbformat", "ipython", "reads or writes notebooks (nbformat)"),
    ("nbgrader", "ipython", "uses the grader itself (nbgrader)"),
    ("zmq", "ipython", "talks to the kernel's sockets (zmq)"),
    ("sqlite3", "dynamic", "opens databases (sqlite3); the gradebook is one"),
    ("sqlalchemy", "dynamic", "opens databases (sqlalchemy); the gradebook is one"),
    ("pdb", "hook", "starts the debugger (pdb)"),
    ("bdb", "hook", "uses the debugger framework (bdb)"),
    ("trace", "hook", "installs tracing (the trace module)"),
    ("torch.library", "hook", "registers new implementations of torch operators (torch.library)"),
    ("torch.overrides", "hook", "overrides torch functions (torch.overrides)"),
    ("torch.utils._python_dispatch", "hook", "overrides torch operators (python dispatch)"),
    ("torch._C", "hook", "uses torch's C internals (torch._C)"),
    ("__main__", "namespace", "uses __main__, the namespace the tests run in"),
]
# Paths below a flagged prefix that stay allowed (and their parents, e.g. `import importlib.util`).
_ALLOWED_PATHS = (
    "importlib.util.find_spec",
    "importlib.metadata",
    "IPython.core.display.display",
    "IPython.core.display.Markdown",
    "IPython.core.display.HTML",
    "IPython.core.display.Image",
)
# Module attributes a notebook may set (the rest of a module's attributes are the tests' too).
_ALLOWED_STORES = ("torch.backends.", "pandas.options.", "numpy.set_printoptions")

# Attribute names flagged on any object: (kind, what it is).
_ATTR_RULES: dict[str, tuple[str, str]] = {
    **{
        a: ("frames", f"reads frames ({a})")
        for a in (
            "f_globals",
            "f_locals",
            "f_back",
            "f_builtins",
            "f_code",
            "f_trace",
            "tb_frame",
            "gi_frame",
            "cr_frame",
            "ag_frame",
            "_getframe",
            "_current_frames",
        )
    },
    **{
        a: ("frames", f"reaches a function's or module's namespace ({a})")
        for a in ("__globals__", "__builtins__", "__closure__", "__self__")
    },
    "__code__": ("dynamic", "uses code objects (__code__)"),
    "__subclasses__": ("object-hunt", "searches classes (__subclasses__)"),
    "__loader__": ("modules", "uses a module loader (__loader__)"),
    "__file__": ("modules", "finds a module's source file (__file__), which can be rewritten"),
    "__path__": ("modules", "finds a package's folder (__path__), whose files can be rewritten"),
    "__spec__": ("modules", "uses a module spec (__spec__)"),
    "exec_module": ("modules", "executes a module (exec_module)"),
    "load_module": ("modules", "loads a module (load_module)"),
    "__import__": ("dynamic", "imports a module by a computed name (__import__)"),
    "get_ipython": ("ipython", "uses the IPython shell (get_ipython)"),
    "settrace": ("hook", "installs a tracing hook (settrace)"),
    "setprofile": ("hook", "installs a profiling hook (setprofile)"),
    "excepthook": ("hook", "uses an exception hook (excepthook)"),
    "displayhook": ("hook", "uses the display hook (displayhook)"),
    "_make_subclass": ("lying-object", "builds tensor subclasses (_make_subclass)"),
    "_make_wrapper_subclass": ("lying-object", "builds tensor subclasses"),
    "as_subclass": ("lying-object", "turns tensors into a subclass (as_subclass)"),
    **{
        a: ("ipython", f"uses the IPython shell ({a})")
        for a in (
            "ast_transformers",
            "input_transformers_post",
            "input_transformers_cleanup",
            "input_transformer_manager",
            "set_custom_exc",
            "custom_exceptions",
            "CustomTB",
            "InteractiveTB",
            "SyntaxTB",
            "showtraceback",
            "_showtraceback",
            "user_ns",
            "user_global_ns",
            "run_cell",
            "run_cell_async",
            "run_ast_nodes",
            "run_code",
            "register_magic_function",
            "register_magics",
            "display_pub",
            "display_trap",
            "builtin_trap",
        )
    },
}
_HOOK_NAME = re.compile(r"^(register_module_|register_optimizer_step_|_global_\w*hook)")

# Special methods that let an object decide what it equals, converts to or computes.
_LYING_DUNDERS = frozenset(
    "__eq__ __ne__ __lt__ __le__ __gt__ __ge__ __bool__ __instancecheck__ __subclasscheck__ "
    "__class__ __getattribute__ __getattr__ __torch_function__ __torch_dispatch__ __array__ "
    "__array_ufunc__ __array_function__ __float__ __int__ __index__ __complex__ __round__ "
    "__abs__ __neg__ __pos__ __contains__ __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ "
    "__truediv__ __rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ "
    "__matmul__ __rmatmul__".split()
)
_TENSOR_BASES = (
    "torch.Tensor",
    "torch._tensor.Tensor",
    "torch.nn.Parameter",
    "torch.nn.parameter",
    "torch.nn.Buffer",
    "numpy.ndarray",
)
_HARMLESS_DUNDER_STORES = frozenset({"__doc__", "__name__", "__qualname__", "__module__"})
_MUTATORS = frozenset(
    "update setdefault pop popitem clear __setitem__ __delitem__ append extend insert remove "
    "add discard".split()
)
_READ_METHODS = frozenset({"get", "keys", "items", "values", "copy"})
_DYNAMIC_BUILTINS = frozenset({"setattr", "delattr", "getattr", "vars", "globals", "locals"})
_CONVENTIONAL = {
    "np": "numpy",
    "plt": "matplotlib.pyplot",
    "mpl": "matplotlib",
    "pd": "pandas",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "optim": "torch.optim",
    "T": "torchvision.transforms",
}

_LINE_MAGICS = frozenset(
    "matplotlib pinfo pinfo2 psearch pdoc pdef psource pfile who whos who_ls pwd ls cd env "
    "set_env pip conda mamba micromamba autoreload xmode precision pprint history lsmagic magic "
    "quickref time timeit prun sx sc tensorboard".split()
)
_LINE_MAGIC_ARGS = {
    "load_ext": ("autoreload", "tensorboard"),
    "reload_ext": ("autoreload", "tensorboard"),
    "config": ("InlineBackend.",),
}
_CODE_MAGICS = frozenset({"time", "timeit", "prun", "capture"})  # their argument is Python
_CELL_MAGICS = _CODE_MAGICS | frozenset(
    "bash sh script writefile html HTML markdown latex svg javascript js python python3 perl "
    "ruby sx system".split()
)
_SHELL_CALLS = frozenset({"system", "getoutput", "run_line_magic", "run_cell_magic"})


# ---------------------------------------------------------------------- labutils' own names


def _module_file(path: str) -> Path | None:
    """The source file of a labutils module (``labutils.train.updates``), or None."""
    parts = path.split(".")
    if parts[0] != "labutils":
        return None
    base = _LABUTILS_DIR.joinpath(*parts[1:])
    for f in (base / "__init__.py", base.with_suffix(".py")):
        if f.is_file():
            return f
    return None


@functools.cache
def _module_tree(path: str) -> ast.Module | None:
    f = _module_file(path)
    if f is None:
        return None
    try:
        return ast.parse(f.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None


@functools.cache
def _exports(path: str) -> dict[str, str]:
    """Names a labutils module binds by import at top level -> the dotted name they stand for."""
    tree = _module_tree(path)
    if tree is None:
        return {}
    is_pkg = _module_file(path).name == "__init__.py"
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = path.split(".") if is_pkg else path.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            for a in node.names:
                if a.name != "*":
                    out[a.asname or a.name] = f"{base}.{a.name}"
    return out


@functools.cache
def _public_names(path: str) -> tuple[str, ...]:
    """What ``from <labutils module> import *`` binds (``__all__``, else public top-level names)."""
    tree = _module_tree(path)
    if tree is None:
        return ()
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            try:
                return tuple(ast.literal_eval(node.value))
            except ValueError:
                break
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"]
    return tuple(n for n in names if not n.startswith("_"))


@functools.lru_cache(maxsize=4096)
def canonical(path: str) -> str:
    """``path`` with labutils' re-exports followed (``labutils.train.gan_step`` ->
    ``labutils.train.updates.gan_step``, ``labutils.train.updates.losses`` -> ``labutils.losses``)."""
    parts = path.split(".")
    if parts[0] != "labutils":
        return path
    cur = "labutils"
    for i, name in enumerate(parts[1:], start=1):
        if not cur.startswith("labutils"):
            return ".".join([cur, *parts[i:]])
        exported = _exports(cur).get(name)
        cur = exported if exported else f"{cur}.{name}"
    return cur


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".")


def _path_rule(path: str) -> tuple[str, str, str] | None:
    """The rule a dotted path falls under, or None (allowed paths and their parents are)."""
    for allowed in _ALLOWED_PATHS:
        if _under(path, allowed) or allowed.startswith(path + "."):
            return None
    for rule in _PATH_RULES:
        if _under(path, rule[0]):
            return rule
    return None


@functools.cache
def _importable(top: str) -> bool:
    """Whether ``top`` is a module this Python can import (stdlib or installed), without importing."""
    if top in sys.modules or top in sys.builtin_module_names or top in sys.stdlib_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


# ------------------------------------------------------------------------------- parsing


def _transform(source: str) -> str:
    """Cell source with IPython syntax (magics, ``!``, ``?``) turned into Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # no IPython: plain Python only
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # IPython cannot transform it: the kernel cannot run it either
        return source


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_transform(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _strip_options(arg: str) -> list[str]:
    """Candidate code strings of a ``%time``/``%timeit`` argument with its options removed."""
    tokens = list(re.finditer(r"\S+", arg))
    out = [arg]
    for i, tok in enumerate(tokens[:8]):
        if not (tok.group().startswith("-") or (i and tokens[i - 1].group().startswith("-"))):
            break
        out.append(arg[tok.end() :].lstrip())
    return out


def _magic(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """(method, args) for ``get_ipython().<method>(...)``, else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "get_ipython"
        and not node.func.value.args
        and not node.func.value.keywords
    ):
        return node.func.attr, node.args
    return None


def _const_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _pieces(tree: ast.Module, offset: int = 0, depth: int = 0) -> list[tuple[ast.Module, int]]:
    """The cell's tree and the trees of the Python code magics run (``%%time`` bodies), each with
    the line offset that maps its line numbers to the cell's."""
    out = [(tree, offset)]
    if depth > 5:
        return out
    for node in ast.walk(tree):
        m = _magic(node)
        if not m or m[0] not in ("run_line_magic", "run_cell_magic"):
            continue
        args = m[1]
        name = _const_str(args[0]) if args else None
        if name not in _CODE_MAGICS:
            continue
        line = _const_str(args[1]) if len(args) > 1 else None
        codes: list[tuple[str, int]] = []
        if line is not None and name != "capture":
            codes += [(c, offset + node.lineno - 1) for c in _strip_options(line)]
        if m[0] == "run_cell_magic" and len(args) > 2 and _const_str(args[2]) is not None:
            codes.append((_const_str(args[2]), offset + node.lineno))
        for code, off in codes:
            sub = _parse(code)
            if sub is not None:
                out += _pieces(sub, off, depth + 1)
    return out


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _text(node: ast.AST, limit: int = 70) -> str:
    try:
        s = ast.unparse(node)
    except Exception:
        return "?"
    return s if len(s) <= limit else s[: limit - 3] + "..."


# ------------------------------------------------------------------------ the notebook model


@dataclass
class _Cell:
    index: int
    label: str
    role: str  # "locked", "solution" or "ordinary"
    grade_id: str | None
    source: str
    pieces: list[tuple[ast.Module, int]]


@dataclass
class _Binding:
    """A name bound at the notebook's top level (or through ``global``)."""

    name: str
    cell: _Cell
    stmt: int  # index of the top-level statement in its piece's body
    piece: int
    line: int
    kind: str  # import, alias, classhandle, star, def, class, assign, del, other
    target: str | None = None  # dotted name (imports, once resolved: aliases)
    expr: ast.AST | None = None  # the aliased expression


def _nb_label(cell: Mapping, index: int) -> str:
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return gid or cell.get("id") or f"cell {index}"


def _role(cell: Mapping, trusted: Collection[str] | None) -> str:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    gid = meta.get("grade_id")
    if not gid:
        return "ordinary"
    if meta.get("solution"):
        return "solution"
    locked = meta.get("locked") or meta.get("grade")
    if locked and (trusted is None or gid in trusted):
        return "locked"
    return "ordinary"


class _BindingCollector(ast.NodeVisitor):
    """Top-level bindings of one piece: what each top-level statement binds at module scope."""

    def __init__(self, cell: _Cell, piece: int):
        self.cell, self.piece = cell, piece
        self.out: list[_Binding] = []
        self.stmt = 0
        self.globals: list[set[str]] = []  # `global` names of the enclosing functions

    def run(self, tree: ast.Module) -> list[_Binding]:
        for i, stmt in enumerate(tree.body):
            self.stmt = i
            self.visit(stmt)
        return self.out

    def add(self, name: str, node: ast.AST, kind: str, target=None, expr=None) -> None:
        if self.globals and name not in self.globals[-1]:
            return  # a local name
        self.out.append(
            _Binding(
                name,
                self.cell,
                self.stmt,
                self.piece,
                getattr(node, "lineno", 1),
                kind,
                target,
                expr,
            )
        )

    def bind_target(self, target: ast.AST, value: ast.AST | None, node: ast.AST) -> None:
        if isinstance(target, ast.Name):
            kind = "alias" if value is not None and _is_chain(value) else "assign"
            if value is not None and _is_class_handle(value):
                kind = "classhandle"
            self.add(target.id, node, kind, expr=value if kind != "assign" else None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            if (
                values is not None
                and len(values) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts)
            ):
                for t, v in zip(target.elts, values):
                    self.bind_target(t, v, node)
            else:
                for t in target.elts:
                    self.bind_target(t, None, node)
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, None, node)

    def visit_Import(self, node):
        for a in node.names:
            if a.asname:
                self.add(a.asname, node, "import", target=a.name)
            else:
                top = a.name.split(".")[0]
                self.add(top, node, "import", target=top)

    def visit_ImportFrom(self, node):
        if node.level:
            return
        for a in node.names:
            if a.name == "*":
                if node.module and node.module.split(".")[0] == "labutils":
                    for name in _public_names(canonical(node.module)):
                        self.add(name, node, "import", target=f"{node.module}.{name}")
                else:
                    self.add("*", node, "star", target=node.module)
            else:
                self.add(a.asname or a.name, node, "import", target=f"{node.module}.{a.name}")

    def visit_Assign(self, node):
        for t in node.targets:
            self.bind_target(t, node.value, node)
        self.visit(node.value)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.bind_target(node.target, node.value, node)
            self.visit(node.value)

    def visit_AugAssign(self, node):
        self.bind_target(node.target, None, node)
        self.visit(node.value)

    def visit_NamedExpr(self, node):
        self.bind_target(node.target, node.value, node)
        self.visit(node.value)

    def visit_For(self, node):
        self.bind_target(node.target, None, node)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self.bind_target(item.optional_vars, None, node)
        self.generic_visit(node)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node):
        if node.name:
            self.add(node.name, node, "assign")
        self.generic_visit(node)

    def visit_Delete(self, node):
        for t in node.targets:
            if isinstance(t, ast.Name):
                self.add(t.id, node, "del")

    def visit_MatchAs(self, node):
        if node.name:
            self.add(node.name, node, "assign")
        self.generic_visit(node)

    def visit_MatchStar(self, node):
        if node.name:
            self.add(node.name, node, "assign")

    def visit_MatchMapping(self, node):
        if node.rest:
            self.add(node.rest, node, "assign")
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        self.add(node.name, node, "def")
        for d in node.decorator_list:
            self.visit(d)
        declared = {n for s in ast.walk(node) if isinstance(s, ast.Global) for n in s.names}
        if declared:  # `global x` inside: its assignments bind module names
            self.globals.append(declared)
            for stmt in node.body:
                self.visit(stmt)
            self.globals.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.add(node.name, node, "class")
        for b in [*node.bases, *node.decorator_list]:
            self.visit(b)
        declared = {n for s in ast.walk(node) if isinstance(s, ast.Global) for n in s.names}
        if declared:
            self.globals.append(declared)
            for stmt in node.body:
                self.visit(stmt)
            self.globals.pop()

    def visit_Lambda(self, node):
        pass

    def _comprehension(self, node):  # only walrus targets escape a comprehension
        for n in ast.walk(node):
            if isinstance(n, ast.NamedExpr):
                self.bind_target(n.target, n.value, n)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _is_chain(node: ast.AST) -> bool:
    """A pure reference: ``a``, ``a.b.c``, ``getattr(a, "b")``."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _is_chain(node.value)
    return _is_getattr_literal(node) and _is_chain(node.args[0])


def _is_getattr_literal(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) == 2
        and _const_str(node.args[1]) is not None
    )


def _is_class_handle(node: ast.AST) -> bool:
    """``type(x)``, ``x.__class__``, ``x.__mro__[1]``...: a class reached through an object."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type":
        return len(node.args) == 1
    if isinstance(node, ast.Attribute):
        return node.attr in ("__class__", "__bases__", "__mro__", "__base__")
    if isinstance(node, ast.Subscript):
        return _is_class_handle(node.value)
    return False


class _Notebook:
    """The notebook's cells, its top-level bindings and how names resolve."""

    def __init__(self, nb: Mapping, trusted: Collection[str] | None):
        self.cells: list[_Cell] = []
        for i, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            tree = _parse(source)
            role = _role(cell, trusted)
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            pieces = _pieces(tree) if tree is not None else []
            self.cells.append(_Cell(i, _nb_label(cell, i), role, gid, source, pieces))
        self.bindings: dict[str, list[_Binding]] = defaultdict(list)
        for cell in self.cells:
            for p, (tree, _) in enumerate(cell.pieces):
                for b in _BindingCollector(cell, p).run(tree):
                    self.bindings[b.name].append(b)
        self._resolve_aliases()

    def _resolve_aliases(self) -> None:
        aliases = [b for bs in self.bindings.values() for b in bs if b.kind == "alias"]
        for _ in range(10):
            changed = False
            for b in aliases:
                paths = sorted(self.resolve_global_expr(b.expr))
                target = paths[0] if paths else None
                if target != b.target:
                    b.target, changed = target, True
            if not changed:
                break

    def global_targets(self, name: str) -> set[str]:
        """Dotted names a top-level name may stand for (empty: an ordinary value)."""
        bs = self.bindings.get(name)
        if not bs:
            if name == "get_ipython":
                return {"IPython.get_ipython"}
            if name == "__builtins__":
                return {"builtins"}
            return {f"builtins.{name}"} if hasattr(builtins, name) else set()
        return {b.target for b in bs if b.target and b.kind in ("import", "alias")}

    def is_class_handle_name(self, name: str) -> bool:
        return any(b.kind == "classhandle" for b in self.bindings.get(name, ()))

    def resolve_global_expr(self, node: ast.AST) -> set[str]:
        if isinstance(node, ast.Name):
            return self.global_targets(node.id)
        if isinstance(node, ast.Attribute):
            return {f"{p}.{node.attr}" for p in self.resolve_global_expr(node.value)}
        if _is_getattr_literal(node):
            return {f"{p}.{node.args[1].value}" for p in self.resolve_global_expr(node.args[0])}
        return set()

    def module_names(self) -> set[str]:
        return {n for n, bs in self.bindings.items() if any(b.kind == "import" for b in bs)}


# ---------------------------------------------------------------------------- the checker


@dataclass
class _Scope:
    kind: str  # module, function, class, comprehension
    parent: _Scope | None = None
    names: set[str] = dataclasses.field(default_factory=set)
    aliases: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    handles: set[str] = dataclasses.field(default_factory=set)  # names holding type(x)
    declared_global: set[str] = dataclasses.field(default_factory=set)
    self_name: str | None = None  # first parameter of a method


@dataclass
class _Ref:
    """A reference made by a top-level statement: the dotted names it may stand for."""

    paths: frozenset[str]
    global_name: str | None
    line: int
    text: str


def _local_names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names bound in a function's own scope, names it declares global/nonlocal)."""
    bound, declared = set(), set()
    a = node.args
    for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
        if arg is not None:
            bound.add(arg.arg)
    body = node.body if isinstance(node.body, list) else [node.body]
    todo = list(body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            declared.update(n.names)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(n.name)
            todo += n.decorator_list + (n.bases if isinstance(n, ast.ClassDef) else [])
            continue
        elif isinstance(n, ast.Lambda):
            continue
        elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            bound.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name.split(".")[0]) for a in n.names if a.name != "*")
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        todo += list(ast.iter_child_nodes(n))
    return bound - declared, declared


class _Checker(ast.NodeVisitor):
    """Walks one piece of a student cell and records findings and top-level references."""

    def __init__(self, nbm: _Notebook, cell: _Cell, offset: int, tree: ast.Module, report):
        self.nbm, self.cell, self.offset, self.report = nbm, cell, offset, report
        self.parents = _parents(tree)
        self.scope = _Scope("module")
        self.exempt: set[int] = set()  # id() of Name nodes already accounted for
        self.refs: list[list[_Ref]] = []
        self.tree = tree

    def run(self) -> list[list[_Ref]]:
        for stmt in self.tree.body:
            self.refs.append([])
            self.visit(stmt)
        return self.refs

    def flag(self, node: ast.AST, kind: str, what: str, why: str | None = None) -> None:
        why = why if why is not None else _WHY.get(kind, "")
        self.report(
            self.cell,
            self.offset + getattr(node, "lineno", 1),
            kind,
            what + (f": {why}" if why else ""),
        )

    # ------------------------------------------------------------------ resolution

    def resolve(self, node: ast.AST) -> set[str]:
        if isinstance(node, ast.Name):
            return self.resolve_name(node.id)
        if isinstance(node, ast.Attribute):
            return {f"{p}.{node.attr}" for p in self.resolve(node.value)}
        if _is_getattr_literal(node):
            return {f"{p}.{node.args[1].value}" for p in self.resolve(node.args[0])}
        return set()

    def lookup(self, name: str) -> _Scope | None:
        """The function/class scope that binds ``name`` (None: the notebook's top level)."""
        s, first = self.scope, True
        while s is not None and s.kind != "module":
            if s.kind == "class" and not first:
                s = s.parent
                continue
            if name in s.declared_global:
                return None
            if name in s.names:
                return s
            s, first = s.parent, False
        return None

    def resolve_name(self, name: str) -> set[str]:
        s = self.lookup(name)
        return set(s.aliases.get(name, ())) if s is not None else self.nbm.global_targets(name)

    def is_handle(self, node: ast.AST) -> bool:
        """A class reached through an object (``type(x)``, ``x.__class__``, an alias of one)."""
        if isinstance(node, ast.Name):
            s = self.lookup(node.id)
            return node.id in s.handles if s is not None else self.nbm.is_class_handle_name(node.id)
        if isinstance(node, ast.Attribute) and node.attr not in (
            "__class__",
            "__bases__",
            "__mro__",
            "__base__",
        ):
            return False
        if _is_class_handle(node):
            obj = node.args[0] if isinstance(node, ast.Call) else node.value
            while isinstance(obj, ast.Subscript):
                obj = obj.value
            return not self.is_self(obj)
        return False

    def is_self(self, node: ast.AST) -> bool:
        """``self`` (the first parameter) inside a method of a class defined here."""
        if not isinstance(node, ast.Name):
            return False
        s = self.scope
        while s is not None and s.kind != "module":
            if s.self_name == node.id:
                return True
            s = s.parent
        return False

    def root(self, node: ast.AST) -> ast.AST:
        while True:
            if isinstance(node, (ast.Attribute, ast.Subscript)):
                node = node.value
            elif _is_getattr_literal(node) or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "vars"
                and node.args
            ):
                node = node.args[0]
            else:
                return node

    def module_paths(self, node: ast.AST) -> set[str]:
        """Dotted names of ``node`` if it is, or is reached from, a module (without calls)."""
        return {canonical(p) for p in self.resolve(node)}

    def outer_chain(self, node: ast.AST) -> ast.AST:
        """The longest attribute chain that starts at ``node`` (``a`` in ``a.b.c`` -> ``a.b.c``)."""
        while True:
            parent = self.parents.get(node)
            if isinstance(parent, ast.Attribute) and parent.value is node:
                node = parent
            elif _is_getattr_literal(parent) and parent.args[0] is node:
                node = parent
            else:
                return node

    def use_text(self, node: ast.AST) -> str:
        """The expression around ``node`` that shows how it is used (``get_ipython().events.register``)."""
        cur = node
        while True:
            parent = self.parents.get(cur)
            if (
                isinstance(parent, ast.Call)
                and parent.func is cur
                or (isinstance(parent, ast.Attribute) and parent.value is cur)
            ):
                cur = parent
            else:
                return _text(cur)

    def record(self, node: ast.Name, global_name: str | None) -> None:
        chain = self.outer_chain(node)
        paths = self.resolve(chain) or self.resolve(node)
        paths = frozenset(paths | {canonical(p) for p in paths})
        if self.refs:
            self.refs[-1].append(_Ref(paths, global_name, node.lineno, _text(chain)))

    # ------------------------------------------------------------------ scopes

    def _enter_function(self, node, is_method: bool) -> None:
        names, declared = _local_names(node)
        scope = _Scope("function", self.scope, names, declared_global=declared)
        a = node.args
        positional = [*a.posonlyargs, *a.args]
        if is_method and positional:
            scope.self_name = positional[0].arg
        defaults = list(zip(positional[len(positional) - len(a.defaults) :], a.defaults))
        defaults += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
        for arg, default in defaults:
            paths = self.resolve(default)
            if paths:
                scope.aliases[arg.arg] = paths
        body = node.body if isinstance(node.body, list) else [node.body]
        for n in (x for stmt in body for x in ast.walk(stmt)):
            if isinstance(n, ast.Import):
                for al in n.names:
                    top = al.name.split(".")[0]
                    scope.aliases.setdefault(al.asname or top, set()).add(
                        al.name if al.asname else top
                    )
            elif isinstance(n, ast.ImportFrom) and not n.level:
                for al in n.names:
                    if al.name != "*":
                        scope.aliases.setdefault(al.asname or al.name, set()).add(
                            f"{n.module}.{al.name}"
                        )
        self.scope = scope
        for n in (x for stmt in body for x in ast.walk(stmt)):
            if (
                isinstance(n, ast.Assign)
                and len(n.targets) == 1
                and isinstance(n.targets[0], ast.Name)
            ):
                name = n.targets[0].id
                if name in scope.names:
                    if _is_chain(n.value):
                        scope.aliases.setdefault(name, set()).update(self.resolve(n.value))
                    if _is_class_handle(n.value):
                        scope.handles.add(name)

    def visit_FunctionDef(self, node):
        for d in node.decorator_list:
            self.visit(d)
        a = node.args
        for d in [*a.defaults, *[k for k in a.kw_defaults if k is not None]]:
            self.visit(d)
        for ann in [arg.annotation for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]] + [
            node.returns
        ]:
            if ann is not None:
                self.visit(ann)
        outer = self.scope
        self._enter_function(node, is_method=outer.kind == "class")
        for stmt in node.body:
            self.visit(stmt)
        self.scope = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        a = node.args
        for d in [*a.defaults, *[k for k in a.kw_defaults if k is not None]]:
            self.visit(d)
        outer = self.scope
        self._enter_function(node, is_method=False)
        self.visit(node.body)
        self.scope = outer

    def _comprehension(self, node):
        outer = self.scope
        names = {
            n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
        }
        # the first iterable is evaluated in the enclosing scope
        self.visit(node.generators[0].iter)
        self.scope = _Scope("comprehension", outer, names)
        for i, g in enumerate(node.generators):
            if i:
                self.visit(g.iter)
            for cond in g.ifs:
                self.visit(cond)
        for part in ("elt", "key", "value"):
            if getattr(node, part, None) is not None:
                self.visit(getattr(node, part))
        self.scope = outer

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_ClassDef(self, node):
        for b in [*node.bases, *node.decorator_list, *[k.value for k in node.keywords]]:
            self.visit(b)
        for b in node.bases:
            for p in self.module_paths(b):
                if any(_under(p, t) for t in _TENSOR_BASES):
                    self.flag(
                        b,
                        "lying-object",
                        f"defines {node.name}, a subclass of {p}, whose methods can be made "
                        "to answer anything the tests ask a tensor",
                    )
        for stmt in node.body:
            names = []
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [stmt.name]
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                if name in _LYING_DUNDERS:
                    self.flag(
                        stmt,
                        "lying-object",
                        f"defines the special method {name} in class {node.name}",
                    )
        outer = self.scope
        names = {b.name for b in _BindingCollector(None, 0).run(ast.Module(node.body, []))}
        self.scope = _Scope("class", outer, names)
        for stmt in node.body:
            self.visit(stmt)
        self.scope = outer

    # ------------------------------------------------------------------ imports

    def _check_import_path(self, node, path: str, star: bool = False) -> None:
        rule = _path_rule(path)
        if rule:
            self.flag(node, rule[1], f"{rule[2]} (`{_text(node)}`)")
        top = path.split(".")[0]
        if not _importable(top):
            self.flag(
                node,
                "dynamic",
                f"imports {top}, which is not an installed package (a module written or "
                "submitted next to the notebook runs code the autograder never sees)",
                why="",
            )
        if star and top != "labutils" and path not in ("math", "cmath"):
            self.flag(
                node,
                "namespace",
                f"imports everything from {path} (`from {path} import *`), which can replace "
                "names the tests use; import the names you need",
                why="",
            )

    def visit_Import(self, node):
        for a in node.names:
            self._check_import_path(node, a.name)
        if self.refs:
            for a in node.names:
                paths = frozenset({a.name, canonical(a.name)})
                self.refs[-1].append(_Ref(paths, None, node.lineno, f"import {a.name}"))

    def visit_ImportFrom(self, node):
        if node.level or not node.module:
            return
        for a in node.names:
            if a.name == "*":
                self._check_import_path(node, node.module, star=True)
                path = node.module
            else:
                path = f"{node.module}.{a.name}"
                self._check_import_path(node, path)
            if self.refs:
                paths = frozenset({path, canonical(path)})
                self.refs[-1].append(
                    _Ref(paths, None, node.lineno, f"from {node.module} import {a.name}")
                )

    # ------------------------------------------------------------------ names and attributes

    def _check_paths(self, node: ast.AST, paths: Iterable[str]) -> None:
        for p in paths:
            rule = _path_rule(p)
            if rule is None and p != canonical(p):
                rule = _path_rule(canonical(p))
            if rule is None:
                continue
            if rule[0] == "sys.modules" and self._is_membership_test(node):
                continue
            self.flag(node, rule[1], f"{rule[2]} (`{self.use_text(node)}`)")
            return

    def _is_membership_test(self, node: ast.AST) -> bool:
        parent = self.parents.get(node)
        return (
            isinstance(parent, ast.Compare)
            and node in parent.comparators
            and all(isinstance(op, (ast.In, ast.NotIn)) for op in parent.ops)
        )

    def visit_Name(self, node):
        if id(node) in self.exempt:
            return
        scope = self.lookup(node.id)
        paths = self.resolve_name(node.id)
        if isinstance(node.ctx, ast.Load):
            self.record(node, node.id if scope is None else None)
            if node.id == "__builtins__" and scope is None:
                self.flag(node, "frames", "uses __builtins__, the built-in namespace")
            if self.outer_chain(node) is node:
                self._check_paths(node, paths)
            builtin = next((p[9:] for p in paths if p.startswith("builtins.")), None)
            if builtin in _DYNAMIC_BUILTINS:
                parent = self.parents.get(node)
                if not (isinstance(parent, ast.Call) and parent.func is node):
                    self.flag(
                        node,
                        "dynamic",
                        f"passes {builtin} around as a value, so the "
                        "autograder cannot see what it changes",
                    )

    def visit_Attribute(self, node):
        attr = node.attr
        rule = _ATTR_RULES.get(attr)
        if rule and rule[0] == "ipython" and self._from_shell(node):
            rule = None  # flagged at get_ipython(), with the whole expression
        if rule and isinstance(node.ctx, ast.Load) and any(map(_path_rule, self.resolve(node))):
            rule = None  # flagged by its full name (sys.settrace)
        if rule:
            self.flag(node, rule[0], f"{rule[1]} (`{_text(node)}`)")
        if _HOOK_NAME.match(attr):
            self.flag(
                node,
                "hook",
                f"registers a global hook ({attr}) on every torch module or "
                "optimizer, the tests' own included",
            )
        if attr == "__dict__" and (self.resolve(node.value) or self.is_handle(node.value)):
            self.flag(
                node,
                "patch",
                f"uses the namespace of {_text(node.value)} directly (`{_text(node)}`)",
            )
        if isinstance(node.ctx, ast.Store):
            self._check_store(node, node.value, attr, "assigns to")
        elif isinstance(node.ctx, ast.Del):
            self._check_store(node, node.value, attr, "deletes")
        elif self.outer_chain(node) is node:
            self._check_paths(node, self.resolve(node))
        self.generic_visit(node)

    def _from_shell(self, node: ast.AST) -> bool:
        """Whether ``node`` hangs off ``get_ipython()`` (already flagged there, in full)."""
        r = self.root(node)
        while isinstance(r, ast.Call) and not (
            isinstance(r.func, ast.Name) and r.func.id == "get_ipython"
        ):
            r = self.root(r.func)
        return isinstance(r, ast.Call) and "IPython.get_ipython" in self.resolve(r.func)

    def _check_store(self, node: ast.AST, obj: ast.AST, attr: str | None, verb: str) -> None:
        """``obj.attr`` is assigned, augmented or deleted (``attr`` None: a name not written out)."""
        target = (
            f"{_text(obj)}.{attr}" if attr else f"an attribute of {_text(obj)} chosen at run time"
        )
        if (
            attr
            and attr.startswith("__")
            and attr.endswith("__")
            and attr not in _HARMLESS_DUNDER_STORES
        ):
            self.flag(
                node,
                "patch",
                f"{verb} the special attribute {attr} (`{target}`), which "
                "changes how an object or function behaves for everyone, the tests included",
                why="",
            )
            return
        paths = self.module_paths(obj)
        if paths:
            full = sorted(f"{p}.{attr}" if attr else p for p in paths)
            if not all(any(f.startswith(a) for a in _ALLOWED_STORES) for f in full):
                shown = full[0] if attr else target
                self.flag(node, "patch", f"{verb} {shown}")
            return
        if self.is_handle(obj) or self.is_handle(self.root(obj)):
            self.flag(
                node,
                "patch",
                f"{verb} {target}, a class reached through an object "
                "(the tests' reference objects may share it)",
            )

    def visit_Subscript(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._check_container_change(node, node.value, "changes")
        self.generic_visit(node)

    def _check_container_change(self, node: ast.AST, container: ast.AST, verb: str) -> None:
        if isinstance(container, ast.Attribute) and container.attr in (
            "_parameters",
            "_buffers",
            "_modules",
        ):
            self.flag(
                node,
                "patch",
                f"{verb} {_text(container)}, a module's internal table "
                "(parameters can be replaced by objects that only look like tensors)",
            )
            return
        if isinstance(container, ast.Attribute) and container.attr == "__dict__":
            return  # flagged as a use of __dict__ (a module's or a class's), or harmless (self's)
        for p in self.module_paths(container):
            if p.startswith("labutils."):
                self.flag(
                    node,
                    "patch",
                    f"{verb} {p} (`{_text(container)}`), labutils' own data that the tests use",
                )
                return

    def _is_namespace_call(self, node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Call)
            and bool(
                self.resolve(node.func) & {"builtins.globals", "builtins.locals", "builtins.vars"}
            )
            and not (isinstance(node.func, ast.Name) and node.func.id == "vars" and node.args)
        )

    # ------------------------------------------------------------------ calls

    def visit_Call(self, node):
        m = _magic(node)
        if m is not None:
            self._check_magic(node, *m)
        fpaths = self.resolve(node.func)
        dynamic_args = any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        )
        if dynamic_args and fpaths & {f"builtins.{b}" for b in _DYNAMIC_BUILTINS}:
            self.flag(
                node,
                "dynamic",
                f"calls {_text(node.func)} with unpacked arguments "
                f"(`{_text(node)}`), so the autograder cannot see what it changes",
            )
        elif node.args and fpaths & {"builtins.setattr", "builtins.delattr"}:
            name = _const_str(node.args[1]) if len(node.args) > 1 else None
            verb = (
                "sets, with setattr," if "builtins.setattr" in fpaths else "deletes, with delattr,"
            )
            self._check_store(node, node.args[0], name, verb)
        if _is_getattr_literal(node) and self.outer_chain(node) is node:
            self._check_paths(node, self.resolve(node))
        if (
            "builtins.getattr" in fpaths
            and len(node.args) >= 2
            and _const_str(node.args[1]) is None
        ):
            if self.module_paths(node.args[0]) or self.is_handle(node.args[0]):
                self.flag(
                    node,
                    "dynamic",
                    f"looks up an attribute of {_text(node.args[0])} by a "
                    f"name computed at run time (`{_text(node)}`)",
                )
        if isinstance(node.func, ast.Attribute) and node.func.attr in (
            "__setattr__",
            "__delattr__",
        ):
            obj = node.func.value
            if not (
                isinstance(obj, ast.Call)
                and isinstance(obj.func, ast.Name)
                and obj.func.id == "super"
                and not obj.args
            ) and not self.is_self(obj):
                self.flag(
                    node,
                    "patch",
                    f"calls {node.func.attr} directly (`{_text(node)}`), "
                    "which can change modules and classes the tests use",
                )
        if "builtins.vars" in fpaths and len(node.args) == 1:
            if self.resolve(node.args[0]) or self.is_handle(node.args[0]):
                self.flag(
                    node,
                    "patch",
                    f"uses the namespace of {_text(node.args[0])} directly (`{_text(node)}`)",
                )
        if self._is_namespace_call(node) and not self._namespace_read(node):
            self.flag(
                node,
                "namespace",
                f"uses {_text(node.func)}() for more than reading it "
                "(it can replace the names the tests use)",
                why="",
            )
        if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            self._check_container_change(node, node.func.value, f"calls {node.func.attr} on")
        for kw in node.keywords:
            if (kw.arg, getattr(kw.value, "value", None)) in (
                ("allow_pickle", True),
                ("weights_only", False),
            ):
                self.flag(
                    node,
                    "dynamic",
                    f"loads pickled data ({kw.arg}={kw.value.value!r}), "
                    "which can call any function",
                )
        self.generic_visit(node)

    def _namespace_read(self, node: ast.Call) -> bool:
        parent = self.parents.get(node)
        if self._is_membership_test(node):
            return True
        if isinstance(parent, ast.Subscript) and parent.value is node:
            return isinstance(parent.ctx, ast.Load)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return parent.attr in _READ_METHODS
        if isinstance(parent, ast.Call) and node in parent.args:
            return bool(
                self.resolve(parent.func)
                & {
                    "builtins.len",
                    "builtins.sorted",
                    "builtins.list",
                    "builtins.print",
                    "builtins.repr",
                    "builtins.str",
                    "builtins.dict",
                    "builtins.set",
                }
            )
        return False

    def _check_magic(self, node: ast.Call, method: str, args: list[ast.expr]) -> None:
        self.exempt.add(id(node.func.value.func))  # the get_ipython of an allowed call
        if method not in _SHELL_CALLS:
            self.exempt.discard(id(node.func.value.func))
            return  # flagged as a use of the shell (get_ipython)
        if method in ("system", "getoutput"):
            return  # `!cmd`: a shell command, outside the kernel's memory
        name = _const_str(args[0]) if args else None
        arg = _const_str(args[1]) if len(args) > 1 else None
        if name is None or arg is None:
            self.flag(
                node, "ipython", f"runs an IPython magic chosen at run time (`{_text(node)}`)"
            )
            return
        if method == "run_line_magic":
            ok = name in _LINE_MAGICS or any(
                arg.strip().startswith(a) for a in _LINE_MAGIC_ARGS.get(name, ())
            )
            shown = f"%{name} {arg}".strip()
        else:
            ok = name in _CELL_MAGICS
            shown = f"%%{name}"
        if not ok:
            self.flag(
                node,
                "ipython",
                f"uses the IPython magic {shown}, which is not allowed in a "
                "graded notebook (allowed: %matplotlib, %time, %timeit, %pip, %config "
                "InlineBackend..., %load_ext autoreload, %%capture, %%bash, %%writefile, ...)",
            )


# ----------------------------------------------------------------------------- the checks


def check_notebook(
    nb: Mapping,
    *,
    assignment: str | None = None,
    trusted: Collection[str] | None = None,
    answers: Mapping[str, str] | None = None,
    references: Mapping[str, Mapping[str, tuple[str, ...]]] = REFERENCES,
) -> list[Finding]:
    """Findings for the code cells of ``nb`` that grading cannot survive ([] when clean).

    ``nb``: an nbformat v4 notebook (a NotebookNode or its dict). ``assignment`` selects the
    entry of ``references`` for the delegation check (none without it). ``trusted``: grade_ids
    of the locked cells as the gradebook knows them (a cell the submission marks locked but the
    gradebook does not is checked like any other); None trusts the cells' metadata. ``answers``:
    solution grade_id -> the instructor's source of that cell, whose top-level names are the
    answers the cell must define (default: what the submitted solution cells define).
    """
    nbm = _Notebook(nb, trusted)
    findings: list[Finding] = []
    seen: set[tuple] = set()

    def report(cell: _Cell, line: int, kind: str, reason: str) -> None:
        key = (cell.label, line, reason)
        if key in seen:
            return
        seen.add(key)
        lines = cell.source.split("\n")
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        findings.append(Finding(cell.label, line, reason, kind, code[:120]))

    # every student cell: the checks that need nothing but the code
    refs: dict[tuple[int, int, int], list[_Ref]] = {}  # (cell index, piece, stmt) -> refs
    for cell in nbm.cells:
        if cell.role == "locked":
            continue
        for p, (tree, offset) in enumerate(cell.pieces):
            try:
                stmt_refs = _Checker(nbm, cell, offset, tree, report).run()
            except RecursionError:
                report(cell, 1, "dynamic", "is nested too deeply for the autograder to check")
                continue
            for s, r in enumerate(stmt_refs):
                refs[(cell.index, p, s)] = r

    _check_rebinding(nbm, report)
    if assignment is not None:
        _check_delegation(nbm, refs, references.get(assignment, {}), answers or {}, report)
    findings.sort(key=lambda f: ([c.label for c in nbm.cells].index(f.cell), f.line))
    return findings


def check_locked_cells(nb: Mapping, locked_code: Iterable[str]) -> list[Finding]:
    """The locked code cells (grade_ids, e.g. the gradebook's) missing from ``nb``.

    nbgrader puts back deleted *test* cells, not other locked cells: without the locked import
    cell, code in its place would decide what ``torch`` or ``grading`` are, unchecked.
    """
    present = {
        c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code"
    }
    return [
        Finding(
            name,
            0,
            f"the locked cell {name} is missing from the submission: the tests rely on what it "
            "defines, and code in its place could redefine it unchecked",
            "missing-locked",
        )
        for name in locked_code
        if name not in present
    ]


def check_source(source: str, **kwargs) -> list[Finding]:
    """``check_notebook`` of a notebook with one ordinary code cell holding ``source``."""
    nb = {"cells": [{"cell_type": "code", "source": source, "metadata": {}}]}
    return check_notebook(nb, **kwargs)


def _global_loads(node: ast.AST, local: frozenset[str] = frozenset()) -> set[str]:
    """Names ``node`` reads from the notebook's namespace (not a function's or comprehension's own)."""
    out: set[str] = set()
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in local:
            out.add(node.id)
        return out
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        for d in [
            *a.defaults,
            *[k for k in a.kw_defaults if k is not None],
            *getattr(node, "decorator_list", []),
        ]:
            out |= _global_loads(d, local)
        names, declared = _local_names(node)
        inner = (local | names) - declared
        for stmt in node.body if isinstance(node.body, list) else [node.body]:
            out |= _global_loads(stmt, frozenset(inner))
        return out
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        targets = {
            n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
        }
        inner = frozenset(local | targets)
        out |= _global_loads(node.generators[0].iter, local)
        for i, g in enumerate(node.generators):
            parts = ([g.iter] if i else []) + list(g.ifs)
            for part in parts:
                out |= _global_loads(part, inner)
        for part in ("elt", "key", "value"):
            if getattr(node, part, None) is not None:
                out |= _global_loads(getattr(node, part), inner)
        return out
    if isinstance(node, ast.ClassDef):
        for b in [*node.bases, *node.decorator_list, *[k.value for k in node.keywords]]:
            out |= _global_loads(b, local)
        for stmt in node.body:  # methods do not see the class body's names: close enough
            out |= _global_loads(stmt, local)
        return out
    for child in ast.iter_child_nodes(node):
        out |= _global_loads(child, local)
    return out


def _needed_by_tests(nbm: _Notebook) -> set[str]:
    """Names the locked cells read from the namespace before (or without) binding them."""
    needed: set[str] = set()
    for cell in nbm.cells:
        if cell.role != "locked":
            continue
        for tree, _ in cell.pieces:
            bound: set[str] = set()
            for stmt in tree.body:
                here = {b.name for b in _BindingCollector(cell, 0).run(ast.Module([stmt], []))}
                needed |= _global_loads(stmt) - bound - here
                bound |= here
    return needed


def _is_module_target(target: str) -> bool:
    """Whether an import target names a module (as far as can be told without importing)."""
    if target.startswith("labutils"):
        return _module_file(canonical(target)) is not None
    return target in _CONVENTIONAL.values() or ("." not in target and _importable(target))


def _check_rebinding(nbm: _Notebook, report) -> None:
    """Top-level rebinding, in student cells, of module names and built-ins the tests use.

    A module name is one a locked cell binds by import (say ``torch``, ``grading``); in a
    notebook without a locked import cell, one an import binds to the module of that name
    (``import torch``, ``from labutils import grading``, ``import numpy as np``).
    """
    for name in sorted(_needed_by_tests(nbm)):
        bindings = nbm.bindings.get(name, [])
        student = [b for b in bindings if b.cell.role != "locked"]
        if not student:
            continue
        trusted = {
            canonical(b.target) for b in bindings if b.cell.role == "locked" and b.kind == "import"
        }
        usual = [
            b.target
            for b in bindings
            if b.kind == "import" and _consistent(name, b.target) and _is_module_target(b.target)
        ]
        if trusted or usual:
            shown = sorted(trusted)[0] if trusted else usual[0]
            for b in student:
                if b.kind == "import" and (
                    canonical(b.target) in trusted if trusted else _consistent(name, b.target)
                ):
                    continue
                what = (
                    f"imports {b.target} as {name}"
                    if b.kind == "import"
                    else f"{'deletes' if b.kind == 'del' else 'rebinds'} {name}"
                )
                report(
                    b.cell,
                    b.line,
                    "rebind",
                    f"{what}, but the tests use {name} as the module {shown}: they would run "
                    "with the replacement",
                )
        elif hasattr(builtins, name) and not any(b.cell.role == "locked" for b in bindings):
            for b in student:
                if not (b.kind == "import" and b.target == f"builtins.{name}"):
                    report(
                        b.cell,
                        b.line,
                        "rebind",
                        f"rebinds the built-in {name}, which the tests use: they would run with "
                        "the replacement",
                    )


def _consistent(name: str, target: str) -> bool:
    return target.split(".")[-1] == name or _CONVENTIONAL.get(name) == target


def _forbidden(paths: Iterable[str], prefixes: tuple[str, ...]) -> str | None:
    hits = sorted(p for p in paths if any(_under(p, f) for f in prefixes))
    return min(hits, key=len) if hits else None


def _check_delegation(nbm, refs, table, answers, report) -> None:
    """Solution cells must not use the labutils references of what they implement."""
    prefixes_of = {}
    for cell in nbm.cells:
        if cell.role == "solution" and cell.grade_id:
            prefixes = table.get(cell.grade_id, table.get("*", ()))
            if prefixes:
                prefixes_of[cell.grade_id] = tuple(prefixes)
    if not prefixes_of:
        return
    # what each student name refers to, through the statements that bind it (a fixed point)
    stmt_names: dict[tuple, set[str]] = defaultdict(set)  # names each statement binds
    tainted_by: dict[tuple, set[str]] = defaultdict(set)  # ... other than by import
    for name, bs in nbm.bindings.items():
        for b in bs:
            if b.cell.role != "locked":
                stmt_names[(b.cell.index, b.piece, b.stmt)].add(name)
                if b.kind not in ("import", "star"):
                    tainted_by[(b.cell.index, b.piece, b.stmt)].add(name)
    taint: dict[str, set[str]] = defaultdict(set)
    for _ in range(20):
        changed = False
        for key, names in tainted_by.items():
            got = set()
            for r in refs.get(key, ()):
                got |= {p for p in r.paths if p.startswith("labutils")}
                if r.global_name and r.global_name not in names:
                    got |= taint.get(r.global_name, set())
            for n in names:
                if not got <= taint[n]:
                    taint[n] |= got
                    changed = True
        if not changed:
            break
    locked_only = {
        n
        for n, bs in nbm.bindings.items()
        if bs and all(b.cell.role == "locked" for b in bs) and all(b.kind != "import" for b in bs)
    }
    answer_names: dict[str, set[str]] = {}
    for cell in nbm.cells:
        if cell.grade_id in prefixes_of:
            names = {b.name for bs in nbm.bindings.values() for b in bs if b.cell is cell}
            tree = _parse(answers[cell.grade_id]) if cell.grade_id in answers else None
            if tree is not None:
                names |= {b.name for b in _BindingCollector(cell, 0).run(tree)}
            answer_names[cell.grade_id] = names - {"*"}

    def check_refs(cell, key, prefixes, own: set[str], subject: str) -> None:
        for r in refs.get(key, ()):
            hit = _forbidden(r.paths, prefixes)
            if hit:
                shown = next(
                    (p for p in sorted(r.paths, key=len) if _under(p, hit) or p == hit), hit
                )
                report(
                    cell,
                    r.line,
                    "delegation",
                    f"{subject} uses {shown} (`{r.text}`), the course's own reference for what "
                    "this cell asks you to write: write it yourself (the tests compare with it)",
                )
            elif r.global_name and r.global_name not in own:
                hit = _forbidden(taint.get(r.global_name, ()), prefixes)
                if hit:
                    report(
                        cell,
                        r.line,
                        "delegation",
                        f"{subject} uses {r.global_name}, defined in another cell, which uses "
                        f"{hit}, the course's own reference for what this cell asks you to write",
                    )
                elif r.global_name in locked_only:
                    report(
                        cell,
                        r.line,
                        "test-internals",
                        f"{subject} uses {r.global_name}, a variable of the test cells: your "
                        "answer must not depend on the tests' own variables",
                    )

    for cell in nbm.cells:
        if cell.role == "locked":
            continue
        for (ci, p, s), _ in list(refs.items()):
            if ci != cell.index:
                continue
            names = stmt_names.get((ci, p, s), set())
            if cell.grade_id in prefixes_of:
                own = answer_names[cell.grade_id]  # what this cell itself defines
                check_refs(cell, (ci, p, s), prefixes_of[cell.grade_id], own, "this cell")
            for gid, prefixes in prefixes_of.items():
                if gid == cell.grade_id:
                    continue
                defined = names & answer_names.get(gid, set())
                if defined:
                    subject = f"defining {', '.join(sorted(defined))} (the answer to {gid}) here"
                    check_refs(cell, (ci, p, s), prefixes, names, subject)


_FILE_SUFFIXES = (".py", ".pyc", ".pyo", ".so", ".pyd", ".pth")


def check_files(folder: str | Path, allowed: Collection[str] = ()) -> list[Finding]:
    """Python code submitted next to a notebook (``folder``): the kernel imports it before the
    installed packages (a ``torch.py`` there replaces torch). ``allowed``: paths relative to
    ``folder`` that the assignment itself ships."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        rel = path.name
        if rel in allowed or rel.startswith(".") or rel == "__pycache__":
            continue  # hidden names and __pycache__ cannot be imported by name
        code = path.suffix in _FILE_SUFFIXES or (
            path.is_dir() and any(p.suffix in _FILE_SUFFIXES for p in path.rglob("*"))
        )
        if code:
            out.append(
                Finding(
                    "files",
                    0,
                    f"the submission includes {rel} next to the notebook: Python code submitted with "
                    "a notebook is imported by the grading kernel (it can replace the modules the "
                    "tests use) and the autograder cannot check it",
                    "files",
                    rel,
                )
            )
    return out


def withheld_markdown(findings: Iterable[Finding]) -> str:
    """The feedback cell's text for a flagged notebook."""
    items = "\n".join(f"- {f.describe()}" for f in findings)
    return (
        "## Autograded score withheld for review\n\n"
        "The autograder found code in this notebook that can change how the tests run or what "
        "they compare with, so the autograded tests count **0** until an instructor has reviewed "
        "the notebook and graded it by hand. This is not an accusation: if the code below is "
        "innocent, the review restores your marks. What was found:\n\n"
        f"{items}\n"
    )


# --------------------------------------------------------------------- nbgrader preprocessors

try:
    from nbgrader.preprocessors import NbGraderPreprocessor as _Base
except ImportError:  # the checker above works without nbgrader; the preprocessors need it
    _Base = None


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _findings_from_metadata(nb) -> list[Finding] | None:
    data = nb.get("metadata", {}).get(METADATA_KEY)
    if not isinstance(data, Mapping) or not isinstance(data.get("findings"), list):
        return None
    fields = {f.name for f in dataclasses.fields(Finding)}
    return [Finding(**{k: v for k, v in f.items() if k in fields}) for f in data["findings"]]


if _Base is not None:
    from traitlets import Bool

    class DetectTampering(_Base):
        """Sanitize step (after the locked cells are restored): find tampering before anything runs.

        Stores the findings under ``nb.metadata[METADATA_KEY]`` (always overwritten) and logs each
        with the student id. The locked cells and the answers come from the gradebook.
        """

        check_submitted_files = Bool(
            True, help="Also flag Python files submitted next to the notebook."
        ).tag(config=True)

        def preprocess(self, nb, resources):
            info = resources["nbgrader"]
            student, assignment = info.get("student"), info.get("assignment")
            try:
                trusted, answers, locked_code = self._from_gradebook(info)
                findings = check_notebook(
                    nb, assignment=assignment, trusted=trusted, answers=answers
                )
                findings += check_locked_cells(nb, locked_code)
                if self.check_submitted_files:
                    folder = resources.get("metadata", {}).get("path")
                    if folder:
                        findings += check_files(folder, self._shipped_files(assignment))
            except Exception as exc:  # fail closed: a notebook that breaks the check is reviewed
                self.log.error("Tampering check failed for student %s: %r", student, exc)
                findings = [
                    Finding(
                        "notebook",
                        0,
                        "the autograder could not check this notebook "
                        f"for tampering (internal error: {exc!r})",
                        "error",
                    )
                ]
            nb.metadata[METADATA_KEY] = {"findings": [dataclasses.asdict(f) for f in findings]}
            for f in findings:
                self.log.warning(
                    "Possible tampering, student %s, %s, %s (autograde log for manual review)",
                    student,
                    info.get("notebook"),
                    f.describe(),
                )
            return nb, resources

        def _from_gradebook(self, info):
            from nbgrader.api import Gradebook, MissingEntry

            if not info.get("db_url"):
                return None, None, ()
            try:
                with Gradebook(info["db_url"]) as gb:
                    source = gb.find_notebook(info["notebook"], info["assignment"])
                    trusted = {c.name for c in source.source_cells if c.locked}
                    locked_code = [
                        c.name for c in source.source_cells if c.locked and c.cell_type == "code"
                    ]
                    solutions = {c.name for c in source.solution_cells}
                    answers = {
                        c.name: c.source
                        for c in source.source_cells
                        if c.name in solutions and c.cell_type == "code"
                    }
                return trusted, answers, locked_code
            except MissingEntry:
                self.log.warning(
                    "Tampering check: no gradebook entry for %s; trusting cell metadata",
                    info.get("notebook"),
                )
                return None, None, ()

        def _shipped_files(self, assignment):
            """Names of the files the assignment's source folder ships (they are trusted)."""
            try:
                coursedir = self.parent.parent.coursedir
                folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
                return {p.name for p in folder.iterdir()}
            except (AttributeError, OSError):
                return set()

    class StderrAsNotes(_Base):
        """Autograde step (right after Execute): stderr of graded test cells becomes a stdout note.

        nbgrader scores a test cell 0 when it has any stderr output, so a correct answer that
        triggers a warning would lose the cell; errors (exceptions) still fail it.
        """

        def preprocess_cell(self, cell, resources, index):
            if _is_test_cell(cell):
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "stream" and out.get("name") == "stderr":
                        out["name"] = "stdout"
                        out["text"] = NOTE_PREFIX + out.get("text", "")
            return cell, resources

    class WithholdTampered(_Base):
        """Autograde step (right after SaveAutoGrades): a flagged notebook's autograded tests
        count 0 and wait for manual grading; a markdown cell at the top says why.

        Works in the gradebook, outside the kernel: nothing the student's code did can undo it.
        """

        def preprocess(self, nb, resources):
            findings = _findings_from_metadata(nb)
            if findings is None:  # DetectTampering did not run: check here
                self.log.warning(
                    "WithholdTampered: no %s metadata (is DetectTampering in "
                    "sanitize_preprocessors?); checking now",
                    METADATA_KEY,
                )
                findings = check_notebook(nb, assignment=resources["nbgrader"].get("assignment"))
            if not findings:
                return nb, resources
            self.withhold_scores(nb, resources)
            mark_withheld(nb, findings)
            return nb, resources

        def withhold_scores(self, nb, resources):
            info = resources["nbgrader"]
            flag_test_grades(nb, info, zero=True)
            self.log.warning(
                "Autograded score of %s withheld for manual review (student %s)",
                info["notebook"],
                info["student"],
            )

    def flag_test_grades(nb, info, *, zero: bool) -> None:
        """In the gradebook, flag every autograded test of ``nb`` for manual grading (and, with
        ``zero``, set its autograded score to 0); ``info`` is ``resources["nbgrader"]``."""
        from nbgrader.api import Gradebook

        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                if _is_test_cell(cell):
                    grade = gb.find_grade(
                        cell.metadata.nbgrader["grade_id"], info["notebook"], info["assignment"], info["student"]
                    )
                    if zero:
                        grade.auto_score = 0.0
                    grade.needs_manual_grade = True
            gb.db.commit()

else:

    def __getattr__(name):
        if name in ("DetectTampering", "StderrAsNotes", "WithholdTampered", "flag_test_grades"):
            raise ImportError(f"labutils.autograde.{name} needs nbgrader (pip install nbgrader)")
        raise AttributeError(name)


def mark_withheld(nb, findings: Iterable[Finding]) -> None:
    """Put the 'score withheld' markdown cell at the top of ``nb`` (replacing an earlier one)."""
    import nbformat

    cell = nbformat.v4.new_markdown_cell(withheld_markdown(findings))
    cell.metadata[METADATA_KEY] = "withheld"
    if nb.get("nbformat", 4) == 4 and nb.get("nbformat_minor", 5) >= 5:
        cell["id"] = WITHHELD_CELL_ID
    else:
        cell.pop("id", None)
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get(METADATA_KEY) != "withheld"]
    nb.cells.insert(0, cell)
