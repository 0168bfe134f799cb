"""Data sets for the course: handwritten digits (bundled with scikit-learn, no download) and
two small seeded synthetic tables for the scaling chapters.

Every loader is deterministic for a given ``seed``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["load_digits", "rental_bikes", "phones"]


def _check_n(n, func: str) -> int:
    if int(n) != n or n < 2:
        raise ValueError(f"{func}: n is {n!r}; expected an int >= 2 (the number of rows)")
    return int(n)


def load_digits(test_size=0.3, seed=0):
    """The 8x8 handwritten digits (1797 images, 10 classes) with a seeded, stratified split.

    test_size: fraction of the images in the test set. seed: seed of the split.
    Returns ``(x_train, x_test, y_train, y_test)`` (scikit-learn's order):
    x_*: (n, 64) float64 pixel intensities scaled from 0..16 to [0, 1];
    y_*: (n,) int64 labels 0..9. The data ship with scikit-learn
    (``sklearn.datasets.load_digits``), so nothing is downloaded.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"load_digits: test_size is {test_size!r}; expected a fraction in (0, 1)")
    from sklearn.datasets import load_digits as _sk_load_digits  # imported lazily: slow-ish
    from sklearn.model_selection import train_test_split

    digits = _sk_load_digits()
    x = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=float(test_size), random_state=int(seed), stratify=y)
    return (np.ascontiguousarray(x_train), np.ascontiguousarray(x_test),
            np.ascontiguousarray(y_train), np.ascontiguousarray(y_test))


def rental_bikes(n=200, seed=0):
    """A synthetic rental-bike fleet: age in years vs. kilometres driven.

    The two columns live on very different scales (years: about 0.5 to 12; kilometres:
    thousands), which is what the scaling chapters need. Older bikes have been driven further
    (about 1500 km per year, with noise).
    Returns ``x`` (n, 2) float64 (age rounded to 0.1 year, distance to whole km, >= 0) and the
    column names ``("age (years)", "distance driven (km)")``.
    """
    n = _check_n(n, "rental_bikes")
    rng = np.random.default_rng(seed)
    age = np.round(rng.uniform(0.5, 12.0, n), 1)
    km = 1500.0 * age + rng.normal(0.0, 1200.0, n)
    km = np.round(np.clip(km, 0.0, None))
    return np.column_stack([age, km]), ("age (years)", "distance driven (km)")


def phones(n=200, seed=0):
    """A synthetic phone catalogue: price vs. a 0/1 flag (has 5G).

    Price in euros (roughly 80 to 1500, right-skewed, rounded to whole euros); the flag is
    1 more often for expensive phones. A continuous feature next to a binary one, for the
    scaling chapters. Returns ``x`` (n, 2) float64 and the column names
    ``("price (EUR)", "has 5G (0/1)")``.
    """
    n = _check_n(n, "phones")
    rng = np.random.default_rng(seed)
    price = np.round(np.clip(np.exp(rng.normal(np.log(350.0), 0.6, n)), 80.0, 1500.0))
    p_5g = 1.0 / (1.0 + np.exp(-(price - 400.0) / 120.0))
    flag = (rng.uniform(size=n) < p_5g).astype(np.float64)
    return np.column_stack([price, flag]), ("price (EUR)", "has 5G (0/1)")
