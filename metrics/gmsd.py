"""GMSD and MS-GMSD: gradient magnitude similarity deviation, single- and multi-scale.

**GMSD** (Xue, Zhang, Mou & Bovik, "Gradient Magnitude Similarity Deviation: A Highly Efficient
Perceptual Image Quality Index", IEEE TIP 2014, and the authors' ``GMSD.m``):

1. RGB in [0, 1] → luma Y = 0.299 R + 0.587 G + 0.114 B on the 0–255 scale.
2. A 2×2 mean keeping every second pixel (the paper's viewing-distance step; an odd side is
   zero-padded at its end, as MATLAB's ``conv2(..., 'same')`` does).
3. Gradient magnitudes m with the Prewitt kernels [1 0 −1]/3 (zero padding), the similarity map
   GMS = (2·m0·m1 + T)/(m0² + m1² + T), T = 170.
4. GMSD = the standard deviation of the GMS map. It is a distance already: 0 for identical images,
   larger is worse. The population standard deviation is used, as piq does (MATLAB's ``std2``
   divides by N − 1: a factor √(N/(N−1)), 1.0005 at 64×64).

**MS-GMSD** (Zhang, Sander & Bermak, "Gradient magnitude similarity deviation on multiple scales
for color image quality assessment", ICASSP 2017): GMSD with the masking term α = 0.5,
GMS_α = ((2 − α)·m0·m1 + T)/(m0² + m1² − α·m0·m1 + T), at 4 scales (full resolution, then 2×2
means), pooled as √(Σ_j w_j·GMSD_j²) with w = (0.096, 0.596, 0.289, 0.019). With
``chromatic=True`` (MS-GMSDc) the chroma RMSE c of the YIQ I and Q channels at the coarsest scale
is blended in: γ·MS + (1 − γ)·β1·c with γ = 2/(1 + β2·exp(−β3·MS)) − 1, β1 = 0.01, β2 = 0.32,
β3 = 15 (piq's convention; YIQ with the four-digit NTSC matrix).

**Small inputs.** GMSD needs 4 px (2 px after halving, so the gradient has a neighbour); 64×64
patches are scored at 32×32, as the definition says. MS-GMSD needs 17 px so its 4th scale is
still 3 px wide (17 → 9 → 5 → 3); below that it raises, naming the size. Neither metric rescales
large images beyond what the definitions say.
"""

from __future__ import annotations

import torch

from metrics._zoo_ops import (
    PREWITT_X,
    YIQ_FROM_RGB,
    gradient_magnitude,
    halve,
    luma,
    mix,
    similarity,
)
from metrics.base import Metric

T = 170.0
MS_WEIGHTS = (0.096, 0.596, 0.289, 0.019)
MS_ALPHA = 0.5
BETA1, BETA2, BETA3 = 0.01, 0.32, 15.0


def _deviation(y0: torch.Tensor, y1: torch.Tensor, alpha: float = 0.0) -> torch.Tensor:
    """Population standard deviation of the GMS map of two N×1×H×W lumas (0–255), shape (N,)."""
    both = gradient_magnitude(torch.cat((y0, y1)), PREWITT_X, 3.0)
    m0, m1 = both.chunk(2)
    gms = similarity(m0, m1, T, alpha)
    return gms.flatten(1).std(dim=1, correction=0)


def gmsd(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """GMSD per image for N×3×H×W RGB in [0, 1]; shape (N,)."""
    y0, y1 = halve(luma(x0) * 255.0), halve(luma(x1) * 255.0)
    return _deviation(y0, y1)


def ms_gmsd(x0: torch.Tensor, x1: torch.Tensor, *, chromatic: bool = False) -> torch.Tensor:
    """MS-GMSD (or MS-GMSDc) per image for N×3×H×W RGB in [0, 1]; shape (N,)."""
    if chromatic:
        a, b = mix(x0 * 255.0, YIQ_FROM_RGB), mix(x1 * 255.0, YIQ_FROM_RGB)
    else:
        a, b = luma(x0) * 255.0, luma(x1) * 255.0
    total = torch.zeros(x0.shape[0], dtype=x0.dtype, device=x0.device)
    for scale, weight in enumerate(MS_WEIGHTS):
        if scale:
            a, b = halve(a), halve(b)
        total = total + weight * _deviation(a[:, :1], b[:, :1], MS_ALPHA) ** 2
    score = total.sqrt()
    if not chromatic:
        return score
    chroma = (a[:, 1:] - b[:, 1:]).square().mean(dim=(2, 3)).sum(dim=1).sqrt()
    gamma = 2.0 / (1.0 + BETA2 * torch.exp(-BETA3 * score)) - 1.0
    return gamma * score + (1.0 - gamma) * BETA1 * chroma


class GMSD(Metric):
    """GMSD (a distance: 0 for identical images) on the luma of RGB in [0, 1].

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 4×4.
        - output: (N,).
    """

    min_size = 4

    def __init__(self, **common: object) -> None:
        super().__init__("gmsd", **common)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return gmsd(x0, x1)


class MSGMSD(Metric):
    """MS-GMSD (a distance: 0 for identical images); ``chromatic=True`` for MS-GMSDc.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 17×17 (4 scales).
        - output: (N,).
    """

    min_size = 17

    def __init__(self, *, chromatic: bool = False, **common: object) -> None:
        super().__init__("ms-gmsd", **common)
        if chromatic not in (False, True):
            raise ValueError(f"chromatic must be True or False, got {chromatic!r}")
        self.chromatic = bool(chromatic)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return ms_gmsd(x0, x1, chromatic=self.chromatic)


def build_gmsd(**options: object) -> GMSD:
    """Factory for ``"gmsd"``."""
    return GMSD(**options)


def build_ms_gmsd(**options: object) -> MSGMSD:
    """Factory for ``"ms-gmsd"``."""
    return MSGMSD(**options)
