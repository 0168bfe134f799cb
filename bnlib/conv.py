"""2-D convolution by im2col in NumPy (the core of :class:`bnlib.nn.Conv2d`).

``im2col`` unfolds every kh x kw window of a padded (N, C, H, W) batch into a row, so the
convolution becomes one matrix product; ``col2im`` adds the rows back into an image (the
adjoint, used by the backward pass). Cross-correlation, as PyTorch's ``conv2d``.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validation import as_float_array

__all__ = ["pair", "output_size", "im2col", "col2im", "conv2d_forward", "conv2d_backward"]


def pair(value, name: str, func: str, minimum: int) -> tuple:
    """An int or a pair of ints as a pair ``(h, w)``, each >= minimum."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value), int(value))
    else:
        try:
            out = tuple(int(v) for v in value)
        except TypeError:
            out = ()
        if len(out) != 2:
            raise ValueError(f"{func}: {name} is {value!r}; expected an int or a pair of ints")
    if min(out) < minimum:
        raise ValueError(f"{func}: {name} is {value!r}; expected values >= {minimum}")
    return out


def output_size(h, w, kernel, stride, padding) -> tuple:
    """(H_out, W_out) = floor((H + 2 p - k) / s) + 1 for each of the two dimensions."""
    return ((h + 2 * padding[0] - kernel[0]) // stride[0] + 1,
            (w + 2 * padding[1] - kernel[1]) // stride[1] + 1)


def im2col(x, kernel, stride, padding) -> np.ndarray:
    """x (N, C, H, W) -> windows (N, H_out, W_out, C, kh, kw) (a new array).

    Reshape to (N * H_out * W_out, C * kh * kw) for the matrix product with a weight of shape
    (out, C, kh, kw) reshaped to (out, C * kh * kw).
    """
    (ph, pw), (sh, sw) = padding, stride
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    win = sliding_window_view(xp, kernel, axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, kh, kw)
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5))


def col2im(cols, x_shape, kernel, stride, padding) -> np.ndarray:
    """The adjoint of :func:`im2col`: cols (N, H_out, W_out, C, kh, kw) -> (N, C, H, W),
    adding every window's values back at the positions it was read from."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = cols.shape[1:3]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    win = cols.transpose(0, 3, 1, 2, 4, 5)  # (N, C, Ho, Wo, kh, kw)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += win[..., i, j]
    return out[:, :, ph:ph + h, pw:pw + w]


def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d(x, weight, bias, stride, padding)``.

    x: (N, C, H, W) float. weight: (out, C, kh, kw). bias: (out,) or None.
    stride, padding: an int or a pair. Returns y (N, out, H_out, W_out) and a cache for
    :func:`conv2d_backward`.
    """
    func = "conv2d_forward"
    x = as_float_array(x, func, "x", "(N, C, H, W)", ndim=4)
    w = as_float_array(weight, func, "weight", "(out_channels, C, kh, kw)", ndim=4)
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"{func}: x has shape {x.shape} with {x.shape[1]} channels but weight "
                         f"has shape {w.shape}; expected x of shape (N, {w.shape[1]}, H, W)")
    stride = pair(stride, "stride", func, 1)
    padding = pair(padding, "padding", func, 0)
    kernel = w.shape[2:]
    ho, wo = output_size(x.shape[2], x.shape[3], kernel, stride, padding)
    if ho < 1 or wo < 1:
        raise ValueError(f"{func}: x has shape {x.shape}, too small for a {kernel} kernel with "
                         f"padding {padding}; expected H + 2 * padding >= kh (and the same for W)")
    cols = im2col(x, kernel, stride, padding).reshape(x.shape[0] * ho * wo, -1)
    y = cols @ w.reshape(w.shape[0], -1).T
    if bias is not None:
        y += bias
    y = y.reshape(x.shape[0], ho, wo, w.shape[0]).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(y), (cols, x.shape, w, stride, padding, bias is not None)


def conv2d_backward(dy, cache):
    """Backward pass of :func:`conv2d_forward`.

    dy: (N, out, H_out, W_out). Returns dx (N, C, H, W), dweight (out, C, kh, kw) and dbias
    (out,) (None without bias).
    """
    cols, x_shape, w, stride, padding, has_bias = cache
    n, o = x_shape[0], w.shape[0]
    g = np.asarray(dy).transpose(0, 2, 3, 1).reshape(-1, o)  # (N * Ho * Wo, out)
    dweight = (g.T @ cols).reshape(w.shape)
    dbias = g.sum(axis=0) if has_bias else None
    dcols = (g @ w.reshape(o, -1)).reshape(n, dy.shape[2], dy.shape[3], *w.shape[1:])
    dx = col2im(dcols, x_shape, w.shape[2:], stride, padding)
    return dx, dweight, dbias
