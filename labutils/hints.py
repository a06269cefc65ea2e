"""Plain words for the error a student meets when a notebook runs past a cell that failed.

Run an untouched lab notebook top to bottom and every cell to write raises its
``NotImplementedError``; the cells after it then fail with ``NameError: name 'runs' is not
defined``, which says nothing about why. Importing labutils inside IPython (a notebook, Colab,
nbgrader's kernel) registers a handler that adds the reason to such an error's message: the
name is made by an earlier cell that stopped with an error. Only the message changes: the cell
still fails, with the same exception type, so grading and ``Run All`` behave as before.
"""

from __future__ import annotations

NO_RUNS = (
    "no runs to {what}: no training run has finished yet (the training cell above stopped, or "
    "has not been run); finish the cells marked YOUR CODE HERE and run the training cell first"
)

HINT = (
    "If an earlier cell defines `{name}`, that cell has not run to the end: it (or a cell before "
    "it) stopped with an error, often the NotImplementedError of a cell you have still to write. "
    "Finish the cells marked YOUR CODE HERE, then run the notebook again from the top."
)


def explain(error: NameError) -> NameError:
    """``error`` with the hint appended to its message (once); returned for convenience."""
    name = getattr(error, "name", None)
    message = str(error.args[0]) if error.args else ""
    hint = HINT.format(name=name)
    if name and hint not in message:
        error.args = (f"{message}. {hint}", *error.args[1:])
    return error


def _handler(shell, etype, value, tb, tb_offset=None):
    explain(value)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install(shell=None) -> bool:
    """Register the NameError handler in ``shell`` (default: the running IPython, if any).

    Returns whether one was registered. A shell that already has its own custom exception
    handlers is left alone.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    current = tuple(getattr(shell, "custom_exceptions", ()))
    if current == (NameError,):
        return True
    if current:
        return False
    shell.set_custom_exc((NameError,), _handler)
    return True
