"""HaarPSI, the Haar wavelet-based perceptual similarity index, as the distance 1 − HaarPSI.

Reisenhofer, Bosse, Kutyniok & Wiegand, "A Haar wavelet-based perceptual similarity index for
image quality assessment", Signal Processing: Image Communication 2018, and the authors'
``HaarPSI.m``, with piq's conventions:

1. RGB in [0, 1] → YIQ on the 0–255 scale (four-digit NTSC matrix).
2. A 2×2 mean keeping every second pixel (the reference code's default ``preprocessWithSubsampling``;
   an odd side is zero-padded at its end).
3. Haar wavelet responses of Y at scales 1–3 (filters of 2, 4, 8 px: mean of the upper half minus
   mean of the lower half, and the transpose), zero padding placed as MATLAB's ``conv2(…, 'same')``
   places it for even filters.
4. Per orientation, the similarity (2·a·b + C)/(a² + b² + C), C = 30, of the response magnitudes
   at scales 1 and 2, averaged; weighted by the larger magnitude at scale 3. The I and Q channels
   (2×2 means, stride 1) add a third similarity map, weighted by the mean of the two luma weights.
5. HaarPSI = logit(Σ sigmoid(α·S)·W / Σ W)/α, squared; α = 4.2.

**Distance.** 1 − HaarPSI: 0 for identical images (within float rounding), up to 1.

**Colour.** Y, I and Q as in the paper's colour version (always: inputs are RGB).

**Small inputs.** The 8-px filter of scale 3 must fit the subsampled image: at least 16×16 px
(piq's limit too); smaller inputs raise. 64×64 patches are scored at 32×32, as the definition says.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from metrics._zoo_ops import YIQ_FROM_RGB, halve, mix, similarity
from metrics.base import Metric

C = 30.0
ALPHA = 4.2
SCALES = 3


def _haar_kernels(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The two Haar filters of width ``size``: 2×1×size×size."""
    k = torch.full((size, size), 1.0 / size, dtype=dtype, device=device)
    k[size // 2 :] *= -1.0
    return torch.stack((k, k.t())).unsqueeze(1)


def _responses(y: torch.Tensor) -> list[torch.Tensor]:
    """Haar responses of N×1×H×W at each scale: a list of N×2×H×W (two orientations)."""
    out = []
    for scale in range(1, SCALES + 1):
        size = 2**scale
        padded = F.pad(y, (size // 2 - 1, size // 2, size // 2 - 1, size // 2))
        out.append(F.conv2d(padded, _haar_kernels(size, y.dtype, y.device)))
    return out


def haarpsi(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """HaarPSI per image for N×3×H×W RGB in [0, 1]; shape (N,)."""
    n = x0.shape[0]
    yiq = halve(mix(torch.cat((x0, x1)) * 255.0, YIQ_FROM_RGB))
    coeffs = [c.abs() for c in _responses(yiq[:, :1])]
    a = [c[:n] for c in coeffs]
    b = [c[n:] for c in coeffs]
    weights = torch.maximum(a[2], b[2])  # N×2×H×W, scale 3
    luma_sim = (similarity(a[0], b[0], C) + similarity(a[1], b[1], C)) / 2.0  # N×2×H×W
    iq = F.avg_pool2d(F.pad(yiq[:, 1:], (0, 1, 0, 1)), 2, stride=1).abs()
    chroma_sim = similarity(iq[:n], iq[n:], C).sum(dim=1, keepdim=True) / 2.0
    sims = torch.cat((luma_sim, chroma_sim), dim=1)
    weights = torch.cat((weights, weights.mean(dim=1, keepdim=True)), dim=1)
    eps = torch.finfo(sims.dtype).eps
    score = ((torch.sigmoid(ALPHA * sims) * weights).sum(dim=(1, 2, 3)) + eps) / (
        weights.sum(dim=(1, 2, 3)) + eps
    )
    return (torch.logit(score) / ALPHA) ** 2


class HaarPSI(Metric):
    """1 − HaarPSI (colour version).

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 16×16.
        - output: (N,).
    """

    min_size = 2 ** (SCALES + 1)

    def __init__(self, **common: object) -> None:
        super().__init__("haarpsi", **common)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return 1.0 - haarpsi(x0, x1)


def build_haarpsi(**options: object) -> HaarPSI:
    """Factory for ``"haarpsi"``."""
    return HaarPSI(**options)
