"""The widgets draw only in a live notebook: under nbgrader they return nothing; and no widget
cell, the course's or a student's own, can leave the autograder or the book build waiting."""

import os
import sys
import types
from pathlib import Path

import nbclient
import nbformat
import pytest
import torch
from nbclient import NotebookClient

from labutils import models, widgets


def test_widgets_draw_nothing_under_nbgrader(monkeypatch):
    monkeypatch.setenv("LABUTILS_WIDGETS", "1")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    gen = models.DCGenerator(nz=4, ngf=4)
    assert widgets.padding_explorer(lambda W, K, S, P: W, lambda W, K, S: 1) is None
    assert widgets.interpolation_slider(gen, torch.zeros(4), torch.ones(4)) is None


def test_widgets_draw_in_a_notebook(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("LABUTILS_WIDGETS", "1")
    out = widgets.padding_explorer(lambda W, K, S, P: (W + 2 * P - K) // S + 1, lambda W, K, S: 1)
    assert out is not None


def test_widgets_can_be_switched_off(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("LABUTILS_WIDGETS", "0")
    assert widgets.padding_explorer(lambda W, K, S, P: W, lambda W, K, S: 1) is None


def widget_notebook():
    """A student's own widget: ``interact`` draws into an Output widget, in every cell."""
    cells = [nbformat.v4.new_code_cell("import ipywidgets as w")]
    cells += [nbformat.v4.new_code_cell(f"w.interact(lambda x: print('x is', x), x={i})") for i in range(3)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def printed(nb) -> list[str]:
    return [o.text for c in nb.cells[1:] for o in c.outputs if o.output_type == "stream"]


@pytest.fixture
def kernel_env(monkeypatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("LABUTILS_SANDBOX", "off")


def counting_shell_sends(monkeypatch) -> list[str]:
    """Record every message type a client sends on a shell channel."""
    from jupyter_client.channels import ZMQSocketChannel

    sent = []
    original = ZMQSocketChannel.send

    def send(self, msg):
        sent.append(msg["header"]["msg_type"])
        return original(self, msg)

    monkeypatch.setattr(ZMQSocketChannel, "send", send)
    return sent


def test_plain_nbclient_mirrors_the_output_widget(kernel_env, monkeypatch):
    # what the two clients below must not do: the print goes into nbclient's mirror of the
    # Output widget, which sends its state back on the shell socket (the hang's cause)
    sent = counting_shell_sends(monkeypatch)
    nb = widget_notebook()
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    assert printed(nb) == []
    assert "comm_msg" in sent


def test_the_autograder_keeps_widget_output_in_the_cell(kernel_env, monkeypatch, tmp_path):
    from labutils.sandbox import SandboxedExecute

    sent = counting_shell_sends(monkeypatch)
    nb = widget_notebook()
    SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert printed(nb) == [f"x is {i}\n" for i in range(3)]
    assert "comm_msg" not in sent


def test_the_book_build_keeps_widget_output_in_the_cell(kernel_env, monkeypatch):
    import book_build

    monkeypatch.setattr(NotebookClient, "on_comm_open_jupyter_widget", NotebookClient.on_comm_open_jupyter_widget)
    book_build.setup(types.SimpleNamespace(connect=lambda *args, **kwargs: None))
    sent = counting_shell_sends(monkeypatch)
    nb = widget_notebook()
    nbclient.execute(nb, timeout=60, kernel_name="python3")  # what jupyter-cache calls
    assert printed(nb) == [f"x is {i}\n" for i in range(3)]
    assert "comm_msg" not in sent
