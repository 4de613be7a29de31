"""A 2-D convolution written by hand (to check against ``torch.nn.functional.conv2d``) and the
receptive field of a stack of convolution and pooling layers.

Deep-learning "convolution" is cross-correlation: the kernel is slid over the image without being
flipped, and each output pixel is the sum of the elementwise product of kernel and image patch.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(value[0]), int(value[1])


def _prepare(x: torch.Tensor, weight: torch.Tensor, bias, stride, padding):
    """Check the arguments; return the zero-padded input ``(N, C_in, H + 2ph, W + 2pw)``, the zero
    output ``(N, C_out, H_out, W_out)`` to fill, the strides and the kernel size."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor of shape (N, C_in, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    if not isinstance(weight, torch.Tensor) or weight.ndim != 4:
        raise ValueError(f"weight must be a tensor of shape (C_out, C_in, kH, kW), got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight expects {weight.shape[1]} input channels but x has {x.shape[1]}")
    if bias is not None and (not isinstance(bias, torch.Tensor) or bias.shape != (weight.shape[0],)):
        raise ValueError(f"bias must be a tensor of shape ({weight.shape[0]},)")
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, got stride={stride}, padding={padding}")
    kh, kw = weight.shape[2:]
    out_h, out_w = (x.shape[2] + 2 * ph - kh) // sh + 1, (x.shape[3] + 2 * pw - kw) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"kernel {kh}x{kw} is larger than the padded input {x.shape[2] + 2 * ph}x{x.shape[3] + 2 * pw}")
    return F.pad(x, (pw, pw, ph, ph)), x.new_zeros(x.shape[0], weight.shape[0], out_h, out_w), (sh, sw), (kh, kw)


def _add_bias(out: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def conv2d_loops(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0) -> torch.Tensor:
    """The definition, one output pixel at a time (slow: for small inputs and for reading).

    ``out[n, o, i, j] = bias[o] + sum_{c, u, v} x_pad[n, c, i*sh + u, j*sw + v] * weight[o, c, u, v]``

    Args:
        x: ``(N, C_in, H, W)``; weight: ``(C_out, C_in, kH, kW)``; bias: ``(C_out,)`` or ``None``.
        stride, padding: an int or ``(vertical, horizontal)``; padding adds zeros on every side.

    Returns:
        ``(N, C_out, H_out, W_out)`` with ``H_out = (H + 2*ph - kH) // sh + 1`` (same for W).
    """
    x_pad, out, (sh, sw), (kh, kw) = _prepare(x, weight, bias, stride, padding)
    out_h, out_w = out.shape[2:]
    for i in range(out_h):
        for j in range(out_w):
            patch = x_pad[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]         # (N, C_in, kH, kW)
            out[:, :, i, j] = (patch[:, None] * weight[None]).sum(dim=(2, 3, 4))  # (N, C_out)
    return _add_bias(out, bias)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0) -> torch.Tensor:
    """The same convolution, organised as "shift and add": one loop over the kH x kW kernel
    offsets, each a matrix product over channels of a shifted view of the whole image.

    Same arguments, shapes and result as :func:`conv2d_loops` (and ``F.conv2d``), but fast enough
    for real batches: ``kH * kW`` tensor operations instead of ``H_out * W_out``.
    """
    x_pad, out, (sh, sw), (kh, kw) = _prepare(x, weight, bias, stride, padding)
    out_h, out_w = out.shape[2:]
    for u in range(kh):
        for v in range(kw):
            # every output pixel's (u, v) neighbour at once: (N, C_in, H_out, W_out)
            shifted = x_pad[:, :, u:u + sh * (out_h - 1) + 1:sh, v:v + sw * (out_w - 1) + 1:sw]
            out += torch.einsum("nchw,oc->nohw", shifted, weight[:, :, u, v])
    return _add_bias(out, bias)


def receptive_field(layers: Sequence[tuple[int, int]]) -> list[int]:
    """Receptive-field size (in input pixels, along one axis) after each layer of a stack.

    Args:
        layers: ``(kernel_size, stride)`` per layer, e.g. ``[(3, 1), (2, 2), (3, 1)]`` for
            conv3x3 -> maxpool2x2 -> conv3x3 (dilation 1).

    Returns:
        One size per layer: ``r_l = r_{l-1} + (k_l - 1) * j_{l-1}``, where the "jump"
        ``j_l = j_{l-1} * s_l`` is the distance in input pixels between neighbouring units of layer l.

    >>> receptive_field([(3, 1), (2, 2), (3, 1)])
    [3, 4, 8]
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError("layers must be a sequence of (kernel_size, stride) pairs")
    size, jump, sizes = 1, 1, []
    for index, layer in enumerate(layers):
        kernel, stride = _pair(tuple(layer) if isinstance(layer, list) else layer, f"layers[{index}]")
        if kernel < 1 or stride < 1:
            raise ValueError(f"layers[{index}]: kernel and stride must be >= 1, got {layer}")
        size += (kernel - 1) * jump
        jump *= stride
        sizes.append(size)
    return sizes
