"""Chapter 6's widget computations (pure) and the widgets driven without a browser."""
import numpy as np
import pytest

from bnlib.experiments.family import curves_at, paired_table
from bnlib.normalization import (groupnorm_forward, instancenorm_forward, layernorm_forward,
                                 statistics_mask, statistics_shape)
from bnlib.batchnorm import batchnorm2d_forward

SHAPE = (4, 6, 3, 2)


@pytest.mark.parametrize("method, groups, count", [
    ("batch", 1, 4 * 3 * 2), ("layer", 1, 6 * 3 * 2), ("instance", 1, 3 * 2),
    ("group", 3, 2 * 3 * 2), ("group", 1, 6 * 3 * 2), ("group", 6, 3 * 2)])
def test_mask_counts_the_values_behind_one_mean(method, groups, count):
    mask = statistics_mask(method, SHAPE, (1, 3), groups)
    assert mask.shape == SHAPE and mask.sum() == count and mask[1, 3].all()


def test_mask_agrees_with_the_forward_passes():
    """Changing the values outside the mask leaves the chosen channel's output unchanged;
    changing one value inside it changes it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=SHAPE)
    forwards = {
        "batch": lambda v: batchnorm2d_forward(v, np.ones(6), np.zeros(6))[0],
        "layer": lambda v: layernorm_forward(v, SHAPE[1:])[0],
        "instance": lambda v: instancenorm_forward(v)[0],
        "group": lambda v: groupnorm_forward(v, 3)[0],
    }
    for method, f in forwards.items():
        mask = statistics_mask(method, SHAPE, (1, 3), 3)
        x2 = np.where(mask, x, x * 5.0 + 3.0)
        np.testing.assert_allclose(f(x2)[1, 3], f(x)[1, 3], atol=1e-12, err_msg=method)
        inside = np.argwhere(mask & ~np.eye(4, dtype=bool)[:, 1][:, None, None, None])
        if len(inside):
            x3 = x.copy()
            x3[tuple(inside[0])] += 4.0
            assert np.abs(f(x3)[1, 3, 0, 0] - f(x)[1, 3, 0, 0]) > 1e-6, method


def test_statistics_shape_matches_the_caches():
    x = np.random.default_rng(1).normal(size=SHAPE)
    assert statistics_shape("group", SHAPE, 3) == groupnorm_forward(x, 3)[1].mean.shape
    assert statistics_shape("instance", SHAPE) == instancenorm_forward(x)[1].mean.shape
    assert statistics_shape("batch", SHAPE) == batchnorm2d_forward(
        x, np.ones(6), np.zeros(6))[1].mean.shape
    with pytest.raises(ValueError, match="num_groups=4 does not divide C=6"):
        statistics_shape("group", SHAPE, 4)
    with pytest.raises(ValueError, match="method"):
        statistics_mask("weight", SHAPE, (0, 0))


def test_cube_layout_marks_the_chosen_block():
    from bnlib.normalization import statistics_picture
    mask = statistics_mask("instance", SHAPE, (1, 3))
    img = statistics_picture(mask, (1, 3))
    assert img.shape == (6 * 4 - 1, 4 * 3 - 1)
    assert (img == 3).sum() == 3 * 2 and (img == 2).sum() == 0
    assert (img == 1).sum() == (4 * 6 - 1) * 3 * 2


def test_paired_table_uses_paired_seed_differences():
    runs = {"bn": {"2": {"final_test": [0.90, 0.80, 0.85]}},
            "gn": {"2": {"final_test": [0.92, 0.83, 0.86]}}}
    t = paired_table(runs)
    assert t["diff"]["gn"]["2"] == pytest.approx(0.02)
    assert t["diff_se"]["gn"]["2"] == pytest.approx(np.std([0.02, 0.03, 0.01], ddof=1) / np.sqrt(3))
    assert t["se"]["bn"]["2"] == pytest.approx(0.05 / np.sqrt(3))  # std of (0.9, 0.8, 0.85)
    assert t["diff"]["bn"]["2"] == 0.0


def test_curves_at_averages_over_seeds():
    runs = {m: {"4": {"seen": [10, 20], "val_acc": [[0.5, 0.7], [0.7, 0.9]]}} for m in ("bn", "gn")}
    out = curves_at(runs, 4, ("bn", "gn"))
    np.testing.assert_allclose(out["gn"][1], [0.6, 0.8])
    np.testing.assert_array_equal(out["bn"][0], [10, 20])


def test_cube_widget_controls_change_the_state_and_check():
    from bnlib.widgets.family import normalization_cube
    cube = normalization_cube()
    try:
        assert cube.state.count == 4 * 3 * 3          # batch norm: one channel of 4 examples
        cube.method.value = "group"
        cube.num_groups.value = 2
        assert cube.state.mean_shape == (4, 2) and cube.state.count == 3 * 9
        assert not cube.check.run().correct
        cube.num_groups.value = 3
        assert cube.check.run().correct
        cube.method.value = "layer"
        assert cube.state.count == 6 * 9 and "not used" in cube.readout.value
    finally:
        cube.close()


def test_batch_size_explorer_draws_the_cached_means():
    from bnlib.experiments import load_cache
    from bnlib.widgets.family import batch_size_explorer
    cache = load_cache("ch6_batch_size")
    explorer = batch_size_explorer(cache, initial=2)
    try:
        explorer.batch_size.value = 16
        run = cache["runs"]["ln"]["16"]
        np.testing.assert_allclose(explorer.curves["ln"][1], np.mean(run["val_acc"], axis=0))
        assert "batch size 16" in explorer.readout.value
    finally:
        explorer.close()
