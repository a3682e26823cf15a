"""DSS, the DCT subband similarity index, as the distance 1 − DSS.

Balanov, Schwartz, Moshe & Huleihel, "Image quality assessment based on DCT subband similarity",
ICIP 2015, with piq's conventions:

1. RGB in [0, 1] → luma Y = 0.299 R + 0.587 G + 0.114 B on the 0–255 scale, cropped at the
   bottom and right to a multiple of 8.
2. The orthonormal 8×8 block DCT-II. Subband (m, n) is coefficient (m, n) of every block: an
   (H/8)×(W/8) map.
3. Subband weights w(m, n) = exp(−((m + ½)² + (n + ½)²)/(2·1.55²)); those below 0.01 are dropped
   (26 of the 64 remain) and the rest normalised to sum 1.
4. Per subband, local variances with a 3×3 Gaussian window (σ = 1.5, zero border):
   (2·√(σ_x²σ_y²) + c)/(σ_x² + σ_y² + c), c = 1000 for the DC subband and 300 for the others,
   pooled as the mean of its lowest 5 % of values (round(0.05·count) of them, at least one);
   the DC subband also multiplies in the same pooling of (σ_xy + c)/(√(σ_x²σ_y²) + c).
5. DSS = Σ w(m, n)·sim(m, n).

piq adds float eps to every normalised weight (at most 26·eps to DSS, 3e-6 in float32); this
module does not.

**Distance.** 1 − DSS: 0 for identical images, up to 1 (and above for anti-correlated DC).

**Small inputs.** One 8×8 block is the least (min 8×8 px): below 8×8 px no DCT subband exists and
the metric raises. The 5 % pooling takes at least one value, so small images score (piq returns
NaN when round(0.05·count) is 0, i.e. below about 32×32 px); 64×64 patches give 8×8 subbands,
pooled over their 3 lowest values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from metrics._zoo_ops import gaussian_kernel, luma
from metrics.base import Metric

BLOCK = 8
SIGMA_WEIGHT = 1.55
WEIGHT_THRESHOLD = 0.01
WINDOW, SIGMA_WINDOW = 3, 1.5
PERCENTILE = 0.05
C_DC, C_AC = 1000.0, 300.0


def _dct_matrix(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The orthonormal DCT-II matrix of size 8 (rows: frequencies)."""
    k = torch.arange(BLOCK, dtype=torch.float64)[:, None]
    i = torch.arange(BLOCK, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * BLOCK)) * math.sqrt(2.0 / BLOCK)
    d[0] /= math.sqrt(2.0)
    return d.to(dtype=dtype, device=device)


def subband_weights() -> list[tuple[int, int, float]]:
    """(m, n, normalised weight) of the subbands DSS uses."""
    raw = [
        (m, n, math.exp(-((m + 0.5) ** 2 + (n + 0.5) ** 2) / (2 * SIGMA_WEIGHT**2)))
        for m in range(BLOCK)
        for n in range(BLOCK)
    ]
    kept = [(m, n, w) for m, n, w in raw if w >= WEIGHT_THRESHOLD]
    total = sum(w for _, _, w in kept)
    return [(m, n, w / total) for m, n, w in kept]


def _lowest_mean(maps: torch.Tensor) -> torch.Tensor:
    """Mean of the lowest 5 % of each map's values (at least one); maps N×K×h×w -> N×K."""
    flat = maps.flatten(2)
    k = max(1, round(PERCENTILE * flat.shape[-1]))
    return flat.topk(k, dim=-1, largest=False).values.mean(dim=-1)


def dss(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """DSS per image for N×3×H×W RGB in [0, 1]; shape (N,)."""
    n = x0.shape[0]
    y = luma(torch.cat((x0, x1)))[:, 0] * 255.0
    hb, wb = y.shape[-2] // BLOCK, y.shape[-1] // BLOCK
    blocks = y[:, : hb * BLOCK, : wb * BLOCK].reshape(2 * n, hb, BLOCK, wb, BLOCK).transpose(2, 3)
    d = _dct_matrix(y.dtype, y.device)
    coeffs = d @ blocks @ d.t()  # 2N×hb×wb×8×8
    used = subband_weights()
    rows = torch.tensor([m for m, _, _ in used], device=y.device)
    cols = torch.tensor([c for _, c, _ in used], device=y.device)
    bands = coeffs[..., rows, cols].permute(0, 3, 1, 2)  # 2N×K×hb×wb
    a, b = bands[:n], bands[n:]
    k = bands.shape[1]
    window = gaussian_kernel(WINDOW, SIGMA_WINDOW, y.dtype, y.device).expand(5 * k, 1, 3, 3)
    moments = F.conv2d(
        torch.cat((a, b, a * a, b * b, a * b), dim=1), window, padding=1, groups=5 * k
    )
    mu_a, mu_b, aa, bb, ab = moments.split(k, dim=1)
    var_a = torch.relu(aa - mu_a * mu_a)
    var_b = torch.relu(bb - mu_b * mu_b)
    c = torch.full((1, k, 1, 1), C_AC, dtype=y.dtype, device=y.device)
    c[:, 0] = C_DC  # (0, 0) is the first subband kept
    root = torch.sqrt(var_a * var_b)
    sims = _lowest_mean((2.0 * root + c) / (var_a + var_b + c))  # N×K
    dc = ((ab[:, :1] - mu_a[:, :1] * mu_b[:, :1]) + C_DC) / (root[:, :1] + C_DC)
    sims = torch.cat((sims[:, :1] * _lowest_mean(dc), sims[:, 1:]), dim=1)
    weights = torch.tensor([w for _, _, w in used], dtype=y.dtype, device=y.device)
    return sims @ weights


class DSS(Metric):
    """1 − DSS on the luma.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 8×8.
        - output: (N,).
    """

    min_size = BLOCK

    def __init__(self, **common: object) -> None:
        super().__init__("dss", **common)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return 1.0 - dss(x0, x1)


def build_dss(**options: object) -> DSS:
    """Factory for ``"dss"``."""
    return DSS(**options)
