"""Data sets for the course: handwritten digits (bundled with scikit-learn, no download) and
two small seeded synthetic tables for the scaling chapters (rental motorbikes, a phone catalogue).

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
    """A synthetic rental fleet of motorbikes: age in years and kilometres driven.

    Age is uniform on 0 to 20 years (rounded to 0.1 year). Each bike has its own usage, about
    12,000 km a year (log-normal, spread 0.3 in log space, so most bikes do 6,000 to 22,000 km a
    year), and has been driven age * usage km (whole km). Distances therefore run from near 0 to a
    few hundred thousand km and grow with age, more widely for older bikes. The two columns live
    on scales about 10,000 times apart, which is what the scaling chapters need.
    Returns ``x`` (n, 2) float64 and the column names ``("age (years)", "distance driven (km)")``.
    """
    n = _check_n(n, "rental_bikes")
    rng = np.random.default_rng(seed)
    age = np.round(rng.uniform(0.0, 20.0, n), 1)
    km_per_year = np.exp(rng.normal(np.log(12_000.0), 0.3, n))
    km = np.round(age * km_per_year)
    return np.column_stack([age, km]), ("age (years)", "distance driven (km)")


#: Market segments of the synthetic phone catalogue: (lowest price, highest price in rupees,
#: share of the catalogue, probability that a phone of the segment is dual SIM).
PHONE_SEGMENTS = ((10_000.0, 20_000.0, 0.55, 0.92),   # budget
                  (20_000.0, 45_000.0, 0.30, 0.85),   # mid-range
                  (45_000.0, 100_000.0, 0.15, 0.60))  # premium


def phones(n=200, seed=0):
    """A synthetic phone catalogue (Indian market): a five-digit price next to a 0/1 dual-SIM flag.

    Each phone falls into a segment of ``PHONE_SEGMENTS`` (budget 55 %, mid-range 30 %, premium
    15 %) and gets a price log-uniform within it, rounded up to end in 999 (10,999 to 99,999
    rupees): most phones are cheap, a few are expensive, a right-skewed column. Dual SIM is
    near-universal among budget phones and less common among premium ones (92 %, 85 %, 60 %),
    so the flag is weakly, negatively related to price. A binary feature next to a five-digit
    one, for the scaling chapters. Returns ``x`` (n, 2) float64 and the column names
    ``("price (rupees)", "dual SIM (0/1)")``.
    """
    n = _check_n(n, "phones")
    rng = np.random.default_rng(seed)
    low, high, share, p_dual = (np.array(column) for column in zip(*PHONE_SEGMENTS))
    segment = rng.choice(len(PHONE_SEGMENTS), size=n, p=share)
    raw = np.exp(rng.uniform(np.log(low[segment]), np.log(high[segment])))
    price = np.ceil(raw / 1000.0) * 1000.0 - 1.0
    dual_sim = (rng.uniform(size=n) < p_dual[segment]).astype(np.float64)
    return np.column_stack([price, dual_sim]), ("price (rupees)", "dual SIM (0/1)")
