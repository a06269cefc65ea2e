"""Packaging agrees with itself: environment.yml vs pyproject.toml, the version ranges vs the
torch here and on Colab, and every repository link vs the one URL in `_config.yml`."""

from __future__ import annotations

import importlib
import re

import nbformat
import pytest
import yaml
from conftest import ROOT, SOLUTIONS
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

# conda-forge package name -> PyPI name, where they differ
CONDA_TO_PYPI = {"pytorch": "torch"}
# As of 2026 (see TOOLING.md): what Colab already has, which the setup cell must not reinstall.
COLAB = {"torch": "2.11", "torchvision": "0.26", "ipywidgets": "7.7.1", "numpy": "2.1"}
HERE = {"torch": "2.14.1", "torchvision": "0.29.1"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements() -> dict[str, SpecifierSet]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    reqs = [Requirement(r) for r in project["dependencies"] + extras["book"] + extras["test"]]
    return {normalise(r.name): r.specifier for r in reqs}


def conda_requirements() -> tuple[dict[str, SpecifierSet], list[str]]:
    """The conda dependencies (PyPI names, with ranges) and the pip section."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep["pip"]
            continue
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", dep).groups()
        if name in ("python", "pip"):
            continue
        conda[normalise(CONDA_TO_PYPI.get(name, name))] = SpecifierSet(spec.replace(" ", ""))
    return conda, pip


def test_environment_yml_matches_pyproject():
    conda, pip = conda_requirements()
    pip_names = {
        normalise(Requirement(p).name): Requirement(p).specifier
        for p in pip
        if not p.startswith("-")
    }
    both = {**conda, **pip_names}
    wanted = pyproject_requirements()
    assert sorted(both) == sorted(wanted), (
        "environment.yml and pyproject.toml list different packages"
    )
    for name, spec in wanted.items():
        assert both[name] == spec, (
            f"{name}: environment.yml says {both[name]}, pyproject.toml {spec}"
        )
    assert "-e ." in pip, "environment.yml installs labutils itself with `pip: [-e .]`"


def test_environment_yml_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    requires = SpecifierSet(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    )
    assert Version("3.11") in requires and Version("3.13") in requires  # here and on Colab


@pytest.mark.parametrize("where", [HERE, COLAB], ids=["here", "colab"])
def test_ranges_admit_installed_versions(where):
    reqs = pyproject_requirements()
    for name, version in where.items():
        assert Version(version) in reqs[name], f"{name} {version} is outside {reqs[name]}"


# ---------------------------------------------------------------------------- one URL


@pytest.fixture
def course_url(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    return importlib.import_module("course_url")


def test_config_has_one_github_url(course_url):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = course_url.course_url()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    assert config["parse"]["myst_substitutions"]["repo_url"] == config["repository"]["url"]
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"



def test_links_are_built_from_the_config(course_url, tmp_path):
    """The Colab link and the install line for a known repository and branch, spelled out."""
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someuni/gans\n  branch: spring\n")
    assert course_url.colab_url("notebooks/lab1_dcgan/lab1_dcgan.ipynb", config) == (
        "https://colab.research.google.com/github/someuni/gans/blob/spring/notebooks/lab1_dcgan/lab1_dcgan.ipynb"
    )
    assert course_url.requirement(config) == "labutils @ git+https://github.com/someuni/gans@spring"


def test_everything_agrees_with_config(course_url):
    """README badges, solution notebooks' badges and setup cells: `course_url.py --check`."""
    assert course_url.sync() == []
    readme = (ROOT / "README.md").read_text()
    assert course_url.colab_url(course_url.student_notebook("lab1_dcgan")) in readme


def test_setup_cells_install_only_labutils():
    for path in SOLUTIONS:
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        setup = code[0]
        assert "google.colab" in setup, f"{path.name}: the setup cell must detect Colab"
        installs = re.findall(r"pip.*install.*", setup)
        assert installs and all(
            "torch" not in line and "ipywidgets" not in line for line in installs
        )


def test_write_fixes_a_fork(course_url, tmp_path):
    """A fork changes `repository.url`; `--write` moves every link and the install line to it."""
    config = (ROOT / "_config.yml").read_text()
    old = course_url.course_url()
    (tmp_path / "_config.yml").write_text(config.replace(old, "https://github.com/someuni/gans"))
    readme = f"[![Open In Colab]({course_url.BADGE_IMAGE})]({course_url.colab_url('notebooks/lab1_dcgan/lab1_dcgan.ipynb')})\n"
    (tmp_path / "README.md").write_text(readme)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Lab\n\n{readme}", id="title"),
        nbformat.v4.new_code_cell(
            'import sys\nif "google.colab" in sys.modules:\n'
            f'    %pip install -q "{course_url.requirement()}"',
            id="setup",
        ),
    ]
    (tmp_path / "solutions" / "lab1_dcgan").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "solutions" / "lab1_dcgan" / "lab1_dcgan.ipynb")

    problems = course_url.sync(tmp_path)
    assert [p.split(":")[0] for p in problems] == [
        "README.md",
        "solutions/lab1_dcgan/lab1_dcgan.ipynb",
    ]
    assert course_url.sync(tmp_path, write=True) == []
    assert course_url.sync(tmp_path) == []
    fixed = (tmp_path / "solutions" / "lab1_dcgan" / "lab1_dcgan.ipynb").read_text()
    assert "github/someuni/gans/blob/main/notebooks/lab1_dcgan/lab1_dcgan.ipynb" in fixed
    assert "labutils @ git+https://github.com/someuni/gans@main" in fixed
    assert old not in fixed and old not in (tmp_path / "README.md").read_text()
