"""VSI, the visual saliency-induced index, as the distance 1 − VSI.

Zhang, Shen & Li, "VSI: A Visual Saliency-Induced Index for Perceptual Image Quality Assessment",
IEEE TIP 2014 (``VSI.m``), with the SDSP saliency model (Zhang, Gong & Zhang, "SDSP: A novel
saliency detection method by combining simple priors", ICIP 2013), in piq's conventions:

1. Saliency (SDSP) of each RGB image on the 0–255 scale: bilinear resize to 256×256
   (align_corners=False), sRGB → CIE Lab (XYZ with the sRGB/D65 matrix, then the D50 white point
   and κ = 903.3, as piq's ``rgb2lab``), frequency prior = magnitude over L, a, b of the
   log-Gabor band-pass (ω0 = 0.021, σ_F = 1.34) applied in the Fourier domain, location prior
   exp(−r²/σ_D²) with σ_D = 145 px, colour prior 1 − exp(−(a_n² + b_n²)/σ_C²) on the per-image
   min–max normalised a, b (σ_C = 0.001); their product, resized back (bilinear,
   align_corners=True) and min–max normalised per image.
2. The LMN opponent space; images and saliency maps shrunk by F = max(1, round(min(H, W)/256))
   (F×F mean after replicate padding, as piq; F = 1 below 384 px; halves round up as MATLAB's).
3. Scharr gradient magnitude of L. S = S_VS·S_G^α·real((S_M·S_N)^β) with the similarity
   (2ab + C)/(a² + b² + C), C1 = 1.27 (saliency), C2 = 386 (gradient), C3 = 130 (M and N),
   α = 0.40, β = 0.02 (the real part of the principal power where S_M·S_N < 0, as MATLAB's);
   VSI = Σ S·VS_max / Σ VS_max.

**Distance.** 1 − VSI: 0 for identical images (within float rounding), up to 1.

**Colour.** RGB throughout (saliency in Lab, similarity in LMN), as the paper defines it.

**Small inputs.** SDSP works on a fixed 256×256 resampling, so any size scores; the 3×3 gradient
needs 2 px, the least accepted. 64×64 patches are upsampled to 256×256 for the saliency, exactly as
the definition does for every size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from metrics._zoo_ops import (
    LMN_FROM_RGB,
    SCHARR_X,
    gradient_magnitude,
    matlab_downsample_factor,
    mix,
    similarity,
)
from metrics.base import Metric

C1, C2, C3 = 1.27, 386.0, 130.0
ALPHA, BETA = 0.40, 0.02
OMEGA0, SIGMA_F, SIGMA_D, SIGMA_C = 0.021, 1.34, 145.0, 0.001
SDSP_SIZE = 256
_XYZ_FROM_RGB = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_D50_WHITE = (0.9642119944211994, 1.0, 0.8251882845188288)
_LAB_EPSILON, _LAB_KAPPA = 0.008856, 903.3


def _lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] → Lab (piq's ``rgb2lab``: D65 matrix, D50 white, κ = 903.3)."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    white = torch.tensor(_D50_WHITE, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    t = mix(linear, _XYZ_FROM_RGB) / white
    f = torch.where(
        t > _LAB_EPSILON, t.clamp_min(0.0) ** (1.0 / 3.0), (_LAB_KAPPA * t + 16.0) / 116.0
    )
    fx, fy, fz = f.unbind(1)
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=1)


def _priors(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The log-Gabor filter (in FFT order) and the location prior, both 256×256."""
    t = torch.arange(-SDSP_SIZE // 2, SDSP_SIZE // 2, dtype=torch.float64) / SDSP_SIZE
    radius = torch.sqrt(t[:, None] ** 2 + t[None, :] ** 2)
    radius = torch.where(radius <= 0.5, radius, 0.0)
    radius = torch.fft.ifftshift(radius)
    radius[0, 0] = 1.0
    log_gabor = torch.exp(-(torch.log(radius / OMEGA0) ** 2) / (2.0 * SIGMA_F**2))
    log_gabor[0, 0] = 0.0
    pos = t * SDSP_SIZE + 1.0
    location = torch.exp(-(pos[:, None] ** 2 + pos[None, :] ** 2) / SIGMA_D**2)
    return log_gabor.to(dtype=dtype, device=device), location.to(dtype=dtype, device=device)


def _minmax(x: torch.Tensor) -> torch.Tensor:
    eps = torch.finfo(x.dtype).eps
    low = x.amin(dim=(2, 3), keepdim=True)
    high = x.amax(dim=(2, 3), keepdim=True)
    return (x - low) / (high - low + eps)


def sdsp(rgb255: torch.Tensor) -> torch.Tensor:
    """SDSP saliency of N×3×H×W RGB on the 0–255 scale, min–max normalised: N×1×H×W."""
    size = rgb255.shape[-2:]
    x = F.interpolate(rgb255, size=(SDSP_SIZE, SDSP_SIZE), mode="bilinear", align_corners=False)
    lab = _lab(x / 255.0)
    log_gabor, location = _priors(lab.dtype, lab.device)
    band = torch.fft.ifft2(torch.fft.fft2(lab) * log_gabor).real
    frequency = band.square().sum(dim=1, keepdim=True).sqrt()
    ab = _minmax(lab)[:, 1:]
    colour = 1.0 - torch.exp(-ab.square().sum(dim=1, keepdim=True) / SIGMA_C**2)
    saliency = frequency * location * colour
    saliency = F.interpolate(saliency, size=size, mode="bilinear", align_corners=True)
    return _minmax(saliency)


def vsi(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """VSI per image for N×3×H×W RGB in [0, 1]; shape (N,)."""
    n = x0.shape[0]
    rgb = torch.cat((x0, x1)) * 255.0
    saliency = sdsp(rgb)
    lmn = mix(rgb, LMN_FROM_RGB)
    factor = matlab_downsample_factor(*x0.shape[-2:])
    if factor > 1:
        pad = (factor // 2, (factor - 1) // 2) * 2
        saliency = F.avg_pool2d(F.pad(saliency, pad, mode="replicate"), factor)
        lmn = F.avg_pool2d(F.pad(lmn, pad, mode="replicate"), factor)
    grads = gradient_magnitude(lmn[:, :1], SCHARR_X, 16.0)
    v0, v1 = saliency[:n], saliency[n:]
    s_c = similarity(lmn[:n, 1:2], lmn[n:, 1:2], C3) * similarity(lmn[:n, 2:], lmn[n:, 2:], C3)
    chroma = s_c.abs() ** BETA * torch.where(s_c < 0, math.cos(BETA * math.pi), 1.0)
    v_max = torch.maximum(v0, v1)
    s = similarity(v0, v1, C1) * similarity(grads[:n], grads[n:], C2) ** ALPHA * chroma
    eps = torch.finfo(s.dtype).eps
    return ((s * v_max).sum(dim=(1, 2, 3)) + eps) / (v_max.sum(dim=(1, 2, 3)) + eps)


class VSI(Metric):
    """1 − VSI (colour).

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 2×2.
        - output: (N,).
    """

    min_size = 2

    def __init__(self, **common: object) -> None:
        super().__init__("vsi", **common)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return 1.0 - vsi(x0, x1)


def build_vsi(**options: object) -> VSI:
    """Factory for ``"vsi"``."""
    return VSI(**options)
