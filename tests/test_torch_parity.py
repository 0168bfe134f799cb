"""bnlib against PyTorch (CPU): forward, backward, running statistics over several training
steps and eval-mode output of BatchNorm1d/2d, all within 1e-5; and chapter 3b's recorded
PyTorch reference is what PyTorch computes today. Without PyTorch the module skips with a
reason, or fails when CI is set (CI installs the CPU build: make install-torch)."""
import numpy as np
import pytest
from conftest import skip_or_fail

try:
    import torch
except ImportError:
    skip_or_fail("PyTorch is not installed; the parity tests need the CPU build "
                 "(make install-torch)")

from bnlib.batchnorm import (  # noqa: E402
    BatchNorm1d,
    BatchNorm2d,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
)
from bnlib.nn import Linear, softmax_cross_entropy  # noqa: E402
from bnlib.torch_reference import (comparison_inputs, run_torch_batchnorm1d,  # noqa: E402
                                   torch_batchnorm1d_reference)

ATOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny tensors: PyTorch's worker threads only wait for each other on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


CASES = [
    # (bnlib class, torch class, batch shape, dtype)
    (BatchNorm1d, torch.nn.BatchNorm1d, (16, 5), np.float64),
    (BatchNorm1d, torch.nn.BatchNorm1d, (16, 5), np.float32),
    (BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 6), np.float64),
    (BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 6), np.float32),
]


def pair(ours_cls, torch_cls, c, rng, dtype, momentum=0.1):
    ours = ours_cls(c, momentum=momentum)
    ours.gamma[:] = rng.uniform(0.5, 2.0, c)
    ours.beta[:] = rng.normal(size=c)
    theirs = torch_cls(c, momentum=momentum, dtype=torch.float32 if dtype == np.float32 else torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.gamma))
        theirs.bias.copy_(torch.from_numpy(ours.beta))
    return ours, theirs


def close(a, b, atol=ATOL):
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               atol=atol, rtol=atol)


@pytest.mark.parametrize("ours_cls, torch_cls, shape, dtype", CASES)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_training_steps_then_eval_match_torch(ours_cls, torch_cls, shape, dtype, momentum):
    rng = np.random.default_rng(0)
    c = shape[1]
    ours, theirs = pair(ours_cls, torch_cls, c, rng, dtype, momentum)
    for step in range(4):
        x = rng.normal(3.0, 2.0, shape).astype(dtype)
        dy = rng.normal(size=shape).astype(dtype)
        y = ours(x)
        dx = ours.backward(dy)
        xt = torch.from_numpy(x).requires_grad_(True)
        yt = theirs(xt)
        yt.backward(torch.from_numpy(dy))
        assert y.dtype == dtype
        close(y, yt)
        close(dx, xt.grad)
        close(ours.dgamma, theirs.weight.grad)
        close(ours.dbeta, theirs.bias.grad)
        theirs.weight.grad = None
        theirs.bias.grad = None
        close(ours.running_mean, theirs.running_mean)
        close(ours.running_var, theirs.running_var)
        assert ours.num_batches_tracked == int(theirs.num_batches_tracked)
    ours.eval()
    theirs.eval()
    x = rng.normal(3.0, 2.0, shape).astype(dtype)
    close(ours(x), theirs(torch.from_numpy(x)))
    close(ours(x[:1]), theirs(torch.from_numpy(x[:1])))


def test_functional_forward_and_both_backwards_match_torch():
    rng = np.random.default_rng(1)
    x = rng.normal(-2.0, 5.0, (32, 7))
    gamma, beta = rng.normal(size=7), rng.normal(size=7)
    dy = rng.normal(size=x.shape)
    y, cache = batchnorm_forward(x, gamma, beta, eps=1e-3)
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(gamma).requires_grad_(True)
    bt = torch.from_numpy(beta).requires_grad_(True)
    yt = torch.nn.functional.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-3)
    yt.backward(torch.from_numpy(dy))
    close(y, yt)
    for grads in (batchnorm_backward(dy, cache), batchnorm_backward_staged(dy, cache)):
        close(grads[0], xt.grad)
        close(grads[1], gt.grad)
        close(grads[2], bt.grad)


def test_linear_and_softmax_cross_entropy_match_torch():
    # (SGD with momentum is checked against PyTorch's documented update in test_nn.py;
    # torch.optim's first step imports torch._dynamo, seconds of start-up for one check.)
    rng = np.random.default_rng(2)
    ours = Linear(6, 4, rng=rng)
    ours.bias[:] = rng.normal(size=4)
    theirs = torch.nn.Linear(6, 4, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight))
        theirs.bias.copy_(torch.from_numpy(ours.bias))
    x = rng.normal(size=(8, 6))
    labels = rng.integers(0, 4, 8)
    loss, dlogits = softmax_cross_entropy(ours(x), labels)
    dx = ours.backward(dlogits)
    xt = torch.from_numpy(x).requires_grad_(True)
    loss_t = torch.nn.functional.cross_entropy(theirs(xt), torch.from_numpy(labels))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), abs=ATOL)
    close(dx, xt.grad)
    close(ours.dweight, theirs.weight.grad)
    close(ours.dbias, theirs.bias.grad)


def test_recorded_reference_is_what_torch_computes_today():
    """Chapter 3b shows the record when PyTorch is missing: it must hold PyTorch's outputs
    on today's inputs (rerun scripts/record_ch3b_torch.py when this fails)."""
    record = torch_batchnorm1d_reference(live=False)
    batches, probe = comparison_inputs()
    assert np.array_equal(record["batches"], batches) and np.array_equal(record["probe"], probe)
    fresh = run_torch_batchnorm1d(batches, probe)
    for key in ("train_outputs", "running_mean", "running_var", "eval_output"):
        # float64 throughout: PyTorch builds and CPUs differ only in the last bits
        np.testing.assert_allclose(record[key], fresh[key], rtol=1e-12, atol=1e-12, err_msg=key)
    assert record["torch_version"].split(".")[0] == torch.__version__.split(".")[0]


# ---------------------------------------------------------------------------------------------
# Every other bnlib module with a PyTorch counterpart, forward and backward in float64.
# Elsewhere: LayerNorm, GroupNorm, InstanceNorm2d, RMSNorm and Conv2d in
# tests/test_ch6_torch_parity.py; folding against torch.nn.utils.fusion in
# tests/test_ch7_practice.py; SGD with momentum against PyTorch's documented update in
# tests/test_nn.py.
# ---------------------------------------------------------------------------------------------

from bnlib.batchnorm import (  # noqa: E402
    batchnorm2d_backward,
    batchnorm2d_forward,
    batchnorm_inference,
)
from bnlib.nn import Flatten, ReLU, Sequential, Sigmoid, Tanh, Unflatten, mlp  # noqa: E402

F = torch.nn.functional


def torch_grad(fn, *arrays, dy):
    """PyTorch's output of fn(*tensors) and the gradients of <output, dy> w.r.t. each array."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.from_numpy(dy))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


def forward_backward_close(ours, theirs, x, dy):
    """ours(x) and ours.backward(dy) agree with the torch module's output and input gradient."""
    y, dx = ours(x), ours.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(dy))
    close(y, yt)
    close(dx, xt.grad)


@pytest.mark.parametrize("ours_cls, theirs", [(ReLU, torch.relu), (Sigmoid, torch.sigmoid),
                                              (Tanh, torch.tanh)])
def test_activations_match_torch_forward_and_backward(ours_cls, theirs):
    rng = np.random.default_rng(3)
    # large magnitudes too: sigmoid(-40) keeps its relative precision, sigmoid(-800) is 0
    x = np.concatenate([rng.normal(0, 3, 40), [-800.0, -40.0, -1e-3, 0.0, 1e-3, 40.0]])
    x = x.reshape(2, 23)
    dy = rng.normal(size=x.shape)
    ours = ours_cls()
    y, dx = ours(x), ours.backward(dy)
    yt, (dxt,) = torch_grad(theirs, x, dy=dy)
    np.testing.assert_allclose(y, yt, rtol=1e-12, atol=0)
    # 1 - y**2 and y * (1 - y) cancel near saturation: compare dx to the rounding of 1
    np.testing.assert_allclose(dx, dxt, rtol=1e-12, atol=1e-15)


def test_flatten_and_unflatten_match_torch():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 4, 5))
    ours = Sequential(Flatten(), Unflatten((8, 5)), Flatten())
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Unflatten(1, (8, 5)),
                                 torch.nn.Flatten())
    dy = rng.normal(size=(3, 40))
    y, dx = ours(x), ours.backward(dy)
    yt, (dxt,) = torch_grad(theirs, x, dy=dy)
    assert y.shape == yt.shape and dx.shape == x.shape
    np.testing.assert_array_equal(y, yt)
    np.testing.assert_array_equal(dx, dxt)


def test_batchnorm2d_functional_and_inference_match_torch():
    rng = np.random.default_rng(5)
    x = rng.normal(2.0, 3.0, (4, 3, 5, 2))
    gamma, beta = rng.uniform(0.5, 2.0, 3), rng.normal(size=3)
    dy = rng.normal(size=x.shape)
    y, cache = batchnorm2d_forward(x, gamma, beta, eps=1e-3)
    dx, dgamma, dbeta = batchnorm2d_backward(dy, cache)
    yt, (dxt, dgt, dbt) = torch_grad(
        lambda a, g, b: F.batch_norm(a, None, None, g, b, training=True, eps=1e-3),
        x, gamma, beta, dy=dy)
    for ours, theirs in ((y, yt), (dx, dxt), (dgamma, dgt), (dbeta, dbt)):
        close(ours, theirs)
    mean, var = rng.normal(size=3), rng.uniform(0.5, 2.0, 3)
    for xs in (x, x[:, :, 0, 0].copy()):   # (N, C, H, W) and (N, D)
        ref = F.batch_norm(torch.from_numpy(xs), torch.from_numpy(mean), torch.from_numpy(var),
                           torch.from_numpy(gamma), torch.from_numpy(beta), training=False,
                           eps=1e-3)
        close(batchnorm_inference(xs, mean, var, gamma, beta, eps=1e-3), ref)


@pytest.mark.parametrize("cls, torch_cls, shape", [
    (BatchNorm1d, torch.nn.BatchNorm1d, (6, 4)),
    (BatchNorm2d, torch.nn.BatchNorm2d, (3, 4, 2, 3)),
])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_eval_backward_and_affine_false_match_torch(cls, torch_cls, shape, affine):
    rng = np.random.default_rng(6)
    ours = cls(4, affine=affine)
    theirs = torch_cls(4, affine=affine, dtype=torch.float64)
    if affine:
        ours.gamma[:] = rng.uniform(0.5, 2.0, 4)
        ours.beta[:] = rng.normal(size=4)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.gamma))
            theirs.bias.copy_(torch.from_numpy(ours.beta))
    for _ in range(2):   # training steps: running statistics move away from (0, 1)
        x = rng.normal(1.0, 2.0, shape)
        ours(x)
        theirs(torch.from_numpy(x))
    ours.eval()
    theirs.eval()
    forward_backward_close(ours, theirs, rng.normal(1.0, 2.0, shape), rng.normal(size=shape))
    if affine:
        close(ours.dgamma, theirs.weight.grad)
        close(ours.dbeta, theirs.bias.grad)


@pytest.mark.parametrize("bn", [None, "before", "after"])
def test_mlp_matches_the_same_torch_sequential(bn):
    rng = np.random.default_rng(7)
    ours = mlp([5, 6, 4, 3], activation="sigmoid", bn=bn, rng=rng)
    layers = []
    for m in ours:
        name = type(m).__name__
        if name == "Linear":
            lin = torch.nn.Linear(m.in_features, m.out_features, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.weight))
                lin.bias.copy_(torch.from_numpy(m.bias))
            layers.append(lin)
        elif name == "BatchNorm1d":
            layers.append(torch.nn.BatchNorm1d(m.num_features, dtype=torch.float64))
        else:
            layers.append(torch.nn.Sigmoid())
    theirs = torch.nn.Sequential(*layers)
    forward_backward_close(ours, theirs, rng.normal(size=(8, 5)), rng.normal(size=(8, 3)))
    ours_grads = ours.gradients()
    theirs_grads = [p.grad.numpy() for p in theirs.parameters()]
    assert len(ours_grads) == len(theirs_grads)
    for g, gt in zip(ours_grads, theirs_grads):
        close(g, gt)
