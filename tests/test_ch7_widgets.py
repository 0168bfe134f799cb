"""Chapter 7 widgets: each control move shows what the pure functions compute."""
import numpy as np

from bnlib.experiments.practice import digits, load_source_model
from bnlib.practice import per_device_spread, predict_in_batch
from bnlib.widgets.practice import batchmates_explorer, workers_explorer


def test_batchmates_explorer_shows_predict_in_batch():
    _, x_test, _, y_test = digits()
    model = load_source_model()
    others, randoms = x_test[y_test == 4][:15], x_test[y_test != 4][:15]
    w = batchmates_explorer(model, x_test[34], others, randoms, label=1, other_label=4)
    try:
        for k in (15, 3):
            w.mates.value = k
            p_train, p_eval = predict_in_batch(model, x_test[34],
                                               np.vstack([others[:k], randoms[:15 - k]]))
            np.testing.assert_allclose(w.last["train"], p_train)
            np.testing.assert_allclose(w.last["eval"], p_eval)
            assert f"{k} of 15" in w.readout.value
    finally:
        w.close()


def test_workers_explorer_spread_and_check():
    x = np.random.default_rng(0).normal(size=(256, 8))
    w = workers_explorer(x)
    try:
        assert 128 in w.workers.options and w.last["workers"] == 4
        w.workers.value = 64
        assert w.last["shard"] == 4
        assert abs(w.last["spread"] - per_device_spread(x, 64)) < 1e-12
        assert not w.check.run().correct
    finally:
        w.close()
