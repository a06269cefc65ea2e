"""Sphinx extension of the book (a local extension, see `_config.yml`): pages that need nothing
from the network, and an execution cache that cannot serve a stale figure.

**Offline pages.** Jupyter Book 1 always loads sphinx-thebe, which adds its configuration script
twice (every page throws ``Identifier 'THEBE_JS_URL' has already been declared``) and would fetch
thebe from a CDN. The book has no live-code button, so thebe's scripts are left out of every
page; any other script added twice with the same body is kept once.

**The cache key.** Jupyter Book's execution cache (``execute_notebooks: cache``) keys a page on
its code cells only. The pages' outputs also depend on labutils (its code and bundled data), the
profile and device variables and the library versions, so every executed page gets one more,
hidden, comment-only code cell holding their digest (``fingerprint``): change any of them and
the page misses the cache and re-executes. When the digest differs from the last build's,
every page is re-read, so Sphinx does not keep an unchanged page's stale output either.

**Widget cells.** The pages execute through nbclient in this process; ``setup`` replaces
nbclient's client-side Output widget with none (``labutils.widgets.no_client_output_widget``),
whose state updates could leave a widget cell waiting out the cell timeout for its reply.

The browser test (tests/book_browser.py) checks the pages; tests/test_book.py the cache key.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FINGERPRINT_CELL = "build-fingerprint"
# Besides every LABUTILS_* variable: these change what a page's cells do or print.
FINGERPRINT_ENV = ("NBGRADER_EXECUTION", "CUDA_VISIBLE_DEVICES")
# Besides labutils' own requirements (its pyproject dependencies): the kernel's.
FINGERPRINT_PACKAGES = ("ipykernel", "ipython", "pillow")
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^---[ \t]*$", re.S | re.M)


def fingerprint(root: Path = ROOT, environ=None) -> str:
    """A digest of what an executed page depends on besides its code cells: every file of
    labutils (source and bundled data), the LABUTILS_* and a few other variables, the Python
    and library versions, and whether CUDA is there (the default device and profile follow)."""
    environ = os.environ if environ is None else environ
    digest = hashlib.sha256()
    package = root / "labutils"
    files = sorted(
        p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    names = sorted(k for k in environ if k.startswith("LABUTILS_")) + list(FINGERPRINT_ENV)
    for key in names:
        digest.update(f"{key}={environ.get(key, '')}\0".encode())
    digest.update(f"python {sys.version}\0cuda {cuda_available()}\0".encode())
    for name in sorted(set(requirements()) | set(FINGERPRINT_PACKAGES)):
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}=={version}\0".encode())
    return digest.hexdigest()


def requirements() -> list[str]:
    """The distributions labutils requires (its installed metadata; none if not installed)."""
    try:
        required = importlib.metadata.requires("labutils") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    return [re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in required if "extra ==" not in r]


def cuda_available() -> bool:
    """Whether torch sees a GPU (then the default device, and with it the profile, differ)."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def fingerprint_code(key: str) -> str:
    return (
        f"# Build fingerprint: {key}\n"
        "# (labutils, its bundled data, the profile and the library versions: the book's\n"
        "# execution cache re-executes this page when any of them changes)"
    )


def with_fingerprint(source: str, suffix: str, key: str) -> str:
    """The page ``source`` (a notebook's JSON, or MyST Markdown) with the fingerprint cell last;
    any other page unchanged."""
    if suffix == ".ipynb":
        nb = json.loads(source)
        nb["cells"] = [c for c in nb.get("cells", []) if c.get("id") != FINGERPRINT_CELL]
        cell = {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": ["remove-cell"]},
            "outputs": [],
            "source": fingerprint_code(key),
        }
        if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
            cell["id"] = FINGERPRINT_CELL
        nb["cells"].append(cell)
        return json.dumps(nb, indent=1, ensure_ascii=False)
    front = FRONT_MATTER.match(source) if suffix == ".md" else None
    if front and re.search(r"^kernelspec:", front.group(1), re.M):
        return f"{source.rstrip()}\n\n```{{code-cell}} ipython3\n:tags: [remove-cell]\n\n{fingerprint_code(key)}\n```\n"
    return source


def add_fingerprint(app, docname: str, source: list[str]) -> None:
    suffix = Path(app.env.doc2path(docname)).suffix
    source[0] = with_fingerprint(source[0], suffix, app.env.book_fingerprint)


def reread_on_new_fingerprint(app, env, added, changed, removed):
    """Every page, when the fingerprint differs from the last build's (else nothing more)."""
    key = fingerprint()
    stale = getattr(env, "book_fingerprint", None) != key
    env.book_fingerprint = key
    return sorted(env.found_docs - added - changed - removed) if stale else []


def _script_key(script) -> tuple[str, str]:
    attributes = getattr(script, "attributes", {}) or {}
    return (str(getattr(script, "filename", script) or ""), attributes.get("body", "") or "")


def offline_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop sphinx-thebe's scripts and repeated scripts from the page's ``script_files``."""
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        filename, body = key = _script_key(script)
        if "thebe" in filename or "THEBE_JS_URL" in body or key in seen:
            continue
        seen.add(key)
        scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    # The pages run through nbclient in this process (jupyter-cache): without its client-side
    # Output widget, whose updates on the shell socket could leave a widget cell waiting out the
    # cell timeout for its reply (labutils/widgets.py says why).
    from nbclient.client import NotebookClient

    from labutils.widgets import no_client_output_widget

    NotebookClient.on_comm_open_jupyter_widget = no_client_output_widget
    app.connect("env-get-outdated", reread_on_new_fingerprint)
    app.connect("source-read", add_fingerprint)
    app.connect("html-page-context", offline_scripts, priority=950)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
