"""Chapter 3b's PyTorch reference without PyTorch: the recorded outputs load, say where they
come from, and bnlib matches them. (That the record is what PyTorch computes today is checked
in test_torch_parity.py, which needs PyTorch.)"""
import sys

import numpy as np
import pytest

from bnlib.torch_reference import (OUTPUTS, RECORD_NAME, comparison_inputs,
                                   run_bnlib_batchnorm1d, torch_batchnorm1d_reference)
from conftest import REPO

RECORD = REPO / "bnlib" / "cache" / f"{RECORD_NAME}.json"


def test_record_is_small_labelled_and_holds_the_comparison_inputs():
    assert RECORD.stat().st_size < 20_000
    ref = torch_batchnorm1d_reference(live=False)
    assert ref["source"] == "recorded" and ref["torch_version"][0].isdigit()
    assert ref["written_by"] == "scripts/record_ch3b_torch.py"
    batches, probe = comparison_inputs()
    assert np.array_equal(ref["batches"], batches) and np.array_equal(ref["probe"], probe)
    assert ref["train_outputs"].shape == batches.shape and ref["eval_output"].shape == (1, 3)
    text = RECORD.read_text()
    assert "/work" not in text and "/tmp" not in text and "/root" not in text


def test_bnlib_matches_the_recorded_torch_outputs():
    ref = torch_batchnorm1d_reference(live=False)
    ours = run_bnlib_batchnorm1d(ref["batches"], ref["probe"])
    for key in OUTPUTS:
        np.testing.assert_allclose(ours[key], ref[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_a_changed_bnlib_would_not_match():
    # the comparison can fail: PyTorch's running variance is unbiased, the biased one is off
    ref = torch_batchnorm1d_reference(live=False)
    biased = 0.9 ** 3 * 1.0 + sum(0.1 * 0.9 ** (2 - i) * b.var(axis=0)
                                  for i, b in enumerate(ref["batches"]))
    assert not np.allclose(biased, ref["running_var"], rtol=1e-6)


def test_without_torch_the_default_is_the_record(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    assert torch_batchnorm1d_reference()["source"] == "recorded"
    with pytest.raises(ImportError):
        torch_batchnorm1d_reference(live=True)
