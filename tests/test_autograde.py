"""labutils.autograde: the static tampering check and the nbgrader preprocessors, without nbgrader
runs (tests/test_nbgrader.py grades tests/tampering/ for real).

Attacks go into an ordinary cell after the imports of the Lab 1 solution notebook (so the checks
see the real locked cells: what they import and which built-ins they use), or replace a
solution cell.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from answer_files import read_answer_blocks

from labutils import autograde
from labutils.autograde import Finding, check_files, check_notebook, check_source

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = nbformat.read(ROOT / "solutions" / "lab1_dcgan" / "lab1_dcgan.ipynb", as_version=4)
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_solution(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def solution_sources() -> dict[str, str]:
    """grade_id -> source (markers stripped) of every code solution cell of Lab 1."""
    return {
        grade_id(c): "\n".join(line for line in c.source.split("\n") if not MARKER.match(line))
        for c in SOLUTION.cells
        if is_solution(c) and c.cell_type == "code"
    }


def lab1(**cells: str):
    """The Lab 1 solution notebook, solutions answered; a keyword naming a solution cell replaces
    it, any other keyword adds an ordinary code cell of that id right after the imports."""
    nb = copy.deepcopy(SOLUTION)
    answers = solution_sources()
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
        if grade_id(cell) in cells:
            cell.source = cells.pop(grade_id(cell))
    after = 1 + next(i for i, c in enumerate(nb.cells) if grade_id(c) == "imports")
    for key, source in cells.items():
        nb.cells.insert(after, nbformat.v4.new_code_cell(source, id=key))
        after += 1
    return nb


def findings(nb) -> list[Finding]:
    return check_notebook(nb, assignment="lab1_dcgan")


def summary(found: list[Finding]) -> str:
    return "\n".join(f"[{f.kind}] {f.cell}:{f.line} {f.reason}" for f in found) or "(nothing)"


# ------------------------------------------------------------------------------ the baseline


def test_lab1_solution_notebook_is_clean():
    assert findings(copy.deepcopy(SOLUTION)) == []
    assert findings(lab1()) == []


def test_lab1_release_notebook_is_clean():
    release = nbformat.read(ROOT / "notebooks" / "lab1_dcgan" / "lab1_dcgan.ipynb", as_version=4)
    assert findings(release) == []


@pytest.mark.parametrize("cell", sorted(solution_sources()))
def test_each_solution_cell_is_clean_anywhere(cell):
    """A Lab 1 solution cell is clean in its own cell and pasted into an ordinary cell."""
    source = solution_sources()[cell]
    assert findings(lab1(**{cell: source})) == []
    assert findings(lab1(scratch=source)) == []


CORRECT = sorted((ROOT / "tests" / "correct_answers" / "lab1_dcgan").glob("*.py"))


@pytest.mark.parametrize("path", CORRECT, ids=[p.stem for p in CORRECT])
def test_alternative_correct_answers_are_clean(path):
    nb = lab1(**dict(read_answer_blocks(path)))
    assert findings(nb) == [], summary(findings(nb))


# ------------------------------------------------------------------------------ attacks
# (id, source of an ordinary cell after the imports, kind, text the reason must contain)

# fmt: off
ATTACKS = [
    ('ast_transformer', 'get_ipython().ast_transformers.append(object())', 'ipython', 'ast_transformers'),
    ('custom_exc', 'get_ipython().set_custom_exc((Exception,), lambda *a, **k: [])', 'ipython', 'set_custom_exc'),
    ('events', "get_ipython().events.register('pre_run_cell', print)", 'ipython', 'events.register'),
    ('shell_in_a_variable', "ip = get_ipython()\nip.user_ns['grading'] = None", 'ipython', 'get_ipython'),
    ('shell_imported', 'from IPython import get_ipython as g\ng().ast_transformers.clear()', 'ipython', 'get_ipython'),
    ('kernel_internals', 'import ipykernel', 'ipython', 'ipykernel'),
    ('magic_run', '%run helpers.py', 'ipython', '%run'),
    ('magic_load_ext', '%load_ext my_extension', 'ipython', '%load_ext my_extension'),
    ('excepthook', 'sys.excepthook = print', 'hook', 'excepthook'),
    ('displayhook', 'sys.displayhook = print', 'hook', 'displayhook'),
    ('settrace', 'sys.settrace(lambda *a: None)', 'hook', 'sys.settrace'),
    ('threading_settrace', 'import threading\nthreading.settrace(print)', 'hook', 'settrace'),
    ('global_module_hook', 'torch.nn.modules.module.register_module_forward_hook(print)', 'hook', 'register_module_forward_hook'),
    ('torch_library', "lib = torch.library.Library('aten', 'IMPL')", 'hook', 'torch.library'),
    ('assert_close', 'grading.assert_close = lambda *a, **k: None', 'patch', 'labutils.grading.assert_close'),
    ('allclose', 'torch.allclose = lambda *a, **k: True', 'patch', 'torch.allclose'),
    ('setattr_allclose', 'setattr(torch, "allclose", lambda *a, **k: True)', 'patch', 'torch.allclose'),
    ('setattr_computed', 'setattr(grading, "assert" + "_close", print)', 'patch', 'grading'),
    ('delattr', 'delattr(torch, "allclose")', 'patch', 'torch.allclose'),
    ('del_attribute', 'del grading.assert_close', 'patch', 'labutils.grading.assert_close'),
    ('augmented', 'grading.TOLERANCE += 1', 'patch', 'labutils.grading.TOLERANCE'),
    ('functional', 'torch.nn.functional.mse_loss = print', 'patch', 'torch.nn.functional.mse_loss'),
    ('functional_alias', 'F.mse_loss = print', 'patch', 'torch.nn.functional.mse_loss'),
    ('reference_forward', 'models.DCGenerator.forward = lambda self, z: z', 'patch', 'DCGenerator.forward'),
    ('module_call', 'nn.Module.__call__ = lambda self, *a: None', 'patch', '__call__'),
    ('module_forward', 'nn.Module.forward = print', 'patch', 'torch.nn.Module.forward'),
    ('builtins_print', 'import builtins\nbuiltins.print = lambda *a, **k: None', 'patch', 'builtins.print'),
    ('builtins_dict', 'import builtins\nbuiltins.__dict__["abs"] = lambda x: 0.0', 'patch', 'builtins.__dict__'),
    ('vars_of_module', 'vars(grading)["assert_close"] = print', 'patch', 'vars(grading)'),
    ('module_dict', 'grading.__dict__["assert_close"] = print', 'patch', 'grading.__dict__'),
    ('object_setattr', 'object.__setattr__(grading, "assert_close", print)', 'patch', '__setattr__'),
    ('alias_then_patch', 'g = grading\ng.assert_close = print', 'patch', 'labutils.grading.assert_close'),
    ('class_through_type', 'def f(m):\n    type(m).forward = print', 'patch', 'type(m).forward'),
    ('class_through_dunder', 'def f(m):\n    m.__class__.forward = print', 'patch', 'm.__class__.forward'),
    ('code_swap', 'def f(*a, **k):\n    pass\ngrading.assert_close.__code__ = f.__code__', 'patch', '__code__'),
    ('defaults_swap', "grading.assert_close.__kwdefaults__ = {'atol': 1.0}", 'patch', '__kwdefaults__'),
    ('labutils_table', 'losses.LOSSES["bce"] = print', 'patch', 'labutils.losses.LOSSES'),
    ('parameter_table', "def f(m):\n    m._parameters['weight'] = 0", 'patch', '_parameters'),
    ('rebind_module', 'class FakeGrading:\n    pass\ngrading = FakeGrading()', 'rebind', 'grading'),
    ('import_as_module_name', 'import numpy as torch', 'rebind', 'numpy as torch'),
    ('rebind_through_global', 'def f():\n    global models\n    models = None', 'rebind', 'models'),
    ('rebind_by_def', 'def math():\n    pass', 'rebind', 'math'),
    ('delete_module_name', 'del nn', 'rebind', 'nn'),
    ('rebind_builtin', 'range = lambda *a: []', 'rebind', 'range'),
    ('sys_modules_write', 'sys.modules["labutils.grading"] = object()', 'modules', 'sys.modules'),
    ('sys_modules_read', 'm = sys.modules["labutils.grading"]', 'modules', 'sys.modules'),
    ('module_file', "open(grading.__file__, 'a').write('assert_close = print')", 'modules', '__file__'),
    ('fake_module', "import types\nm = types.ModuleType('torch')", 'modules', 'ModuleType'),
    ('globals_write', 'globals()["grading"] = None', 'namespace', 'globals'),
    ('globals_in_variable', 'g = globals()', 'namespace', 'globals'),
    ('main_module', 'import __main__\n__main__.grading = None', 'namespace', '__main__'),
    ('star_import', 'from numpy import *', 'namespace', 'numpy'),
    ('gc_objects', 'import gc\nobjs = gc.get_objects()', 'object-hunt', 'gc.get_objects'),
    ('gc_referrers', 'import gc\ngc.get_referrers(grading)', 'object-hunt', 'gc.get_referrers'),
    ('subclasses', 'object.__subclasses__()', 'object-hunt', '__subclasses__'),
    ('currentframe', 'import inspect\nframe = inspect.currentframe()', 'frames', 'inspect.currentframe'),
    ('getframe', 'frame = sys._getframe(1)', 'frames', 'sys._getframe'),
    ('f_globals', 'def f(frame):\n    return frame.f_globals', 'frames', 'f_globals'),
    ('f_locals', 'def f(frame):\n    return frame.f_locals', 'frames', 'f_locals'),
    ('f_back', 'def f(frame):\n    return frame.f_back', 'frames', 'f_back'),
    ('tb_frame', 'try:\n    1 / 0\nexcept Exception as e:\n    fr = e.__traceback__.tb_frame', 'frames', 'tb_frame'),
    ('function_globals', 'def f():\n    pass\ng = f.__globals__', 'frames', '__globals__'),
    ('dunder_builtins', 'b = __builtins__', 'frames', '__builtins__'),
    ('exec', 'exec("x = 1")', 'dynamic', 'exec'),
    ('eval', 'y = eval("1 + 1")', 'dynamic', 'eval'),
    ('compile', 'c = compile("1", "<x>", "eval")', 'dynamic', 'compile'),
    ('dunder_import', 'os_ = __import__("os")', 'dynamic', '__import__'),
    ('importlib_reload', 'import importlib\nimportlib.reload(grading)', 'dynamic', 'importlib.reload'),
    ('importlib_import', 'import importlib\nm = importlib.import_module("labutils.grading")', 'dynamic', 'importlib.import_module'),
    ('getattr_computed', 'name = "all" + "close"\nf = getattr(torch, name)', 'dynamic', 'getattr(torch, name)'),
    ('setattr_unpacked', 'setattr(*[torch, "allclose", print])', 'dynamic', 'unpacked'),
    ('super_setattr', 'super(type(grading), grading).__setattr__("x", 1)', 'patch', '__setattr__'),
    ('setattr_as_value', 'list(map(setattr, [grading], ["assert_close"], [print]))', 'dynamic', 'setattr'),
    ('code_object', "import types\nf = types.FunctionType(compile('1', 'x', 'eval'), {})", 'dynamic', 'FunctionType'),
    ('unpickle', "import pickle\npickle.loads(b'')", 'dynamic', 'pickle.loads'),
    ('unpickle_numpy', "import numpy as np\nnp.load('x.npy', allow_pickle=True)", 'dynamic', 'allow_pickle'),
    ('ctypes', 'import ctypes', 'dynamic', 'ctypes'),
    ('local_module', 'import my_helpers_xyz', 'dynamic', 'my_helpers_xyz'),
    ('thread', 'import threading\nthreading.Thread(target=print).start()', 'background', 'threading'),
    ('clear_output', 'from IPython.display import clear_output', 'output', 'clear_output'),
    ('eq', 'class Always:\n    def __eq__(self, other):\n        return True', 'lying-object', '__eq__'),
    ('bool', 'class Yes:\n    __bool__ = lambda self: True', 'lying-object', '__bool__'),
    ('torch_function', 'class T:\n    @classmethod\n    def __torch_function__(cls, *a, **k):\n        return True', 'lying-object', '__torch_function__'),
    ('tensor_subclass', 'class T(torch.Tensor):\n    pass', 'lying-object', 'torch.Tensor'),
    ('mock', 'from unittest.mock import ANY', 'lying-object', 'unittest.mock'),
    ('cell_magic_body', '%%time\ntorch.allclose = print', 'patch', 'torch.allclose'),
    ('line_magic_body', '%time grading.assert_close = print', 'patch', 'labutils.grading.assert_close'),
    ('capture_body', '%%capture out\nget_ipython().ast_transformers.clear()', 'ipython', 'ast_transformers'),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "kind", "named"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_attack_is_flagged(source, kind, named):
    found = findings(lab1(scratch=source))
    assert any(f.kind == kind and named in f.reason and f.cell == "scratch" for f in found), (
        f"expected a {kind!r} finding naming {named!r} for:\n{source}\ngot:\n{summary(found)}"
    )


def test_attack_every_kind_is_covered():
    kinds = {a[2] for a in ATTACKS}
    assert kinds >= {
        "ipython",
        "hook",
        "patch",
        "rebind",
        "modules",
        "namespace",
        "object-hunt",
        "frames",
        "dynamic",
        "background",
        "output",
        "lying-object",
    }


def test_finding_points_at_the_line():
    src = "x = 1\ny = 2\ngrading.assert_close = print\n"
    [f] = findings(lab1(scratch=src))
    assert (f.cell, f.line, f.code) == ("scratch", 3, "grading.assert_close = print")
    assert "labutils.grading.assert_close" in f.describe()
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.line = 1


def test_magic_body_lines_map_to_the_cell():
    [f] = findings(lab1(scratch="%%time\nx = 1\ntorch.allclose = print\n"))
    assert f.line == 3


# ------------------------------------------------------------------------------ delegation
# (solution cell, its replacement, the labutils name the reason must give)

# fmt: off
DELEGATION = [
    ('step_solution', 'train_step = train.gan_step', 'labutils.train.gan_step'),
    ('step_solution', 'from labutils import train as t\ntrain_step = t.gan_step', 'labutils.train.gan_step'),
    ('step_solution', 'x = train\n\ndef train_step(*a):\n    return x.d_step(*a)', 'labutils.train.d_step'),
    ('step_solution', 'from labutils.train import *\ntrain_step = gan_step', 'labutils.train'),
    ('step_solution', "train_step = getattr(train, 'gan_step')", 'labutils.train.gan_step'),
    ('step_solution', 'import labutils.train\ntrain_step = labutils.train.updates.gan_step', 'labutils.train'),
    ('step_solution', 'def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):\n    fake = gen(z)\n    d = train.d_step(disc, opt_d, real, fake, d_loss_fn)\n    return d, train.g_step(disc, opt_g, fake, g_loss_fn)', 'labutils.train.d_step'),
    ('discriminator_solution', 'class Discriminator(models.DCDiscriminator):\n    pass', 'labutils.models.DCDiscriminator'),
    ('discriminator_solution', 'def Discriminator(ndf=32):\n    return models.DCDiscriminator(ndf=ndf)', 'labutils.models.DCDiscriminator'),
    ('generator_solution', 'Generator = models.DCGenerator', 'labutils.models.DCGenerator'),
    ('init_solution', 'dcgan_init = models.dcgan_init', 'labutils.models.dcgan_init'),
    ('init_solution', 'from labutils.models import dcgan_init', 'labutils.models.dcgan_init'),
    ('losses_solution', 'from labutils.losses import bce_d_loss, bce_g_loss', 'labutils.losses.bce_d_loss'),
    ('losses_solution', 'ls_d_loss = losses.lsgan_d_loss', 'labutils.losses.lsgan_d_loss'),
    ('losses_solution', "ls_g_loss = losses.get('lsgan')", 'labutils.losses.get'),
    ('losses_solution', 'bce_d_loss = train.updates.losses.bce_d_loss', 'labutils.losses.bce_d_loss'),
]
# fmt: on


@pytest.mark.parametrize(("cell", "source", "named"), DELEGATION)
def test_delegation_is_flagged(cell, source, named):
    found = findings(lab1(**{cell: source}))
    assert any(f.kind == "delegation" and f.cell == cell and named in f.reason for f in found), (
        summary(found)
    )


def test_delegation_through_a_helper_in_another_cell():
    nb = lab1(
        scratch="def helper(*a):\n    return train.gan_step(*a)",
        step_solution="def train_step(*a):\n    return helper(*a)",
    )
    found = findings(nb)
    assert any(
        f.kind == "delegation"
        and f.cell == "step_solution"
        and "helper" in f.reason
        and "labutils.train.gan_step" in f.reason
        for f in found
    ), summary(found)


def test_delegation_through_a_container_in_another_cell():
    nb = lab1(
        scratch="refs = {'s': train}",
        step_solution="def train_step(*a):\n    return refs['s'].gan_step(*a)",
    )
    assert any(f.kind == "delegation" and "refs" in f.reason for f in findings(nb))


def test_answer_defined_from_the_reference_in_another_cell():
    """The solution cell keeps its stub; an ordinary cell after it redefines the answer."""
    nb = copy.deepcopy(SOLUTION)
    step = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "step_solution")
    nb.cells.insert(step + 1, nbformat.v4.new_code_cell("train_step = train.gan_step", id="later"))
    found = findings(nb)
    assert any(
        f.kind == "delegation" and f.cell == "later" and "train_step" in f.reason for f in found
    ), summary(found)


def test_answer_names_come_from_the_instructor_source():
    """A student who deletes the solution cell's def is still caught through ``answers``."""
    nb = lab1(step_solution="pass", later="train_step = train.gan_step")
    assert not any(f.kind == "delegation" for f in findings(nb))
    answers = {
        "step_solution": "def train_step(gen, disc, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn):\n    pass"
    }
    found = check_notebook(nb, assignment="lab1_dcgan", answers=answers)
    assert any(f.kind == "delegation" and f.cell == "later" for f in found), summary(found)


def test_using_the_tests_own_variables_is_flagged():
    nb = lab1(step_solution="def train_step(*a):\n    return _rec")
    assert any(f.kind == "test-internals" and "_rec" in f.reason for f in findings(nb))


def test_delegation_only_where_the_table_forbids_it():
    nb = lab1(
        # the reference loss as a default argument: labutils.train.gan_step's own signature
        step_solution=solution_sources()["step_solution"].replace(
            "d_loss_fn, g_loss_fn)", "d_loss_fn=losses.bce_d_loss, g_loss_fn=losses.bce_g_loss)"
        ),
        discriminator_solution=solution_sources()["discriminator_solution"]
        + "\n\nN = grading.count_params(Discriminator())",
    )
    assert findings(nb) == []
    # without an assignment (or one the table does not list) there is no delegation check
    assert check_notebook(lab1(step_solution="train_step = train.gan_step")) == []
    assert (
        check_notebook(lab1(step_solution="train_step = train.gan_step"), assignment="lab9") == []
    )


def test_references_table_matches_the_notebooks():
    """Every code solution cell has an entry and every forbidden name exists in labutils."""
    for assignment, table in autograde.REFERENCES.items():
        nb = nbformat.read(next((ROOT / "solutions" / assignment).glob("*.ipynb")), as_version=4)
        cells = {grade_id(c) for c in nb.cells if is_solution(c) and c.cell_type == "code"}
        assert set(table) - {"*"} == cells, assignment
        for name in {n for names in table.values() for n in names}:
            module, _, attr = name.rpartition(".")
            assert autograde._module_file(name) or attr in autograde._public_names(
                autograde.canonical(module)
            ), name


def test_canonical_follows_reexports():
    assert autograde.canonical("labutils.train.gan_step") == "labutils.train.updates.gan_step"
    assert (
        autograde.canonical("labutils.train.updates.losses.bce_d_loss")
        == "labutils.losses.bce_d_loss"
    )
    assert autograde.canonical("torch.nn") == "torch.nn"


# ------------------------------------------------------------------------------ ordinary code

ORDINARY = [
    "torch.manual_seed(0)",
    "import random\nrandom.seed(0)",
    "import numpy as np\nnp.random.seed(0)",
    "torch.backends.cudnn.benchmark = True\ntorch.backends.cudnn.deterministic = True",
    "torch.backends.cuda.matmul.allow_tf32 = False",
    "from torch.backends import cudnn\ncudnn.benchmark = False",
    "torch.set_num_threads(1)",
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        for i in range(3):\n            setattr(self, f'conv{i}', nn.Conv2d(3, 3, 1))\n"
    "        self.names = list(self.__dict__)\n\n    def forward(self, x):\n"
    "        return getattr(self, 'conv0')(x)",
    "def pick(self, name):\n    return getattr(self, name)",
    "layer = getattr(nn, 'LeakyReLU')(0.2)",
    "%matplotlib inline\nimport math\nimport numpy as np",
    "%config InlineBackend.figure_format = 'retina'",
    "!pip install -q tqdm",
    "x = 3\nx?",
    "%%time\ny = sum(i * i for i in range(10))",
    "%timeit -n 1 -r 1 torch.zeros(3)",
    "%load_ext autoreload\n%autoreload 2",
    'print("careful", file=sys.stderr)',
    "import warnings\nwarnings.filterwarnings('ignore', category=UserWarning)",
    "def init(m):\n    if isinstance(m, nn.Conv2d):\n        nn.init.normal_(m.weight, 0.0, 0.02)",
    "def loss(l):\n    return F.binary_cross_entropy_with_logits(l, torch.ones_like(l)) + torch.nn.functional.softplus(l).mean()",
    "class Block(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n        self.c = nn.Conv2d(c, c, 3, padding=1)\n\n"
    "    def forward(self, x):\n        return x + self.c(x)\n\n    def __repr__(self):\n        return type(self).__name__",
    "squares = [i * i for i in range(4)]\ntable = {k: v for k, v in zip('ab', (1, 2))}\nf = lambda t: t * 2",
    "@torch.no_grad()\ndef sample(gen, z):\n    return gen(z)",
    "import dataclasses\n\n@dataclasses.dataclass(frozen=True)\nclass Settings:\n    lr: float = 2e-4",
    'if "google.colab" in sys.modules:\n    print("colab")',
    "import os\nos.environ['LABUTILS_PROFILE'] = 'smoke'",
    "plt.rcParams['figure.dpi'] = 100",
    "with torch.no_grad():\n    out = torch.randn(2).tanh()",
    "def load(data):\n    data.count = 3\n    return data",  # a parameter named like a module
    "from IPython.display import Markdown, display\ndisplay(Markdown('**ok**'))",
    "hist = train.train_gan\nfig = plot.show_grid(torch.zeros(4, 3, 8, 8))",
    "import copy\nbest = copy.deepcopy({'a': 1})",
    "def f(x):\n    def g(y):\n        return y + x\n    return g",
    "try:\n    import tqdm\nexcept ImportError:\n    tqdm = None",
]


@pytest.mark.parametrize("source", ORDINARY)
def test_ordinary_code_is_not_flagged(source):
    found = findings(lab1(scratch=source))
    assert found == [], summary(found)


def test_syntax_errors_are_not_flagged():
    nb = lab1(
        scratch="def f(:\n    torch.allclose = print",
        padding_solution="def conv_out_size(W, K, S, P) ->:\n    pass",
    )
    assert findings(nb) == []
    assert check_source("%%time\ndef (\n") == []


def test_locked_cells_are_trusted_only_when_the_gradebook_says_so():
    nb = lab1()
    forged = nbformat.v4.new_code_cell("torch.allclose = print", id="forged")
    forged.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "forged",
        "locked": True,
        "points": 1,
        "solution": False,
        "schema_version": 3,
    }
    nb.cells.insert(5, forged)
    assert findings(nb) == []  # trusted by its metadata
    locked = {grade_id(c) for c in SOLUTION.cells if c.metadata.get("nbgrader", {}).get("locked")}
    found = check_notebook(nb, assignment="lab1_dcgan", trusted=locked)
    assert [f.cell for f in found] == ["forged"]


def test_deleted_locked_cells_are_flagged():
    locked = [grade_id(c) for c in SOLUTION.cells if c.metadata.get("nbgrader", {}).get("locked")]
    assert autograde.check_locked_cells(lab1(), locked) == []
    nb = lab1()
    nb.cells = [c for c in nb.cells if grade_id(c) != "imports"]
    [f] = autograde.check_locked_cells(nb, locked)
    assert (f.cell, f.kind) == ("imports", "missing-locked")


def test_check_source_is_a_single_ordinary_cell():
    [f] = check_source("import gc\ngc.get_objects()")
    assert (f.cell, f.kind) == ("cell 0", "object-hunt")


# ------------------------------------------------------------------------------ files


def test_submitted_python_files_are_flagged(tmp_path):
    (tmp_path / "lab1_dcgan.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "torch.py").write_text("allclose = lambda *a, **k: True")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("1")
    (tmp_path / "shipped.py").write_text("")
    found = check_files(tmp_path, allowed={"shipped.py"})
    assert sorted(f.code for f in found) == ["pkg", "torch.py"]
    assert all(f.kind == "files" and "grading kernel" in f.reason for f in found)
    assert check_files(tmp_path / "missing") == []


# ------------------------------------------------------------------------------ preprocessors

ATTACK_SOURCE = "get_ipython().ast_transformers.append(object())"


def small_notebook(attack: bool = True):
    """Three cells: a solution cell, a graded test cell, an ordinary cell."""
    solution = nbformat.v4.new_code_cell(ATTACK_SOURCE if attack else "x = 1", id="sol")
    solution.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": "x_solution",
        "locked": False,
        "solution": True,
        "schema_version": 3,
    }
    test = nbformat.v4.new_code_cell("assert x == 1", id="test")
    test.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "x_tests",
        "locked": True,
        "points": 2,
        "solution": False,
        "schema_version": 3,
    }
    other = nbformat.v4.new_code_cell("print(x)", id="other")
    nb = nbformat.v4.new_notebook(cells=[solution, test, other])
    nb.metadata[autograde.METADATA_KEY] = {"findings": []}  # the student tries to pre-set it
    return nb


def resources(**extra):
    return {"nbgrader": {"student": "mallory", "assignment": "lab0", "notebook": "lab0"}, **extra}


def stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_stderr_as_notes_only_in_graded_test_cells():
    from nbgrader.utils import determine_grade

    nb = small_notebook(attack=False)
    sol, test, other = nb.cells
    test.outputs = [stream("stdout", "ok\n"), stream("stderr", "UserWarning: deprecated\n")]
    sol.outputs = [stream("stderr", "solution warning\n")]
    other.outputs = [stream("stderr", "other warning\n")]
    assert determine_grade(test) == (0, 2)  # nbgrader's own rule: stderr fails the cell
    nb, _ = autograde.StderrAsNotes().preprocess(nb, resources())
    assert [o.name for o in test.outputs] == ["stdout", "stdout"]
    assert test.outputs[1].text == autograde.NOTE_PREFIX + "UserWarning: deprecated\n"
    assert test.outputs[1].text.startswith(
        "Note (warnings or stderr from this cell; not counted against you):"
    )
    assert determine_grade(test) == (2, 2)
    assert sol.outputs[0].name == "stderr" and other.outputs[0].name == "stderr"


def test_stderr_as_notes_keeps_errors():
    from nbgrader.utils import determine_grade

    nb = small_notebook(attack=False)
    test = nb.cells[1]
    test.outputs = [
        stream("stderr", "warning\n"),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[]),
    ]
    autograde.StderrAsNotes().preprocess(nb, resources())
    assert test.outputs[1].output_type == "error"
    assert determine_grade(test) == (0, 2)


@pytest.fixture
def logger(caplog):
    log = logging.getLogger("test_autograde")
    caplog.set_level(logging.WARNING, logger="test_autograde")
    return log


def test_detect_tampering_records_and_logs(logger, caplog, tmp_path):
    (tmp_path / "torch.py").write_text("")
    nb = small_notebook()
    nb, _ = autograde.DetectTampering(log=logger).preprocess(
        nb, resources(metadata={"path": str(tmp_path)})
    )
    recorded = nb.metadata[autograde.METADATA_KEY]["findings"]
    assert {f["kind"] for f in recorded} == {"ipython", "files"}
    assert [f["cell"] for f in recorded if f["kind"] == "ipython"] == ["x_solution"]
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 2 and all("mallory" in m and "manual review" in m for m in logged)
    assert any("ast_transformers" in m for m in logged)


def test_detect_tampering_overwrites_a_forged_record(logger):
    nb = small_notebook(attack=False)
    nb.metadata[autograde.METADATA_KEY] = {"findings": [{"cell": "x", "line": 1, "reason": "fake"}]}
    nb, _ = autograde.DetectTampering(log=logger).preprocess(nb, resources())
    assert nb.metadata[autograde.METADATA_KEY] == {"findings": []}


def test_detect_tampering_fails_closed(logger, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(autograde, "check_notebook", broken)
    nb, _ = autograde.DetectTampering(log=logger).preprocess(
        small_notebook(attack=False), resources()
    )
    [f] = nb.metadata[autograde.METADATA_KEY]["findings"]
    assert f["kind"] == "error" and "boom" in f["reason"]


def test_withhold_tampered_marks_a_flagged_notebook(logger, monkeypatch):
    calls = []
    monkeypatch.setattr(
        autograde.WithholdTampered, "withhold_scores", lambda self, nb, res: calls.append(nb)
    )
    nb, _ = autograde.DetectTampering(log=logger).preprocess(small_notebook(), resources())
    n_cells = len(nb.cells)
    nb, _ = autograde.WithholdTampered(log=logger).preprocess(nb, resources())
    assert calls == [nb]
    top = nb.cells[0]
    assert top.cell_type == "markdown" and top.id == autograde.WITHHELD_CELL_ID
    assert (
        "withheld" in top.source and "ast_transformers" in top.source and "x_solution" in top.source
    )
    assert len(nb.cells) == n_cells + 1
    autograde.mark_withheld(nb, [Finding("c", 1, "again")])  # a second run replaces the cell
    assert len(nb.cells) == n_cells + 1 and "again" in nb.cells[0].source
    nbformat.validate(nb)


def test_withhold_tampered_leaves_a_clean_notebook(logger, monkeypatch):
    monkeypatch.setattr(
        autograde.WithholdTampered,
        "withhold_scores",
        lambda *a: pytest.fail("touched the gradebook"),
    )
    nb, _ = autograde.DetectTampering(log=logger).preprocess(
        small_notebook(attack=False), resources()
    )
    before = copy.deepcopy(nb)
    nb, _ = autograde.WithholdTampered(log=logger).preprocess(nb, resources())
    assert nb == before


def test_withhold_tampered_checks_itself_without_a_record(logger, monkeypatch):
    calls = []
    monkeypatch.setattr(
        autograde.WithholdTampered, "withhold_scores", lambda self, nb, res: calls.append(1)
    )
    nb = small_notebook()
    del nb.metadata[autograde.METADATA_KEY]
    autograde.WithholdTampered(log=logger).preprocess(nb, resources())
    assert calls == [1] and nb.cells[0].cell_type == "markdown"


def test_config_wires_the_preprocessors():
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    sanitize = [p.__name__ for p in cfg.Autograde.sanitize_preprocessors]
    grade = [p.__name__ for p in cfg.Autograde.autograde_preprocessors]
    assert sanitize.index("DetectTampering") == sanitize.index("RobustOverwriteCells") + 1
    assert grade[:2] == ["SandboxedExecute", "StderrAsNotes"]
    assert issubclass(cfg.Autograde.autograde_preprocessors[0], Execute)
    assert grade.index("FlagStopped") == grade.index("SaveAutoGrades") + 1
    assert grade.index("WithholdTampered") == grade.index("FlagStopped") + 1
    # nbgrader 0.9.6's own list, in its order, is all there (Execute as its sandboxed subclass)
    assert [p for p in grade if p not in ("StderrAsNotes", "WithholdTampered", "FlagStopped")] == [
        "SandboxedExecute",
        "IgnorePattern",
        "ClearMetadataPreprocessor",
        "LimitOutput",
        "SaveAutoGrades",
        "AssignLatePenalties",
        "CheckCellMetadata",
    ]


def test_labutils_does_not_import_nbgrader_and_the_checker_works_without_it():
    code = (
        "import sys\n"
        "import labutils\n"
        "assert 'nbgrader' not in sys.modules and 'labutils.autograde' not in sys.modules\n"
        "sys.modules['nbgrader'] = None  # as if not installed\n"
        "from labutils import autograde\n"
        "assert autograde.check_source('import gc\\ngc.get_objects()')\n"
        "try:\n    autograde.DetectTampering\nexcept ImportError:\n    pass\n"
        "else:\n    raise SystemExit('DetectTampering without nbgrader')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
