"""VIFp, pixel-domain Visual Information Fidelity, as the distance 1 − VIFp.

Sheikh & Bovik, "Image information and visual quality", IEEE TIP 2006; the pixel-domain version of
the authors' ``vifp_mscale.m``:

1. RGB in [0, 1] → luma Y = 0.299 R + 0.587 G + 0.114 B on the 0–255 scale (the reference code
   takes grey images; the luma is the usual reduction, and piq's).
2. Four scales s = 1…4 with Gaussian windows of width N = 2^(5−s) + 1 (17, 9, 5, 3) and
   σ = N/5. Before scales 2–4 both images are filtered with that scale's window ('valid') and
   every second pixel is kept.
3. Local moments with the window ('valid'), variances clipped at 0; the distorted image is
   regressed on the reference: g = σ_rd/σ_r², σ_v² = σ_d² − g·σ_rd, with the reference code's
   special cases (flat reference or distorted patches, negative gain) and σ_v² ≥ ε, ε = 1e-8.
4. VIFp = Σ log10(1 + g²·σ_r²/(σ_v² + σ_n²)) / Σ log10(1 + σ_r²/σ_n²) over scales and
   positions, σ_n² = 2 (with ε added to both sums, as piq does).

**Argument order.** VIF is not symmetric: ``metric(x0, x1)`` takes the *reference* as ``x0``
(as ``score_triplets(ref, p0, p1)`` passes it) and the distorted image as ``x1``. piq's
``vif_p(x, y)`` takes the reference as ``y``.

**Distance.** 1 − VIFp: 0 for identical images (within 1e-6: the ε terms), up to 1 for a
distorted image that carries no information about the reference; VIFp can exceed 1 for a
contrast-enhanced image, giving a negative distance.

**Small inputs.** The four 'valid' filterings need at least 41×41 pixels (piq's limit too);
smaller inputs raise. 64×64 patches are scored as they are (the coarsest scale is then 3×3).

**Precision.** Computed in the input's dtype on mean-centred images (the variances are invariant
to the shift, and centring keeps float32's E[x²] − E[x]² away from catastrophic cancellation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from metrics._zoo_ops import gaussian_kernel, luma
from metrics.base import Metric

SIGMA_N_SQ = 2.0
EPS = 1e-8
MIN_SIZE = 41


def vifp(ref: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """VIFp per image; ``ref`` and ``dist`` are N×3×H×W RGB in [0, 1]. Returns (N,)."""
    r, d = luma(ref) * 255.0, luma(dist) * 255.0
    shift = r.mean(dim=(1, 2, 3), keepdim=True)
    r, d = r - shift, d - shift
    num = torch.zeros(r.shape[0], dtype=r.dtype, device=r.device)
    den = torch.zeros_like(num)
    n = r.shape[0]
    for scale in range(4):
        size = 2 ** (4 - scale) + 1
        window = gaussian_kernel(size, size / 5.0, r.dtype, r.device).view(1, 1, size, size)
        if scale:
            both = F.conv2d(torch.cat((r, d)), window)[:, :, ::2, ::2]
            r, d = both[:n], both[n:]
        # One convolution for the five moment maps of all images.
        stack = torch.cat((r, d, r * r, d * d, r * d))
        mu_r, mu_d, rr, dd, rd = F.conv2d(stack, window).split(n)
        var_r = torch.relu(rr - mu_r * mu_r)
        var_d = torch.relu(dd - mu_d * mu_d)
        cov = rd - mu_r * mu_d
        g = cov / (var_r + EPS)
        var_v = var_d - g * cov
        flat_r, flat_d = var_r < EPS, var_d < EPS
        g = torch.where(flat_r | flat_d, 0.0, g)
        var_v = torch.where(flat_r, var_d, var_v)
        var_r = torch.where(flat_r, 0.0, var_r)
        var_v = torch.where(flat_d, 0.0, var_v)
        var_v = torch.where(g < 0, var_d, var_v)
        g = torch.relu(g)
        var_v = var_v.clamp_min(EPS)
        num = num + torch.log10(1.0 + g * g * var_r / (var_v + SIGMA_N_SQ)).sum(dim=(1, 2, 3))
        den = den + torch.log10(1.0 + var_r / SIGMA_N_SQ).sum(dim=(1, 2, 3))
    return (num + EPS) / (den + EPS)


class VIFp(Metric):
    """1 − VIFp on the luma; ``x0`` is the reference, ``x1`` the distorted image.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 41×41.
        - output: (N,).
    """

    min_size = MIN_SIZE

    def __init__(self, **common: object) -> None:
        super().__init__("vifp", **common)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return 1.0 - vifp(x0, x1)


def build_vifp(**options: object) -> VIFp:
    """Factory for ``"vifp"``."""
    return VIFp(**options)
