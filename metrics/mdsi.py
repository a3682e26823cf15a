"""MDSI, the mean deviation similarity index (a distance: 0 for identical images).

Nafchi, Shahkolaei, Hedjam & Cheriet, "Mean Deviation Similarity Index: Efficient and Reliable
Full-Reference Image Quality Evaluator", IEEE Access 2016, and the authors' ``MDSI.m``, with
piq's conventions:

1. RGB in [0, 1] on the 0–255 scale, shrunk by F = max(1, round(min(H, W)/256)) (F×F mean,
   every F-th pixel; F = 1 below 384 px). Halves round up, as MATLAB's round does (piq uses
   Python's round, which rounds them to even: the two differ at 640, 1152, ... px only).
2. The LHM opponent space: L = 0.2989 R + 0.587 G + 0.114 B, H = 0.30 R + 0.04 G − 0.35 B,
   M = 0.34 R − 0.6 G + 0.17 B.
3. Gradient magnitudes (Prewitt /3, zero padding) of L of the reference R, the distorted D and
   their average F; gradient similarity ĜS = S(R, D; C1) + S(R, F; C2) − S(D, F; C2) with
   C1 = 140, C2 = 55; chromaticity similarity CS = (2(H_R H_D + M_R M_D) + C3)/(H_R² + H_D² +
   M_R² + M_D² + C3), C3 = 550; GCS = 0.6·ĜS + 0.4·CS (the paper's summation).
4. Deviation pooling of GCS^¼ (the principal complex power where GCS < 0):
   MDSI = (mean |GCS^¼ − mean GCS^¼|)^¼.

**Argument order.** ĜS is not symmetric: ``x0`` is the reference, ``x1`` the distorted image
(piq's ``mdsi(x, y)`` takes the reference as ``x`` too).

**Small inputs.** A 3×3 gradient needs 2 px; the metric accepts 2×2 and up. It was defined for
images of a few hundred pixels, like all these indices, and is used here at 64×64 unchanged
(F = 1, as the definition gives for any image under 384 px).
"""

from __future__ import annotations

import math

import torch

from metrics._zoo_ops import (
    LHM_FROM_RGB,
    PREWITT_X,
    box_downsample,
    gradient_magnitude,
    matlab_downsample_factor,
    mix,
    similarity,
)
from metrics.base import Metric

C1, C2, C3 = 140.0, 55.0, 550.0
ALPHA = 0.6
Q = 0.25
POOL_POWER = 0.25  # the paper.s o


def mdsi(ref: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """MDSI per image for N×3×H×W RGB in [0, 1]; shape (N,)."""
    n = ref.shape[0]
    factor = matlab_downsample_factor(*ref.shape[-2:])
    both = box_downsample(
        torch.cat((ref, dist)) * 255.0, factor, pad_before=(factor - 1) // 2, pad_after=factor // 2
    )
    lhm = mix(both, LHM_FROM_RGB)
    lum = lhm[:, :1]
    grads = gradient_magnitude(torch.cat((lum, (lum[:n] + lum[n:]) / 2.0)), PREWITT_X, 3.0)
    g_r, g_d, g_f = grads[:n], grads[n : 2 * n], grads[2 * n :]
    gs = similarity(g_r, g_d, C1) + similarity(g_r, g_f, C2) - similarity(g_d, g_f, C2)
    h, m = lhm[:, 1:2], lhm[:, 2:3]
    cs = (2.0 * (h[:n] * h[n:] + m[:n] * m[n:]) + C3) / (
        h[:n] ** 2 + h[n:] ** 2 + m[:n] ** 2 + m[n:] ** 2 + C3
    )
    gcs = ALPHA * gs + (1.0 - ALPHA) * cs
    # Principal value of gcs^q: |gcs|^q · e^{iqπ} where gcs < 0.
    magnitude = gcs.abs() ** Q
    angle = torch.where(gcs < 0, Q * math.pi, 0.0)
    re, im = magnitude * torch.cos(angle), magnitude * torch.sin(angle)
    re = re - re.mean(dim=(2, 3), keepdim=True)
    im = im - im.mean(dim=(2, 3), keepdim=True)
    deviation = torch.sqrt(re * re + im * im).mean(dim=(1, 2, 3))
    return deviation**POOL_POWER


class MDSI(Metric):
    """MDSI (a distance); ``x0`` is the reference, ``x1`` the distorted image.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least 2×2.
        - output: (N,).
    """

    min_size = 2

    def __init__(self, **common: object) -> None:
        super().__init__("mdsi", **common)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        return mdsi(x0, x1)


def build_mdsi(**options: object) -> MDSI:
    """Factory for ``"mdsi"``."""
    return MDSI(**options)
