"""Pixel-wise baselines: L2 (RGB and Lab) and PSNR.

``l2`` and ``l2-lab`` are the two colour spaces of the official LPIPS "L2" baseline
(shared/reference/lpips-bapps.md §3.3): 0.5·mean(((a − b)/R)²) with R the data range (1 for RGB in
[0, 1], 100 for Lab). The official code first truncates its images to 8-bit levels; pass
``quantize=True`` to do the same. ``psnr`` returns −PSNR so that, like every metric here, lower
means more similar.
"""

from __future__ import annotations

import torch

from metrics.base import Metric
from metrics.color import quantize_8bit, rgb_to_lab


class L2(Metric):
    """Half the mean squared difference, in RGB or Lab.

    Args:
        name: ``"l2"`` (RGB in [0, 1]) or ``"l2-lab"`` (CIE Lab divided by 100).
        quantize: Truncate inputs to 8-bit levels first, as the official baseline does.
        device: Torch device (None: CUDA when available).
        range_check: See ``metrics.base.Metric``.

    Shape:
        - x0, x1: N×3×H×W in [0, 1].
        - output: (N,).
    """

    def __init__(self, name: str, *, quantize: bool = False, **common: object) -> None:
        super().__init__(name, **common)
        self.lab = name == "l2-lab"
        self.quantize = quantize

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if self.quantize:
            x0, x1 = quantize_8bit(x0), quantize_8bit(x1)
        if self.lab:
            x0, x1 = rgb_to_lab(x0) / 100.0, rgb_to_lab(x1) / 100.0
        return 0.5 * (x0 - x1).square().mean(dim=(1, 2, 3))


class PSNR(Metric):
    """Negative peak signal-to-noise ratio in dB, with peak 1.

    ``-10·log10(1 / MSE)`` with the MSE over all pixels and channels; identical images give −inf.

    Shape:
        - x0, x1: N×3×H×W in [0, 1].
        - output: (N,).
    """

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        mse = (x0 - x1).square().mean(dim=(1, 2, 3))
        return 10.0 * torch.log10(mse)


def build_l2(**options: object) -> L2:
    """Factory for ``"l2"``."""
    return L2("l2", **options)


def build_l2_lab(**options: object) -> L2:
    """Factory for ``"l2-lab"``."""
    return L2("l2-lab", **options)


def build_psnr(**options: object) -> PSNR:
    """Factory for ``"psnr"``."""
    return PSNR("psnr", **options)
