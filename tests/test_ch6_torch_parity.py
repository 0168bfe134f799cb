"""Chapter 6's modules against PyTorch (CPU), forward and backward, in float64 within 1e-8.

With CI set a missing PyTorch fails instead of skipping (conftest.skip_or_fail).
"""
import numpy as np
import pytest

from conftest import skip_or_fail

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

from bnlib.nn import Conv2d
from bnlib.normalization import (GroupNorm, InstanceNorm2d, LayerNorm, RMSNorm,
                                 groupnorm_forward, layernorm_forward, rmsnorm_forward)

ATOL = 1e-8


@pytest.fixture(autouse=True, scope="module")
def torch_one_thread():
    if torch is None:
        skip_or_fail("PyTorch is not installed; parity tests need the CPU build "
                     "(pip install -r requirements-torch.txt)")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _modules():
    f64 = {"dtype": torch.float64}
    return [
        ("LayerNorm (N, D)", LayerNorm(7), torch.nn.LayerNorm(7, **f64), (6, 7)),
        ("LayerNorm (N, T, D)", LayerNorm(5), torch.nn.LayerNorm(5, **f64), (3, 4, 5)),
        ("LayerNorm (C, H, W)", LayerNorm((4, 3, 3)), torch.nn.LayerNorm((4, 3, 3), **f64),
         (3, 4, 3, 3)),
        ("GroupNorm G=2", GroupNorm(2, 6), torch.nn.GroupNorm(2, 6, **f64), (3, 6, 4, 3)),
        ("GroupNorm G=1", GroupNorm(1, 4), torch.nn.GroupNorm(1, 4, **f64), (2, 4, 3, 3)),
        ("GroupNorm G=C", GroupNorm(4, 4), torch.nn.GroupNorm(4, 4, **f64), (2, 4, 3, 3)),
        ("InstanceNorm2d", InstanceNorm2d(3), torch.nn.InstanceNorm2d(3, **f64), (2, 3, 4, 5)),
        ("InstanceNorm2d affine", InstanceNorm2d(3, affine=True),
         torch.nn.InstanceNorm2d(3, affine=True, **f64), (2, 3, 4, 5)),
        ("RMSNorm", RMSNorm(6), torch.nn.RMSNorm(6, **f64), (3, 4, 6)),
        ("RMSNorm eps", RMSNorm((2, 6), eps=1e-3), torch.nn.RMSNorm((2, 6), eps=1e-3, **f64),
         (3, 2, 6)),
    ]


def _copy_params(ours, theirs, rng):
    if ours.gamma is None:
        return
    ours.gamma[:] = rng.uniform(0.5, 2.0, ours.gamma.shape)
    if ours.beta is not None:
        ours.beta[:] = rng.normal(size=ours.beta.shape)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.gamma))
        if ours.beta is not None:
            theirs.bias.copy_(torch.from_numpy(ours.beta))


def max_diffs(ours, theirs, shape, seed=0):
    """Max abs differences (forward, dx, dgamma, dbeta) between bnlib and torch, float64."""
    rng = np.random.default_rng(seed)
    _copy_params(ours, theirs, rng)
    x = 3.0 + 2.0 * rng.standard_normal(shape)
    dy = rng.standard_normal(shape)
    y = ours(x)
    dx = ours.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(dy))
    out = {"forward": np.abs(y - yt.detach().numpy()).max(),
           "dx": np.abs(dx - xt.grad.numpy()).max()}
    if ours.gamma is not None:
        out["dgamma"] = np.abs(ours.dgamma - theirs.weight.grad.numpy()).max()
    if ours.beta is not None:
        out["dbeta"] = np.abs(ours.dbeta - theirs.bias.grad.numpy()).max()
    return out


@pytest.mark.parametrize("index", range(10))
def test_module_matches_torch_forward_and_backward(index):
    name, ours, theirs, shape = _modules()[index]
    diffs = max_diffs(ours, theirs, shape)
    assert len(diffs) == 2 + (ours.gamma is not None) + (ours.beta is not None)
    for what, diff in diffs.items():
        assert diff < ATOL, (name, what, diff)


def test_functional_forms_match_torch_functional():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 3, 3))
    g = rng.uniform(0.5, 2.0, 6)
    b = rng.normal(size=6)
    xt, gt, bt = (torch.from_numpy(a) for a in (x, g, b))
    F = torch.nn.functional
    pairs = [
        (groupnorm_forward(x, 3, g, b)[0], F.group_norm(xt, 3, gt, bt, 1e-5)),
        (layernorm_forward(x, (3, 3))[0], F.layer_norm(xt, (3, 3))),
        (rmsnorm_forward(x, 3)[0], F.rms_norm(xt, (3,))),
        (rmsnorm_forward(x.astype(np.float32), 3)[0], F.rms_norm(xt.float(), (3,))),
    ]
    for ours, theirs in pairs[:3]:
        assert np.abs(ours - theirs.numpy()).max() < ATOL
    # float32 with eps=None: both use float32's machine epsilon; float32 rounding only
    assert np.abs(pairs[3][0] - pairs[3][1].numpy()).max() < 1e-5


@pytest.mark.parametrize("kernel, stride, padding, bias", [
    (3, 1, 1, True), (3, 2, 1, True), ((2, 3), (2, 1), (0, 2), False)])
def test_conv2d_matches_torch(kernel, stride, padding, bias):
    rng = np.random.default_rng(2)
    ours = Conv2d(3, 5, kernel, stride=stride, padding=padding, bias=bias, rng=rng)
    theirs = torch.nn.Conv2d(3, 5, kernel, stride=stride, padding=padding, bias=bias,
                             dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight))
        if bias:
            ours.bias[:] = rng.normal(size=5)
            theirs.bias.copy_(torch.from_numpy(ours.bias))
    x = rng.normal(size=(2, 3, 7, 6))
    y = ours(x)
    dy = rng.standard_normal(y.shape)
    dx = ours.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    yt.backward(torch.from_numpy(dy))
    assert y.shape == tuple(yt.shape)
    assert np.abs(y - yt.detach().numpy()).max() < ATOL
    assert np.abs(dx - xt.grad.numpy()).max() < ATOL
    assert np.abs(ours.dweight - theirs.weight.grad.numpy()).max() < ATOL
    if bias:
        assert np.abs(ours.dbias - theirs.bias.grad.numpy()).max() < ATOL
