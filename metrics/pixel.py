"""Pixel-wise baselines: L2 (RGB and Lab) and PSNR.

The official LPIPS "L2" baseline (the official code's ``lpips.L2``) has two colour spaces:

- Lab (its default): images truncated to 8 bits, converted to CIE Lab, then
  0.5·mean(((Lab0 − Lab1)/100)²). ``l2-lab`` computes this; pass ``quantize=True`` for the 8-bit
  truncation too, exactly as the official code computes it (its float32 round trip lowers 63 of
  the 256 levels by one: ``metrics.color.official_8bit``), ``quantize="floor"`` for the clean
  floor(255·x)/255, or leave it off to score the float images as given.
- RGB: mean((in0 − in1)²) on the [-1, 1] tensors, no truncation. ``l2`` is the plain mean squared
  error on [0, 1], a quarter of that, with the same ranking.

``psnr`` returns −PSNR so that, like every metric here, lower means more similar.
"""

from __future__ import annotations

import torch

from metrics.base import Metric
from metrics.color import apply_quantize, check_quantize, rgb_to_lab


class L2(Metric):
    """Mean squared difference over RGB in [0, 1].

    Shape:
        - x0, x1: N×3×H×W in [0, 1].
        - output: (N,).
    """

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return (x0 - x1).square().mean(dim=(1, 2, 3))


class L2Lab(Metric):
    """The official Lab L2 baseline: 0.5·mean(((Lab0 − Lab1)/100)²).

    Args:
        quantize: 8-bit levels first: True/"official" as the official baseline computes them
            (``metrics.color.official_8bit``), "floor" for floor(255·x)/255, False to score as given.
        device: Torch device (None: CUDA when available).
        range_check: See ``metrics.base.Metric``.

    Shape:
        - x0, x1: N×3×H×W RGB in [0, 1].
        - output: (N,).
    """

    def __init__(self, *, quantize: bool | str = False, **common: object) -> None:
        super().__init__("l2-lab", **common)
        self.quantize = check_quantize(quantize)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        x0, x1 = apply_quantize(x0, self.quantize), apply_quantize(x1, self.quantize)
        lab0, lab1 = rgb_to_lab(x0) / 100.0, rgb_to_lab(x1) / 100.0
        return 0.5 * (lab0 - lab1).square().mean(dim=(1, 2, 3))


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


def build_l2_lab(**options: object) -> L2Lab:
    """Factory for ``"l2-lab"``."""
    return L2Lab(**options)


def build_psnr(**options: object) -> PSNR:
    """Factory for ``"psnr"``."""
    return PSNR("psnr", **options)
