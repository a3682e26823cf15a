"""SR-SIM, the spectral residual based similarity index, as the distance 1 − SR-SIM.

Zhang & Li, "SR-SIM: A fast and high performance IQA index based on spectral residual", ICIP 2012,
and the authors' ``SR_SIM.m``, with piq's conventions:

1. RGB in [0, 1] → luma Y = 0.299 R + 0.587 G + 0.114 B on the 0–255 scale, shrunk by
   F = max(1, round(min(H, W)/256)) (F×F mean; F = 1 below 384 px; halves round up as MATLAB's).
2. Visual saliency by spectral residual (Hou & Zhang 2007) of each luma: MATLAB ``imresize`` to
   ¼ (bicubic, antialiased), log amplitude of the 2-D FFT minus its 3×3 mean (replicated border),
   back with the original phase, |·|², a 10×10 Gaussian with σ = 3.8 (zero border, MATLAB's
   centring of an even window), min–max normalised **per image**, resized back (bicubic).
3. Scharr gradient magnitudes G (zero border). S = S_VS·S_G^α·VS_max with the similarity
   (2ab + C)/(a² + b² + C), C1 = 0.40 (saliency), C2 = 225 (gradient), α = 0.50;
   SR-SIM = Σ S / Σ VS_max.

Differences from piq 0.8.0: piq min–max normalises the saliency maps over the whole batch at once,
so its score of an image depends on the other images in the batch; here (as in ``SR_SIM.m``) each
image is normalised on its own, which equals piq's value for a batch of one (what the parity tests
compare). Halves of F round up (piq: to even; they differ at 640, 1152, ... px only).

**Distance.** 1 − SR-SIM: 0 for identical images (within float rounding), up to 1.

**Colour.** Luma only, as the paper defines it.

**Small inputs.** The ¼-size image must hold the 10-px Gaussian: at least 40×40 px after the
F-downsampling (piq's limit too); smaller inputs raise. 64×64 patches give 16×16 saliency maps.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from metrics._zoo_ops import (
    SCHARR_X,
    box_downsample,
    gaussian_kernel,
    gradient_magnitude,
    imresize,
    luma,
    matlab_downsample_factor,
    similarity,
)
from metrics.base import Metric

C1, C2, ALPHA = 0.40, 225.0, 0.50
SCALE = 0.25
GAUSS_SIZE, GAUSS_SIGMA = 10, 3.8
MIN_SIZE = 40


def spectral_residual_saliency(y: torch.Tensor) -> torch.Tensor:
    """Saliency maps of N×1×H×W lumas (0–255), each min–max normalised to [0, 1]; N×1×H×W."""
    h, w = y.shape[-2:]
    small = imresize(y, (math.ceil(h * SCALE), math.ceil(w * SCALE)), (SCALE, SCALE))
    spectrum = torch.fft.fft2(small)
    eps = torch.finfo(y.dtype).eps
    log_amplitude = torch.log(spectrum.abs() + eps)
    local_mean = F.avg_pool2d(F.pad(log_amplitude, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    residual = torch.polar(torch.exp(log_amplitude - local_mean), torch.angle(spectrum))
    saliency = torch.fft.ifft2(residual).abs() ** 2
    # MATLAB's centring of an even 10×10 window: 4 taps before the pixel, 5 after.
    window = gaussian_kernel(GAUSS_SIZE, GAUSS_SIGMA, y.dtype, y.device).view(1, 1, 10, 10)
    half = GAUSS_SIZE // 2
    saliency = F.conv2d(F.pad(saliency, (half - 1, half, half - 1, half)), window)
    low = saliency.amin(dim=(2, 3), keepdim=True)
    high = saliency.amax(dim=(2, 3), keepdim=True)
    saliency = (saliency - low) / (high - low + eps)
    sh, sw = saliency.shape[-2:]
    return imresize(saliency, (h, w), (h / sh, w / sw))


def srsim(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """SR-SIM per image for N×3×H×W RGB in [0, 1]; shape (N,)."""
    n = x0.shape[0]
    factor = matlab_downsample_factor(*x0.shape[-2:])
    y = box_downsample(
        luma(torch.cat((x0, x1))) * 255.0,
        factor,
        pad_before=(factor - 1) // 2,
        pad_after=factor // 2,
    )
    saliency = spectral_residual_saliency(y)
    grads = gradient_magnitude(y, SCHARR_X, 16.0)
    v0, v1, g0, g1 = saliency[:n], saliency[n:], grads[:n], grads[n:]
    v_max = torch.maximum(v0, v1)
    score = similarity(v0, v1, C1) * similarity(g0, g1, C2) ** ALPHA * v_max
    eps = torch.finfo(score.dtype).eps
    return score.sum(dim=(1, 2, 3)) / (v_max.sum(dim=(1, 2, 3)) + eps)


class SRSIM(Metric):
    """1 − SR-SIM on the luma.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 40×40.
        - output: (N,).
    """

    min_size = MIN_SIZE

    def __init__(self, **common: object) -> None:
        super().__init__("srsim", **common)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        factor = matlab_downsample_factor(*x0.shape[-2:])
        if min(x0.shape[-2:]) // factor < MIN_SIZE:  # only possible for F > 1 at odd sizes
            raise ValueError(f"srsim needs at least {MIN_SIZE} px after shrinking by {factor}")
        return 1.0 - srsim(x0, x1)


def build_srsim(**options: object) -> SRSIM:
    """Factory for ``"srsim"``."""
    return SRSIM(**options)
