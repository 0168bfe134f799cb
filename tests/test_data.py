"""Tests of bnlib.data: shapes, ranges, determinism, the split."""
import numpy as np
import pytest

from bnlib.data import load_digits, phones, rental_bikes


def test_load_digits_shapes_ranges_and_split():
    x_train, x_test, y_train, y_test = load_digits()
    assert x_train.shape == (1257, 64) and x_test.shape == (540, 64)
    assert y_train.shape == (1257,) and y_test.shape == (540,)
    assert x_train.dtype == np.float64 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert set(np.unique(y_train)) == set(range(10))
    # stratified: every class has about 30 % of its images in the test set
    counts_test = np.bincount(y_test, minlength=10)
    counts_all = counts_test + np.bincount(y_train, minlength=10)
    assert np.all(np.abs(counts_test / counts_all - 0.3) < 0.02)


def test_load_digits_is_seeded():
    a = load_digits(seed=0)
    b = load_digits(seed=0)
    c = load_digits(seed=1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[2], c[2])
    assert load_digits(test_size=0.5)[1].shape[0] in (898, 899)
    with pytest.raises(ValueError, match="load_digits: test_size"):
        load_digits(test_size=1.5)


@pytest.mark.parametrize("loader", [rental_bikes, phones])
def test_synthetic_tables_are_seeded_and_shaped(loader):
    x, names = loader(n=50, seed=3)
    assert x.shape == (50, 2) and x.dtype == np.float64 and len(names) == 2
    assert all(isinstance(n, str) and "(" in n for n in names)  # names carry units
    np.testing.assert_array_equal(x, loader(n=50, seed=3)[0])
    assert not np.array_equal(x, loader(n=50, seed=4)[0])
    assert loader()[0].shape == (200, 2)
    with pytest.raises(ValueError, match=f"{loader.__name__}: n"):
        loader(n=1)


def test_rental_bikes_match_the_brief():
    """Age 0 to about 20 years, distance 0 to hundreds of thousands of km, growing with age."""
    x, names = rental_bikes(n=2000, seed=1)
    age, km = x[:, 0], x[:, 1]
    assert names == ("age (years)", "distance driven (km)")
    assert 0 <= age.min() < 0.5 and 19.5 < age.max() <= 20
    assert np.array_equal(age, np.round(age, 1)) and np.array_equal(km, np.round(km))
    assert km.min() >= 0 and 200_000 < km.max() < 1_000_000
    assert km.std() > 5000 * age.std()  # scales thousands of times apart
    assert np.corrcoef(age, km)[0, 1] > 0.7  # older bikes have been driven further
    per_year = km[age >= 1] / age[age >= 1]
    assert 10_000 < np.median(per_year) < 14_000
    # older bikes spread more widely: usage differs from bike to bike
    assert km[age > 15].std() > 2 * km[(age > 3) & (age < 6)].std()


def test_phones_match_the_brief():
    """Five-digit prices in rupees, right-skewed; a 0/1 dual-SIM flag, rarer among dear phones."""
    x, names = phones(n=2000, seed=1)
    price, dual = x[:, 0], x[:, 1]
    assert names == ("price (rupees)", "dual SIM (0/1)")
    assert set(np.unique(dual)) == {0.0, 1.0}
    assert 10_000 <= price.min() and price.max() <= 99_999  # five digits
    assert np.all(price % 1000 == 999)  # shop prices ending in 999
    assert np.mean(price) > 1.3 * np.median(price)  # right skew: a few expensive phones
    assert price.max() > 90_000 and np.median(price) < 30_000
    cheap = price < np.median(price)
    assert dual[cheap].mean() > dual[~cheap].mean() + 0.05
    assert 0.7 < dual.mean() < 0.95
