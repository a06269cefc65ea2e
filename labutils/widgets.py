"""Interactive widgets for the notebooks (ipywidgets 7.7, as on Colab, and 8).

Widgets need a live kernel; the book shows the static figures the notebooks draw beside them.
While nbgrader executes a notebook (``NBGRADER_EXECUTION`` is set), and where
``LABUTILS_WIDGETS=0`` (the book build and the tests set it), they draw nothing: no one can
move a slider there.

Why a widget cell could hang the executing client (the autograder, the book build): nbclient
mirrors every ipywidgets ``Output`` widget (``interact`` draws into one) on the client side, and
that mirror sends the widget's new state back to the kernel on the shell socket while the client
waits on the same socket for the cell's ``execute_reply``. On a loaded machine that wait misses
the reply and lasts until the cell timeout, though the kernel is idle (2 of 45 submissions in
one run of the test suite's round trip, both right after Lab 1's padding widget; 20 of 300
``interact`` cells next to two trainings, none of 300 without the mirror:
``benchmarks/widget_hang.py --load 2``). The autograder (``sandbox.SandboxedExecute``) and the book
build (``scripts/book_build.py``) therefore run without the mirror, so a student's own widget
cannot hang them either.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn

from . import plot


def no_client_output_widget(client, msg) -> None:
    """nbclient's handler for a ``jupyter.widget`` comm opened by the kernel, for clients that
    execute notebooks unattended: no client-side widget.

    nbclient's own handler (``NotebookClient.on_comm_open_jupyter_widget``) creates a mirror of
    each ``Output`` widget that sends state updates on the shell socket while the client waits
    there for the cell's reply; on a loaded machine that wait can run to the cell timeout (see the
    module docstring). Without the mirror, what the widget's function prints or draws stays in
    the cell's outputs, where the grader and the book can see it.
    """
    return None


def _grading() -> bool:
    """Whether no one can use a widget here: nbgrader executes the notebook, or LABUTILS_WIDGETS=0."""
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("LABUTILS_WIDGETS") == "0"


def padding_explorer(out_size: Callable[..., int], solve_padding: Callable[..., int | None]):
    """Sliders for input width W, kernel K and stride S: the padding that halves W and the sizes.

    ``out_size(W, K, S, P)`` and ``solve_padding(W, K, S)`` are the student's functions.
    """
    if _grading():
        return None
    import ipywidgets as w

    def show(W: int = 32, K: int = 4, S: int = 2):
        P = solve_padding(W, K, S)
        if P is None:
            print(f"W={W}, K={K}, S={S}: no padding gives W/S = {W / S:g}")
            return
        sizes = [W]
        while sizes[-1] >= K and len(sizes) < 8:
            sizes.append(out_size(sizes[-1], K, S, P))
        print(f"W={W}, K={K}, S={S}: padding P={P}; repeated convs give " + " -> ".join(map(str, sizes)))

    return w.interact(
        show,
        W=w.IntSlider(value=32, min=4, max=128, step=2),
        K=w.IntSlider(value=4, min=1, max=9),
        S=w.IntSlider(value=2, min=1, max=4),
    )


def interpolation_slider(gen: nn.Module, z1: Tensor, z2: Tensor):
    """A slider for alpha in [0, 1] showing G(alpha z1 + (1 - alpha) z2)."""
    if _grading():
        return None
    import ipywidgets as w

    def show(alpha: float = 0.5):
        z = alpha * z1.reshape(1, -1) + (1 - alpha) * z2.reshape(1, -1)
        with torch.no_grad():
            was = gen.training
            gen.eval()
            img = gen(z.to(next(gen.parameters()).device)).cpu()
            gen.train(was)
        fig, ax = plt.subplots(figsize=(2, 2))
        plot.show_grid(img, nrow=1, ax=ax, title=f"alpha = {alpha:.2f}")
        plt.show()

    return w.interact(show, alpha=w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05))
