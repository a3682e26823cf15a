"""MS-SSIM (Wang, Simoncelli & Bovik, Asilomar 2003) as a distance, with a small-input policy.

Standard definition: 5 scales with exponents (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), the 11×11
Gaussian window with σ = 1.5 and population moments at every scale, K1 = 0.01, K2 = 0.03, data
range 1. Between scales a 2×2 mean followed by keeping every second pixel; an odd side is first
extended by repeating its last row or column (MATLAB ``msssim.m`` pads symmetrically; pytorch-msssim
zero-pads, so the two differ on odd sizes only). Per channel the score is
Π_{j<L} relu(mean cs_j)^w_j × relu(mean SSIM_L)^w_L, as in pytorch-msssim; the channels are then
averaged and the distance is 1 − MS-SSIM.

**Small inputs.** L scales need the coarsest image to be at least as wide as the window:
min(H, W) ≥ 161 px for the standard 5 scales (161, 81, 41, 21, 11; MATLAB refuses below 176,
pytorch-msssim at 160 or below). BAPPS patches are 64×64, so the policy is declared: with ``small_inputs="reduce"`` (the
default) the metric uses the largest L ≤ ``levels`` that fits (3 scales at 64×64: 64, 32, 16 px)
and renormalises the first L exponents to sum to 1; ``small_inputs="error"`` raises instead. The
scales actually used for a given size are returned by ``MSSSIM.scales_for``. Padding images up to
size is deliberately not offered: padding adds structure that was not in the image and changes
the score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from metrics.base import Metric
from metrics.ssim import WANG2004, ssim_components

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def downsample(x: torch.Tensor) -> torch.Tensor:
    """2×2 mean, keeping every second pixel; odd sides repeat their last row/column first.

    Args:
        x: N×C×H×W.

    Returns:
        N×C×⌈H/2⌉×⌈W/2⌉.
    """
    pad_w, pad_h = x.shape[-1] % 2, x.shape[-2] % 2
    if pad_w or pad_h:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return F.avg_pool2d(x, kernel_size=2, stride=2)


def scale_sizes(height: int, width: int, levels: int) -> list[int]:
    """The smaller side at each of ``levels`` scales (ceil halving, as ``downsample`` does)."""
    side, sizes = min(height, width), []
    for _ in range(levels):
        sizes.append(side)
        side = (side + 1) // 2
    return sizes


class MSSSIM(Metric):
    """1 − MS-SSIM over RGB in [0, 1], with a declared small-input policy.

    Args:
        levels: Scales of the definition (5 is the standard one).
        small_inputs: ``"reduce"`` (use the most scales that fit, renormalised exponents) or
            ``"error"``.
        device: Torch device (None: CUDA when available).
        range_check: See ``metrics.base.Metric``.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 11×11.
        - output: (N,).
    """

    min_size = WANG2004.size

    def __init__(self, *, levels: int = 5, small_inputs: str = "reduce", **common: object) -> None:
        super().__init__("ms-ssim", **common)
        if levels not in range(1, len(WEIGHTS) + 1):
            raise ValueError(f"levels must be 1..{len(WEIGHTS)}, got {levels!r}")
        if small_inputs not in ("reduce", "error"):
            raise ValueError(f"small_inputs must be 'reduce' or 'error', got {small_inputs!r}")
        self.levels = levels
        self.small_inputs = small_inputs

    def scales_for(self, height: int, width: int) -> int:
        """Number of scales used for an H×W input under this metric's policy.

        Raises:
            ValueError: When ``small_inputs="error"`` and ``levels`` scales do not fit.
        """
        fitting = sum(1 for s in scale_sizes(height, width, self.levels) if s >= WANG2004.size)
        if fitting < self.levels and self.small_inputs == "error":
            need = WANG2004.size * 2 ** (self.levels - 1) - 2 ** (self.levels - 1) + 1
            raise ValueError(
                f"ms-ssim with {self.levels} scales needs images of at least {need}×{need} "
                f"pixels, got {height}×{width}; use small_inputs='reduce' or fewer levels"
            )
        return fitting

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        levels = self.scales_for(*x0.shape[-2:])
        weights = torch.tensor(WEIGHTS[:levels], dtype=x0.dtype, device=x0.device)
        weights = weights / weights.sum()
        factors = []
        for level in range(levels):
            ssim, cs = ssim_components(x0, x1, WANG2004, data_range=1.0)
            # relu: a negative mean would make a fractional power undefined (pytorch-msssim).
            factors.append(torch.relu(ssim if level == levels - 1 else cs))
            if level < levels - 1:
                x0, x1 = downsample(x0), downsample(x1)
        stacked = torch.stack(factors, dim=0)  # L×N×C
        score = torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean(dim=1)
        return 1.0 - score


def build_ms_ssim(**options: object) -> MSSSIM:
    """Factory for ``"ms-ssim"``."""
    return MSSSIM(**options)
