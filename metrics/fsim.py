"""FSIM and FSIMc (Zhang, Zhang, Mou & Zhang, IEEE TIP 2011) as distances, 1 − FSIM(c).

Follows the authors' reference ``FeatureSIM.m`` with its ``phasecong2`` (Zhang, Zhang, Mou &
Zhang, "FSIM: A Feature Similarity Index for Image Quality Assessment", IEEE TIP 2011):

1. RGB in [0, 1] is scaled to 0–255 and converted to YIQ.
2. Images are downsampled by F = max(1, round(min(H, W)/256)): an F×F mean with the zero padding of
   MATLAB's ``conv2(..., 'same')``, keeping every F-th pixel. F = 1 below 384 px, so BAPPS patches
   are used as they are.
3. Phase congruency PC of both lumas (``metrics.phase_congruency``) and gradient magnitude G from the
   Scharr kernels [3 0 −3; 10 0 −10; 3 0 −3]/16 with zero padding.
4. S_PC = (2·PC1·PC2 + T1)/(PC1² + PC2² + T1), S_G likewise with T2; T1 = 0.85, T2 = 160.
   FSIM = Σ S_PC·S_G·PC_m / Σ PC_m with PC_m = max(PC1, PC2).
5. FSIMc multiplies in real((S_I·S_Q)^λ), λ = 0.03, T3 = T4 = 200, on the I and Q channels. The
   real part of a fractional power of a negative number is what MATLAB computes; piq and pyiqa
   take abs() instead, which differs only where S_I·S_Q < 0.

Computed in float64 (the reference is MATLAB double precision); returned in the input's dtype.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from metrics.base import Metric
from metrics.color import rgb_to_yiq
from metrics.phase_congruency import phase_congruency

T1, T2, T3, T4 = 0.85, 160.0, 200.0, 200.0
LAMBDA = 0.03
_SCHARR_X = ((3.0, 0.0, -3.0), (10.0, 0.0, -10.0), (3.0, 0.0, -3.0))


def downsample_factor(height: int, width: int) -> int:
    """F = max(1, round(min(H, W)/256)), rounding halves up as MATLAB does."""
    return max(1, math.floor(min(height, width) / 256 + 0.5))


def _downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """MATLAB ``conv2(x, ones(F)/F², 'same')`` then ``x(1:F:end, 1:F:end)``, for N×C×H×W."""
    if factor == 1:
        return x
    before, after = factor - 1 - factor // 2, factor // 2
    padded = F.pad(x, (before, after, before, after))
    return F.avg_pool2d(padded, kernel_size=factor, stride=factor, ceil_mode=False)


def _gradient_magnitude(luma: torch.Tensor) -> torch.Tensor:
    """Scharr gradient magnitude with zero padding, N×H×W → N×H×W."""
    kx = torch.tensor(_SCHARR_X, dtype=luma.dtype, device=luma.device) / 16.0
    kernels = torch.stack((kx, kx.t())).unsqueeze(1)  # 2×1×3×3
    # conv2d correlates while MATLAB's conv2 convolves; the magnitude is the same either way.
    g = F.conv2d(luma.unsqueeze(1), kernels, padding=1)
    return torch.sqrt(g[:, 0] ** 2 + g[:, 1] ** 2)


def _similarity(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return (2.0 * a * b + t) / (a * a + b * b + t)


def fsim(x0: torch.Tensor, x1: torch.Tensor, *, chromatic: bool) -> torch.Tensor:
    """FSIM or FSIMc per image.

    Args:
        x0: N×3×H×W RGB in [0, 1].
        x1: Same shape.
        chromatic: Return FSIMc instead of FSIM.

    Returns:
        Tensor of shape (N,) in [0, 1], float64.
    """
    yiq0 = rgb_to_yiq(x0.double() * 255.0)
    yiq1 = rgb_to_yiq(x1.double() * 255.0)
    factor = downsample_factor(*x0.shape[-2:])
    yiq0, yiq1 = _downsample(yiq0, factor), _downsample(yiq1, factor)
    y0, y1 = yiq0[:, 0], yiq1[:, 0]
    pcs = phase_congruency(torch.cat((y0, y1)))
    pc0, pc1 = pcs.chunk(2)
    grads = _gradient_magnitude(torch.cat((y0, y1)))
    g0, g1 = grads.chunk(2)
    pc_max = torch.maximum(pc0, pc1)
    sim = _similarity(pc0, pc1, T1) * _similarity(g0, g1, T2)
    if chromatic:
        s_iq = _similarity(yiq0[:, 1], yiq1[:, 1], T3) * _similarity(yiq0[:, 2], yiq1[:, 2], T4)
        # real(z^λ) for real z: |z|^λ·cos(λπ) where z < 0.
        sim = sim * torch.where(
            s_iq >= 0, s_iq.abs() ** LAMBDA, s_iq.abs() ** LAMBDA * math.cos(LAMBDA * math.pi)
        )
    weight = pc_max.sum(dim=(1, 2))
    weighted = (sim * pc_max).sum(dim=(1, 2))
    # Images without any phase structure (e.g. flat patches) give 0/0; their FSIM falls back to
    # the unweighted mean of the similarity map.
    return torch.where(weight > 0, weighted / weight.clamp_min(1e-300), sim.mean(dim=(1, 2)))


class FSIM(Metric):
    """1 − FSIM (luma) or 1 − FSIMc (with chroma).

    Args:
        name: ``"fsim"`` or ``"fsimc"``.
        device: Torch device (None: CUDA when available).
        range_check: See ``metrics.base.Metric``.

    Shape:
        - x0, x1: N×3×H×W RGB in [0, 1], at least 8×8.
        - output: (N,), in the input's dtype.
    """

    min_size = 8

    def __init__(self, name: str, **common: object) -> None:
        super().__init__(name, **common)
        self.chromatic = name == "fsimc"

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return (1.0 - fsim(x0, x1, chromatic=self.chromatic)).to(x0.dtype)


def build_fsim(**options: object) -> FSIM:
    """Factory for ``"fsim"``."""
    return FSIM("fsim", **options)


def build_fsimc(**options: object) -> FSIM:
    """Factory for ``"fsimc"``."""
    return FSIM("fsimc", **options)
