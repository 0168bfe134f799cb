"""Chapter 3c widgets: pure lookups against the cache, widgets driven like a reader."""
import numpy as np
import pytest

from bnlib.widgets.figure1 import (explorer_view, figure1_explorer, grid_data, sweep_data,
                                   sweep_explorer, sweep_view)


def test_explorer_view_reads_the_right_runs():
    data = grid_data()
    v = explorer_view(data, True, 2.0, 1.0)
    run, other = data["runs"]["bn|2|1"], data["runs"]["plain|2|1"]
    assert v["test_acc"] == run["test_acc"] and v["other_acc"] == other["test_acc"]
    assert v["final_acc"] == run["test_acc"][-1]
    assert len(v["step"]) == len(v["p15"]) == len(v["test_acc"])
    assert v["step"][0] == 0 and v["step"][-1] == data["grid"]["steps"]
    with pytest.raises(KeyError, match="no precomputed run"):
        explorer_view(data, True, 0.7, 1.0)


def test_sweep_view_aggregates_seeds():
    fake = {"lr": {"values": [0.1, 1.0], "step": [100, 200], "runs": {
        "plain": [[{"test_acc": [0.1, 0.2], "diverged": False},
                   {"test_acc": [0.3, 0.4], "diverged": True}],
                  [{"test_acc": [0.5, 0.6], "diverged": False},
                   {"test_acc": [0.7, 0.8], "diverged": False}]],
        "bn": [[{"test_acc": [0.9, 0.9], "diverged": False}] * 2] * 2}}}
    v = sweep_view(fake, "lr", 200)
    assert np.allclose(v["plain"]["mean"], [0.3, 0.7])
    assert v["plain"]["min"] == [0.2, 0.6] and v["plain"]["max"] == [0.4, 0.8]
    assert v["plain"]["diverged"] == [1, 0]
    with pytest.raises(ValueError, match="step"):
        sweep_view(fake, "lr", 150)
    with pytest.raises(KeyError, match="param"):
        sweep_view(fake, "momentum", 100)


def test_sweep_data_has_three_seeds_per_setting():
    for param, sw in sweep_data().items():
        for name in ("plain", "bn"):
            assert len(sw["runs"][name]) == len(sw["values"])
            assert all(len(row) == len(sw["seeds"]) == 3 for row in sw["runs"][name])


def test_figure1_explorer_follows_its_controls_and_checks():
    w = figure1_explorer(bn=False, lr=0.5, init_scale=0.1)
    assert w.view == explorer_view(grid_data(), False, 0.5, 0.1)
    w.bn.value = True
    assert w.view == explorer_view(grid_data(), True, 0.5, 0.1)
    w.lr.value, w.init_scale.value = 8.0, 3.0
    assert w.view == explorer_view(grid_data(), True, 8.0, 3.0)
    assert "advantage" in w.readout.value
    fb = w.check.run()
    assert fb.correct == (w.view["final_acc"] - w.view["other_final_acc"] >= 0.5)
    assert w.check.result.value  # the verdict is shown under the button


def test_sweep_explorer_follows_its_controls():
    w = sweep_explorer("lr")
    w.param.value = "init_scale"
    w.budget.value = 300
    assert w.view == sweep_view(sweep_data(), "init_scale", 300)
    assert "after 300 steps" in w.live.axes.get_title()
