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
