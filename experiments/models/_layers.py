"""Small torch building blocks shared by the model kinds (imported lazily, with torch)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``none`` | ``batch`` | ``instance`` (affine) | ``group`` (4 groups) normalisation."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(4, channels)
    return nn.Identity()


def activation(kind: str) -> nn.Module:
    """``relu`` or ``leaky_relu`` (slope 0.2, as in pix2pix-style generators)."""
    return nn.LeakyReLU(0.2) if kind == "leaky_relu" else nn.ReLU()


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Replicate-pad the bottom/right of N×C×H×W so H and W are multiples of ``multiple`` and at
    least ``2 * multiple`` (so instance norm never sees a 1×1 map). Returns the padded tensor and
    the original H, W."""
    h, w = x.shape[-2:]
    target_h = max(math.ceil(h / multiple) * multiple, 2 * multiple)
    target_w = max(math.ceil(w / multiple) * multiple, 2 * multiple)
    if (target_h, target_w) == (h, w):
        return x, h, w
    return F.pad(x, (0, target_w - w, 0, target_h - h), mode="replicate"), h, w


def luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of N×3×H×W → N×1×H×W."""
    weights = x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


def pink_field(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Unit-variance Gaussian noise with PSD ∝ 1/|f| per N×C plane (DC removed), on CPU."""
    *_, h, w = shape
    white = torch.randn(shape, generator=generator)
    fy = torch.fft.fftfreq(h).view(-1, 1)
    fx = torch.fft.rfftfreq(w).view(1, -1)
    radius = torch.sqrt(fy * fy + fx * fx)
    radius[0, 0] = 1.0
    gain = radius.pow(-0.5)
    gain[0, 0] = 0.0
    field = torch.fft.irfft2(torch.fft.rfft2(white) * gain, s=(h, w))
    field = field - field.mean(dim=(-2, -1), keepdim=True)
    return field / field.std(dim=(-2, -1), keepdim=True)


def corrupt(
    x: torch.Tensor, kind: str, strength: float, generator: torch.Generator
) -> torch.Tensor:
    """Input corruption of a denoising autoencoder (paper §2.1), on N×3×H×W CPU tensors in [0, 1].

    ``none``: identity; ``white_noise`` / ``pink_noise``: add noise of std ``strength``;
    ``color_removal``: replace RGB by luma; ``downsampling``: average-pool by ``strength`` (2 or
    4) and upsample bilinearly back.
    """
    if kind == "white_noise":
        return x + strength * torch.randn(x.shape, generator=generator)
    if kind == "pink_noise":
        return x + strength * pink_field(tuple(x.shape), generator)
    if kind == "color_removal":
        return luma(x).expand_as(x)
    if kind == "downsampling":
        factor = int(strength)
        small = F.avg_pool2d(x, factor, ceil_mode=True)
        return F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return x


def random_crops(
    data: torch.Tensor, count: int, size: int, generator: torch.Generator
) -> torch.Tensor:
    """``count`` random ``size × size`` crops of random images of an N×C×H×W stack (CPU)."""
    n, _, h, w = data.shape
    size = min(size, h, w)
    index = torch.randint(n, (count,), generator=generator)
    tops = torch.randint(h - size + 1, (count,), generator=generator)
    lefts = torch.randint(w - size + 1, (count,), generator=generator)
    return torch.stack(
        [
            data[i, :, t : t + size, left : left + size]
            for i, t, left in zip(index.tolist(), tops.tolist(), lefts.tolist(), strict=True)
        ]
    )
