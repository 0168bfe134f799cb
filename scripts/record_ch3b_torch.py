"""Record PyTorch's BatchNorm1d outputs for chapter 3b's comparison, for builds without PyTorch.

    .venv/bin/python scripts/record_ch3b_torch.py      # needs PyTorch (make install-torch)

Runs :func:`bnlib.torch_reference.run_torch_batchnorm1d` on
:func:`bnlib.torch_reference.comparison_inputs` and writes the inputs, the outputs (full
float64 precision) and PyTorch's version to bnlib/cache/ch3b_torch_batchnorm1d.json.
Chapter 3b compares bnlib with this record when PyTorch is not installed and says so;
tests/test_torch_parity.py checks that the record is what PyTorch computes today.
"""
from __future__ import annotations

import json
from pathlib import Path

from bnlib.torch_reference import RECORD_NAME, comparison_inputs, run_torch_batchnorm1d

OUT = Path(__file__).resolve().parents[1] / "bnlib" / "cache" / f"{RECORD_NAME}.json"


def main() -> None:
    batches, probe = comparison_inputs()
    result = run_torch_batchnorm1d(batches, probe)
    record = {
        "what": "torch.nn.BatchNorm1d(3, dtype=torch.float64), PyTorch defaults (momentum 0.1, "
                "eps 1e-5): trained on each of `batches` in turn, then eval mode on `probe`",
        "written_by": "scripts/record_ch3b_torch.py",
        "torch_version": result.pop("torch_version"),
        "batches": batches.tolist(),
        "probe": probe.tolist(),
        **{k: v.tolist() for k, v in result.items()},
    }
    OUT.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.name} (PyTorch {record['torch_version']}, {OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
