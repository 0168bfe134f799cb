"""Tests of bnlib.nn: every backward against numerical gradients, the containers, SGD, the
training loop (history, divergence, record callback) and the Figure 1 set-up."""
import numpy as np
import pytest

from bnlib.batchnorm import BatchNorm1d
from bnlib.data import load_digits
from bnlib.gradcheck import gradcheck
from bnlib.nn import (
    SGD,
    History,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    accuracy,
    mlp,
    softmax_cross_entropy,
    train,
    unit_percentiles,
)

TOL = 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


# --- gradient checks --------------------------------------------------------------------------

def test_linear_backward(rng):
    layer = Linear(4, 3, rng=rng)
    layer.bias[:] = rng.normal(size=3)
    x = rng.normal(size=(5, 4))
    y = layer(x)
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy)
    w, b = layer.weight.copy(), layer.bias.copy()
    assert gradcheck(lambda t: t @ w.T + b, x, dx, dy) < TOL
    assert gradcheck(lambda t: x @ t.T + b, w, layer.dweight, dy) < TOL
    assert gradcheck(lambda t: x @ w.T + t, b, layer.dbias, dy) < TOL


def test_linear_module_against_numerical(rng):
    layer = Linear(4, 3, rng=rng)
    x = rng.normal(size=(5, 4))
    dy = rng.normal(size=(5, 3))
    layer(x)
    dx = layer.backward(dy)
    assert gradcheck(layer.forward, x, dx, dy) < TOL


@pytest.mark.parametrize("module", [Sigmoid, Tanh, ReLU])
def test_activation_backward(rng, module):
    x = rng.normal(size=(6, 5)) * 3
    x[np.abs(x) < 1e-3] = 0.5  # keep away from ReLU's kink
    act = module()
    y = act(x)
    dy = rng.normal(size=y.shape)
    dx = act.backward(dy)
    assert gradcheck(module().forward, x, dx, dy) < TOL


def test_activation_values():
    x = np.array([[-700.0, -40.0, -1.0, 0.0, 2.0, 800.0]])
    expected = np.exp(np.minimum(x, 0)) / (np.exp(np.minimum(x, 0)) + np.exp(np.minimum(-x, 0)))
    np.testing.assert_allclose(Sigmoid()(x), expected, rtol=1e-14)  # relative, even at 1e-304
    assert Sigmoid()(np.array([-800.0]))[0] == 0.0  # underflows quietly, no warning
    np.testing.assert_allclose(Tanh()(x), np.tanh(x))
    np.testing.assert_array_equal(ReLU()(x), [[0, 0, 0, 0, 2, 800]])


def test_softmax_cross_entropy_value_and_gradient(rng):
    logits = rng.normal(size=(7, 4)) * 3
    labels = rng.integers(0, 4, 7)
    loss, dlogits = softmax_cross_entropy(logits, labels)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert loss == pytest.approx(-logp[np.arange(7), labels].mean(), rel=1e-12)
    f = lambda t: np.array(softmax_cross_entropy(t, labels)[0])
    assert gradcheck(f, logits, dlogits, np.array(1.0)) < TOL
    np.testing.assert_allclose(dlogits.sum(axis=1), 0, atol=1e-15)


def test_softmax_cross_entropy_large_logits_do_not_overflow():
    loss, d = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([0, 1]))
    assert np.isfinite(loss) and np.isfinite(d).all()
    assert loss == pytest.approx(500.0)


@pytest.mark.parametrize("bn", [None, "before", "after"])
def test_whole_network_backward(rng, bn):
    model = mlp([5, 6, 4, 3], activation="tanh", bn=bn, rng=rng)
    x = rng.normal(size=(8, 5))
    labels = rng.integers(0, 3, 8)
    loss, dlogits = softmax_cross_entropy(model(x), labels)
    dx = model.backward(dlogits)
    dweight = model[0].dweight.copy()
    f = lambda t: np.array(softmax_cross_entropy(model(t), labels)[0])
    assert gradcheck(f, x, dx, np.array(1.0)) < TOL
    w = model[0].weight  # the gradient of the first weight matrix as well
    w0 = w.copy()

    def loss_of_w(t):
        w[...] = t
        return np.array(softmax_cross_entropy(model(x), labels)[0])

    err = gradcheck(loss_of_w, w0, dweight, np.array(1.0))
    w[...] = w0
    assert err < TOL


# --- containers -------------------------------------------------------------------------------

def test_mlp_layout(rng):
    plain = mlp([64, 100, 100, 100, 10], rng=rng)
    assert [type(m).__name__ for m in plain] == ["Linear", "Sigmoid"] * 3 + ["Linear"]
    before = mlp([64, 100, 10], bn="before", activation="relu", rng=rng)
    assert [type(m).__name__ for m in before] == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    after = mlp([64, 100, 10], bn="after", rng=rng)
    assert [type(m).__name__ for m in after] == ["Linear", "Sigmoid", "BatchNorm1d", "Linear"]
    assert len(after.parameters()) == len(after.gradients()) == 2 + 2 + 2
    assert mlp([3, 2], rng=rng, bias=False).parameters()[0].shape == (2, 3)
    assert np.std(mlp([400, 400, 2], rng=rng, init_scale=0.1)[0].weight) == pytest.approx(0.1, rel=0.02)
    assert np.std(plain[0].weight) == pytest.approx(1 / 8, rel=0.05)


def test_sequential_indexing_iteration_and_activations(rng):
    model = mlp([4, 3, 2], bn="before", rng=rng)
    assert len(model) == 4 and isinstance(model[1], BatchNorm1d)
    assert isinstance(model[:2], Sequential) and model[:2][0] is model[0]
    assert list(iter(model)) == model.modules
    x = rng.normal(size=(5, 4))
    out = model.forward(x, keep=True)
    assert len(model.activations) == 4 and model.activations[-1] is out
    np.testing.assert_allclose(model.activations[2], 1 / (1 + np.exp(-model.activations[1])))
    model(x)
    assert model.activations == []
    assert "BatchNorm1d" in repr(model)


def test_train_eval_propagate(rng):
    model = mlp([4, 3, 2], bn="before", rng=rng)
    assert model.eval() is model and not model[1].training and not model.training
    assert model.train() is model and model[1].training


def test_sgd_plain_and_momentum(rng):
    layer = Linear(3, 2, rng=rng)
    w0 = layer.weight.copy()
    layer(rng.normal(size=(4, 3)))
    layer.backward(rng.normal(size=(4, 2)))
    g = layer.dweight.copy()
    w_ref = layer.weight
    SGD(layer, lr=0.1).step()
    assert layer.weight is w_ref  # updated in place
    np.testing.assert_allclose(layer.weight, w0 - 0.1 * g)

    p = Linear(3, 2, rng=rng)
    opt = SGD([p], lr=0.5, momentum=0.9)
    w, v = p.weight.copy(), np.zeros_like(p.weight)
    for _ in range(3):
        p(rng.normal(size=(4, 3)))
        p.backward(rng.normal(size=(4, 2)))
        v = 0.9 * v + p.dweight
        w = w - 0.5 * v
        opt.step()
    np.testing.assert_allclose(p.weight, w)


def test_accuracy_restores_mode(rng, digits):
    x_train, _, y_train, _ = digits
    model = mlp([64, 10, 10], bn="before", rng=rng)
    model.train()
    acc = accuracy(model, x_train[:100], y_train[:100])
    assert model.training and 0 <= acc <= 1
    model.eval()
    accuracy(model, x_train[:100], y_train[:100])
    assert not model.training


# --- training ---------------------------------------------------------------------------------

def test_figure1_setup_learns_and_is_deterministic(digits):
    x_train, x_test, y_train, y_test = digits

    def run():
        rng = np.random.default_rng(0)
        model = mlp([64, 100, 100, 100, 10], activation="sigmoid", bn="before", rng=rng)
        return train(model, x_train, y_train, x_test=x_test, y_test=y_test, steps=200,
                     batch_size=60, lr=0.5, rng=rng, eval_every=100)

    h1, h2 = run(), run()
    assert isinstance(h1, History) and not h1.diverged
    assert h1["step"] == [100, 200]
    assert set(h1) == {"step", "loss", "train_acc", "test_acc"}
    assert all(len(v) == 2 for v in h1.values())
    assert h1.test_acc[-1] > 0.9 and h1.loss[-1] < h1.loss[0]
    assert h1 == h2


def test_record_callback_sees_eval_mode_and_is_appended(rng, digits):
    x_train, x_test, y_train, y_test = digits
    model = mlp([64, 20, 10], bn="before", rng=rng)
    modes = []

    def record(m, step):
        modes.append(m.training)
        return {"p": unit_percentiles(m, x_test, layer=1, unit=0), "s": step}

    h = train(model, x_train, y_train, steps=50, batch_size=30, lr=0.1, rng=rng, eval_every=20,
              record=record)
    assert h["step"] == [20, 40, 50] and h["s"] == [20, 40, 50]
    assert len(h["p"]) == 3 and h["p"][0].shape == (3,)
    assert modes == [False] * 3 and model.training
    assert all(np.isnan(h["test_acc"]))  # no test set given


def test_divergence_stops_training(rng, digits):
    x_train, _, y_train, _ = digits
    model = mlp([64, 20, 10], activation="relu", rng=rng)
    h = train(model, x_train, y_train, steps=100, batch_size=30, lr=1e300, rng=rng, eval_every=1)
    assert h.diverged and 1 <= h.diverged_step < 100
    assert len(h["step"]) == h.diverged_step - 1


def test_unit_percentiles(rng):
    model = mlp([4, 6, 2], rng=rng)
    x = rng.normal(size=(50, 4))
    p = unit_percentiles(model, x, layer=0, unit=2)
    np.testing.assert_allclose(p, np.percentile(model[0](x)[:, 2], [15, 50, 85]))
    with pytest.raises(ValueError, match="unit_percentiles: unit is 6"):
        unit_percentiles(model, x, layer=0, unit=6)


def test_inputs_are_not_modified(rng, digits):
    x_train, _, y_train, _ = digits
    x0, y0 = x_train.copy(), y_train.copy()
    model = mlp([64, 10, 10], bn="after", rng=rng)
    train(model, x_train, y_train, steps=5, batch_size=20, lr=0.1, rng=rng)
    logits = model(x_train[:5])
    l0 = logits.copy()
    softmax_cross_entropy(logits, y_train[:5])
    np.testing.assert_array_equal(x_train, x0)
    np.testing.assert_array_equal(y_train, y0)
    np.testing.assert_array_equal(logits, l0)


# --- errors -----------------------------------------------------------------------------------

R = np.random.default_rng(0)
ERRORS = [
    (lambda: Linear(3, 2, rng=R)(np.ones((4, 5))), ValueError, ["Linear.forward", "x", "(4, 5)", "(N, 3)"]),
    (lambda: Linear(3, 2, rng=R)(np.ones((4, 3), dtype=int)), TypeError, ["Linear.forward", "x", "int", "(4, 3)"]),
    (lambda: Linear(3, 2, rng=0), TypeError, ["Linear", "rng", "Generator"]),
    (lambda: Sigmoid().backward(np.ones(3)), RuntimeError, ["Sigmoid.backward", "forward"]),
    (lambda: softmax_cross_entropy(np.ones((3, 4)), np.array([0, 1])), ValueError,
     ["softmax_cross_entropy", "labels", "(2,)", "(3,)"]),
    (lambda: softmax_cross_entropy(np.ones((2, 4)), np.array([0, 4])), ValueError,
     ["softmax_cross_entropy", "labels", "[0, 3]"]),
    (lambda: softmax_cross_entropy(np.ones((2, 4)), np.array([0.0, 1.0])), TypeError,
     ["softmax_cross_entropy", "labels", "float64", "(2,)"]),
    (lambda: softmax_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0])), ValueError,
     ["softmax_cross_entropy", "logits", "NaN", "(1, 2)"]),
    (lambda: mlp([3, 2], bn="middle", rng=R), ValueError, ["mlp", "bn", "middle"]),
    (lambda: mlp([3, 2], activation="gelu", rng=R), ValueError, ["mlp", "activation", "gelu"]),
    (lambda: train(mlp([3, 2], rng=R), np.ones((4, 3)), np.zeros(5, int), steps=1, batch_size=2,
                   lr=0.1, rng=R), ValueError, ["train", "y_train", "(5,)", "(4,)"]),
    (lambda: train(mlp([3, 2], rng=R), np.ones((4, 3)), np.zeros(4, int), steps=1, batch_size=9,
                   lr=0.1, rng=R), ValueError, ["train", "batch_size", "9", "(4, 3)"]),
    (lambda: SGD(mlp([3, 2], rng=R), lr=-1), ValueError, ["SGD", "lr"]),
]


@pytest.mark.parametrize("call, exc, fragments", ERRORS, ids=[f"case{i}" for i in range(len(ERRORS))])
def test_error_messages(call, exc, fragments):
    with pytest.raises(exc) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} missing from: {info.value}"
