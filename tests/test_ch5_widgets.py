"""Chapter 5 widgets: driven programmatically, verdicts checked."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from bnlib.data import load_digits  # noqa: E402
from bnlib.experiments.regularization import load_cache  # noqa: E402
from bnlib.noise import hidden_unit_population  # noqa: E402
from bnlib.widgets.noise import batch_noise_explorer, regularization_explorer  # noqa: E402


@pytest.fixture(scope="module")
def unit():
    return hidden_unit_population(load_digits()[0], rng=np.random.default_rng(0))


def test_batch_noise_explorer_moves_and_checks(unit):
    w = batch_noise_explorer(unit, 3, n_batches=200, seed=0)
    spreads = []
    for m in (2, 8, 32, 128):
        w.batch_size.value = m
        spreads.append(w.state.summary["spread_mean"])
        assert w.state.summary["m"] == m
    assert spreads == sorted(spreads, reverse=True)
    w.batch_size.value = 64
    assert not w.check.run().correct and "too small" in w.check.result.value
    w.batch_size.value = 128
    assert w.check.run().correct


def test_regularization_explorer_shows_the_chosen_run():
    cache = load_cache()
    w = regularization_explorer(cache)
    for bs in cache["config"]["batch_sizes"]:
        for mode in cache["config"]["modes"]:
            w.batch_size.value, w.mode.value = bs, mode
            test = np.asarray(cache["runs"][f"{mode}/{bs}"]["test_acc"])
            assert np.allclose(w.state.last["test_mean"], test.mean(axis=0))
    assert str(bs) in w.live.axes.get_title()
