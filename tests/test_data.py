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


def test_rental_bikes_columns_live_on_different_scales():
    x, names = rental_bikes()
    age, km = x[:, 0], x[:, 1]
    assert names == ("age (years)", "distance driven (km)")
    assert 0 < age.min() and age.max() <= 12
    assert km.min() >= 0 and km.std() > 100 * age.std()
    assert np.corrcoef(age, km)[0, 1] > 0.8  # older bikes have been driven further


def test_phones_price_and_flag():
    x, names = phones()
    assert names == ("price (EUR)", "has 5G (0/1)")
    assert set(np.unique(x[:, 1])) == {0.0, 1.0}
    assert 80 <= x[:, 0].min() and x[:, 0].max() <= 1500
    assert x[x[:, 1] == 1, 0].mean() > x[x[:, 1] == 0, 0].mean()
