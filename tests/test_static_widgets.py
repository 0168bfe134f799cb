"""Every course widget, exported for the web book, shows in each frame exactly what the live
widget draws in that state.

Each widget is built twice with the same arguments: once exported (``BNLIB_WIDGETS=static``,
its grids cut to a few positions to keep the test short) and once live. The live copy is
then moved like a reader would, one control at a time and in the opposite order of the
export, to each exported state; its rendered PNG, readouts and Check verdict must equal the
frame's bytes, the frame's readouts and the verdict stacked for that state.
"""
from __future__ import annotations

import base64
import itertools

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from bnlib import affine  # noqa: E402
from bnlib.batchnorm import batchnorm_forward  # noqa: E402
from bnlib.data import load_digits, phones, rental_bikes  # noqa: E402
from bnlib.experiments.regularization import load_cache  # noqa: E402
from bnlib.noise import hidden_unit_population  # noqa: E402
from bnlib.widgets import ChoiceExercise  # noqa: E402
from bnlib.widgets.algorithm import algorithm_explorer  # noqa: E402
from bnlib.widgets.figure1 import figure1_explorer, sweep_explorer  # noqa: E402
from bnlib.widgets.gamma_beta import gamma_beta_explorer, training_animator  # noqa: E402
from bnlib.widgets.intro import standardize_explorer  # noqa: E402
from bnlib.widgets.modes import modes_explorer  # noqa: E402
from bnlib.widgets.noise import batch_noise_explorer, regularization_explorer  # noqa: E402
from bnlib.widgets.scaling import outlier_explorer, range_explorer, share_explorer  # noqa: E402
from bnlib.widgets.standardization import gd_explorer  # noqa: E402
from bnlib.exercises.gamma_beta import check_affine_false  # noqa: E402


def _animator_runs():
    unit = affine.activation_batch(np.random.default_rng(0), n=128)
    _, cache = batchnorm_forward(unit, np.ones(2), np.zeros(2))
    z = (unit - unit.mean(0)) / unit.std(0)
    return {"identity": (affine.train_affine(unit, unit, steps=20, lr=0.05), cache.x_hat, unit),
            "standard": (affine.train_affine(unit, z, steps=20, lr=0.05), cache.x_hat, z)}


BIKES = rental_bikes(n=120, seed=0)
FACTORIES = {
    "standardize": lambda: standardize_explorer(seed=0),
    "outlier": lambda: outlier_explorer(BIKES[0][:, 1], index=4),
    "range": lambda: range_explorer(*BIKES),
    "shares": lambda: share_explorer({"bikes": BIKES, "phones": phones(n=120, seed=0)}),
    "gd": lambda: gd_explorer(ratio=10, lr=0.01),
    "algorithm": lambda: algorithm_explorer(batch_size=8, offset=3.0, scale=2.0, step=3),
    "modes": lambda: modes_explorer(momentum=0.1, n_batches=30),
    "figure1": lambda: figure1_explorer(bn=False, lr=0.5, init_scale=0.1),
    "sweep": lambda: sweep_explorer("lr"),
    "gamma_beta": lambda: gamma_beta_explorer(
        affine.activation_batch(np.random.default_rng(0), n=128)[:, 0]),
    "animator": lambda: training_animator(_animator_runs()),
    "batch_noise": lambda: batch_noise_explorer(
        hidden_unit_population(load_digits()[0], rng=np.random.default_rng(0)), 3,
        n_batches=100, seed=1),
    "regularization": lambda: regularization_explorer(load_cache(), initial_batch=32),
    "choice": lambda: ChoiceExercise(["A", "B", "C", "D"], check_affine_false),
}


def _shrink(w, keep=3):
    """Keep ``keep`` positions of each grid (first, middle, last): a short test."""
    for c in w._controls:
        if c.grid is not None and len(c.grid) > keep:
            idx = sorted(set(np.linspace(0, len(c.grid) - 1, keep).round().astype(int)))
            c.grid = [c.grid[i] for i in idx]
            if c.labels is not None:
                c.labels = [c.labels[i] for i in idx]


def _outermost(root, cls):
    """The widgets of class ``cls`` under ``root`` that are not inside another of them."""
    if isinstance(root, cls):
        return [root]
    return [w for child in getattr(root, "children", ()) for w in _outermost(child, cls)]


def _leaf(stack, index):
    for i in index:
        stack = stack.children[i]
    return stack


def _png(html_widget) -> bytes:
    return base64.b64decode(html_widget.value.split("base64,")[1].split('"')[0])


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_static_frames_equal_the_live_widget(name, monkeypatch):
    monkeypatch.setenv("BNLIB_WIDGETS", "static")
    monkeypatch.delenv("BNLIB_WIDGETS_MANIFEST", raising=False)
    exported = FACTORIES[name]()
    _shrink(exported, keep=3 if len(exported._controls) < 3 else 2)
    gridded = [c for c in exported._controls if c.grid is not None]
    grids = [list(c.grid) for c in gridded]
    for c, grid in zip(gridded, grids):  # the export adds the current value
        if c.widget.value is not None and c.widget.value not in grid:
            grid.append(c.widget.value)
            if grid[:-1] == sorted(grid[:-1]):
                grid.sort()
    root = exported.widget
    stacks = [s for s in _outermost(root, widgets.Stack) if "bn-frames" in s._dom_classes]
    accordions = _outermost(root, widgets.Accordion)
    assert stacks or accordions, "no frames exported"

    monkeypatch.setenv("BNLIB_WIDGETS", "live")
    reader = FACTORIES[name]()
    names = [c.widget.description for c in gridded]
    live = {c.widget.description: c.widget for c in reader._controls}
    checked = 0
    for index in itertools.product(*(range(len(g)) for g in grids)):
        for k in reversed(range(len(index))):  # one move at a time, the other way round
            live[names[k]].value = grids[k][index[k]]
        if stacks:
            parts = _leaf(stacks[0], index).children
            readouts = [p for p in parts if "bn-readout" in p._dom_classes]
            figures = [p for p in parts if "bn-figure" in p._dom_classes]
            assert [r.value for r in readouts] == [r.value for r in reader._readouts], index
            assert [_png(f) for f in figures] == [f.png for f in reader._figures], index
            assert all("Shown for" in f.value and 'alt="' in f.value for f in figures)
        for accordion, check in zip(accordions, reader._checks):
            assert _leaf(accordion.children[0], index).value == check.run()._repr_html_()
        checked += 1
    assert checked >= 2
