"""bnlib: the NumPy library behind the batch normalization course.

The public API of the core modules is re-exported here; chapter-specific helpers live in
their own modules (``bnlib.plotting``, ``bnlib.widgets``, ``bnlib.exercises``, ...), which
this package does not import, so ``import bnlib`` stays cheap (NumPy only).
"""
from .batchnorm import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNormCache,
    batchnorm2d_backward,
    batchnorm2d_forward,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
    batchnorm_inference,
    keras_to_torch_momentum,
    update_running_stats,
)
from ._validation import NonFiniteError
from .data import load_digits, phones, rental_bikes
from .gradcheck import gradcheck, numerical_gradient, relative_error
from .nn import (
    SGD,
    History,
    Linear,
    Module,
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
from .practice import (
    fold_batchnorm,
    inference_affine,
    recompute_bn_statistics,
    sync_batchnorm_backward,
    sync_batchnorm_forward,
)
from .nn import Conv2d, Flatten, Unflatten
from .normalization import (
    GroupNorm,
    InstanceNorm2d,
    LayerNorm,
    NormCache,
    RMSNorm,
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
    rmsnorm_backward,
    rmsnorm_forward,
)
from .scaling import MinMaxScaler, StandardScaler, minmax_scale, standardize

__version__ = "0.1.0"

__all__ = [
    # scaling
    "minmax_scale", "standardize", "MinMaxScaler", "StandardScaler",
    # batch normalization
    "BatchNormCache", "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_staged",
    "batchnorm2d_forward", "batchnorm2d_backward", "batchnorm_inference",
    "update_running_stats", "keras_to_torch_momentum", "BatchNorm1d", "BatchNorm2d",
    "NonFiniteError",
    # gradient checking
    "numerical_gradient", "relative_error", "gradcheck",
    # tiny networks
    "Module", "Linear", "ReLU", "Sigmoid", "Tanh", "Sequential", "mlp", "softmax_cross_entropy",
    "SGD", "accuracy", "History", "train", "unit_percentiles",
    # batch normalization in practice
    "inference_affine", "fold_batchnorm", "recompute_bn_statistics",
    "sync_batchnorm_forward", "sync_batchnorm_backward",
    # the normalization family (chapter 6)
    "NormCache", "layernorm_forward", "layernorm_backward", "groupnorm_forward",
    "groupnorm_backward", "instancenorm_forward", "instancenorm_backward", "rmsnorm_forward",
    "rmsnorm_backward", "LayerNorm", "GroupNorm", "InstanceNorm2d", "RMSNorm",
    "Conv2d", "Flatten", "Unflatten",
    # data
    "load_digits", "rental_bikes", "phones",
]
