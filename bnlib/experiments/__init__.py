"""Experiments behind the chapters: pure, seeded functions that train small nets on the digits.

Heavy sweeps are precomputed into ``bnlib/cache`` by scripts under ``scripts/`` (rounded with
:func:`rounded`, read back with :func:`load_cache`); tests recompute a point and compare.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["load_cache", "rounded", "CACHE_DIGITS"]

#: Decimals kept in cached floats (accuracies are multiples of 1/540, so 4 is exact enough).
CACHE_DIGITS = 4


def rounded(obj: Any, digits: int = CACHE_DIGITS) -> Any:
    """``obj`` with every float rounded to ``digits`` decimals (lists, tuples, dicts recursed)."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


def load_cache(name: str) -> dict:
    """Read ``bnlib/cache/<name>.json`` (e.g. ``load_cache("ch3c_figure1_grid")``)."""
    path = resources.files("bnlib") / "cache" / f"{name}.json"
    with path.open("r", encoding="utf-8") as f:
        return json.load(f)
