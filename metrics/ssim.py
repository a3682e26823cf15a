"""SSIM (Wang, Bovik, Sheikh & Simoncelli, IEEE TIP 2004) with named presets, as a distance.

"SSIM" names several different functions (toolboxes differ in window, colour handling, scaling
and border treatment), so the metric
takes a named ``preset``:

- ``wang2004``: 11×11 Gaussian window with σ = 1.5, population (biased) moments, K1 = 0.01,
  K2 = 0.03, data range 1 for RGB in [0, 1]. Equals ``skimage.metrics.structural_similarity(...,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)`` and
  ``pytorch_msssim.ssim(..., data_range=1)``. Distance 1 − SSIM.
- ``skimage-default``: scikit-image's defaults, a 7×7 uniform window with sample covariance
  (N/(N−1)). Distance 1 − SSIM.
- ``lpips-baseline``: the official LPIPS "SSIM" baseline (lpips-bapps.md §3.3): skimage's defaults
  on CIE Lab with data range 100 (or on RGB), reported as DSSIM = (1 − SSIM)/2.

Every preset averages the SSIM map over its *valid* region (no padding; skimage's reflect-filter-
then-crop gives the same numbers) and then over the three channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from metrics.base import Metric
from metrics.color import apply_quantize, check_quantize, rgb_to_lab

K1 = 0.01
K2 = 0.03


@dataclass(frozen=True)
class SSIMConfig:
    """Window and moment settings of an SSIM variant.

    Attributes:
        window: ``"gaussian"`` or ``"uniform"``.
        size: Window width in pixels (odd).
        sigma: Gaussian standard deviation (ignored for uniform windows).
        sample_covariance: Scale the moments by N/(N−1), N = size², as skimage does by default.
    """

    window: str
    size: int
    sigma: float = 1.5
    sample_covariance: bool = False


WANG2004 = SSIMConfig("gaussian", 11, 1.5, sample_covariance=False)
SKIMAGE_DEFAULT = SSIMConfig("uniform", 7, sample_covariance=True)

# preset -> (window settings, default colour space, report DSSIM = (1 - SSIM)/2)
PRESETS: dict[str, tuple[SSIMConfig, str, bool]] = {
    "wang2004": (WANG2004, "rgb", False),
    "skimage-default": (SKIMAGE_DEFAULT, "rgb", False),
    "lpips-baseline": (SKIMAGE_DEFAULT, "lab", True),
}

# The official baseline passes data_range=100 for Lab (the span of L*) and 255 for 8-bit RGB.
DATA_RANGE = {"rgb": 1.0, "lab": 100.0}


def window_1d(config: SSIMConfig, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The normalised 1-D window whose outer product is the 2-D SSIM window, shape (size,)."""
    if config.window == "uniform":
        return torch.full((config.size,), 1.0 / config.size, dtype=dtype, device=device)
    offsets = torch.arange(config.size, dtype=dtype, device=device) - (config.size - 1) / 2
    g = torch.exp(-(offsets**2) / (2.0 * config.sigma**2))
    return g / g.sum()


def _filter_valid(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Separable per-channel filtering without padding: N×C×H×W → N×C×(H−k+1)×(W−k+1)."""
    channels = x.shape[1]
    horizontal = win.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    vertical = win.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    return F.conv2d(F.conv2d(x, horizontal, groups=channels), vertical, groups=channels)


def ssim_components(
    x: torch.Tensor, y: torch.Tensor, config: SSIMConfig, data_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel means of the SSIM map and of its contrast-structure part.

    Args:
        x: N×C×H×W tensor with values spanning ``data_range``.
        y: Same shape.
        config: Window settings.
        data_range: Dynamic range L in C1 = (K1·L)² and C2 = (K2·L)².

    Returns:
        ``(ssim, cs)``, each N×C: spatial means over the valid region of the SSIM map and of
        cs = (2σxy + C2)/(σx² + σy² + C2).
    """
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    channels = x.shape[1]
    win = window_1d(config, x.dtype, x.device)
    # One grouped convolution filters all five moment images at once.
    moments = _filter_valid(torch.cat((x, y, x * x, y * y, x * y), dim=1), win)
    mu_x, mu_y, xx, yy, xy = moments.split(channels, dim=1)
    scale = 1.0
    if config.sample_covariance:
        n = config.size**2
        scale = n / (n - 1.0)
    var_x = scale * (xx - mu_x * mu_x)
    var_y = scale * (yy - mu_y * mu_y)
    cov = scale * (xy - mu_x * mu_y)
    cs_map = (2.0 * cov + c2) / (var_x + var_y + c2)
    luminance = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    return (luminance * cs_map).mean(dim=(2, 3)), cs_map.mean(dim=(2, 3))


class SSIM(Metric):
    """SSIM exposed as a distance, with a named preset (see the module docstring).

    Args:
        preset: ``"wang2004"``, ``"skimage-default"`` or ``"lpips-baseline"``.
        colorspace: ``"rgb"``, ``"lab"``, or None for the preset's own.
        quantize: 8-bit levels first: True/"official" as the official baseline computes them
            (``metrics.color.official_8bit``), "floor" for floor(255·x)/255, False to score as given.
        device: Torch device (None: CUDA when available).
        range_check: See ``metrics.base.Metric``.

    Shape:
        - x0, x1: N×3×H×W in [0, 1], at least the window size (11 or 7 px).
        - output: (N,): 1 − SSIM, or (1 − SSIM)/2 for ``lpips-baseline``.
    """

    def __init__(
        self,
        *,
        preset: str = "wang2004",
        colorspace: str | None = None,
        quantize: bool | str = False,
        **common: object,
    ) -> None:
        super().__init__("ssim", **common)
        if preset not in PRESETS:
            raise ValueError(f"unknown SSIM preset {preset!r}; choose from {', '.join(PRESETS)}")
        self.config, default_space, self.halve = PRESETS[preset]
        self.colorspace = colorspace or default_space
        self.quantize = check_quantize(quantize)
        self.min_size = self.config.size

    def similarity(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """SSIM per image (mean over channels), shape (N,), for validated inputs."""
        x0, x1 = apply_quantize(x0, self.quantize), apply_quantize(x1, self.quantize)
        if self.colorspace == "lab":
            x0, x1 = rgb_to_lab(x0), rgb_to_lab(x1)
        ssim, _ = ssim_components(x0, x1, self.config, DATA_RANGE[self.colorspace])
        return ssim.mean(dim=1)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        d = 1.0 - self.similarity(x0, x1)
        return d / 2.0 if self.halve else d


def build_ssim(**options: object) -> SSIM:
    """Factory for ``"ssim"``."""
    return SSIM(**options)
