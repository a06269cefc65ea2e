"""The widgets draw only in a live notebook: under nbgrader they return nothing."""

import torch

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
