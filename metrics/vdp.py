"""ColorVideoVDP (Mantiuk et al., SIGGRAPH 2024) as a distance: the visual difference predictor.

The paper's Table 5 has an HDR-VDP row. HDR-VDP is MATLAB; its maintained successor from the same
group, ColorVideoVDP, runs in PyTorch (PyPI ``cvvdp``, MIT, import name ``pycvvdp``). It is an
**optional extra** (``pip install -e '.[vdp]'``), imported only when the metric is built, never
by the web process; without it ``create_metric("cvvdp")`` raises
:class:`~metrics._extras.MissingExtraError` naming the extra.

**Distance.** ColorVideoVDP predicts quality in JOD (just-objectionable differences): 10 for
identical images, lower for visible differences. The metric returns ``10 − JOD`` (0 for
identical images, higher = more different), so lower is more similar like every other metric.

**Display model, stated explicitly** (a VDP's prediction depends on it):

- photometry: a standard sRGB display, ``peak_luminance`` 200 cd/m², ``contrast`` 1000:1,
  ``ambient_lux`` 250 (office light), screen reflectivity 0.005: ColorVideoVDP's own
  ``standard_fhd`` photometry with the defaults. Inputs are sRGB-encoded RGB in [0, 1].
- geometry: the image's pixels per degree (ppd). A study shows each image pixel as a
  ``display_scale``×``display_scale`` block of device pixels (the study's ``display_scale``); a
  device pixel has pitch 25.4 mm / ``display_ppi`` (default: a 24-inch 1920×1080 monitor, 91.79
  ppi) and is seen from ``viewing_distance_m`` (default 0.6 m), so

      ppd = 1 / (2·atan(pitch / (2·distance)) in degrees) / display_scale

  With the defaults (``display_scale`` 4): 37.84 / 4 = 9.46 ppd. ``display_scale`` 1 gives
  exactly ColorVideoVDP's ``standard_fhd`` display (37.84 ppd). ``pixels_per_degree`` overrides
  the derivation.

Images are scored one frame each (``fps`` 0); a batch is one ``predict`` call, whose per-image
results equal single-image calls.
"""

from __future__ import annotations

from typing import Any

import torch

from metrics._extras import require
from metrics.base import Metric
from metrics.display import DEFAULT_PPI, image_ppd, positive

PACKAGE = "cvvdp==0.5.7"
EXTRA = "vdp"
MAX_JOD = 10.0


class ColorVideoVDP(Metric):
    """``10 − JOD`` of ColorVideoVDP on an explicitly stated display (see the module docstring).

    Shape:
        - x0, x1: N×3×H×W, sRGB-encoded RGB in [0, 1], at least 4×4 (x0 the reference).
        - output: (N,).
    """

    min_size = 4

    def __init__(
        self,
        *,
        display_scale: int = 4,
        viewing_distance_m: float = 0.6,
        display_ppi: float = DEFAULT_PPI,
        pixels_per_degree: float | None = None,
        peak_luminance: float = 200.0,
        contrast: float = 1000.0,
        ambient_lux: float = 250.0,
        device: str | torch.device | None = None,
        range_check: str = "strict",
    ) -> None:
        self.ppd = image_ppd(
            display_scale=display_scale,
            viewing_distance_m=viewing_distance_m,
            display_ppi=display_ppi,
            pixels_per_degree=pixels_per_degree,
        )
        self.peak_luminance = positive("peak_luminance", peak_luminance)
        self.contrast = positive("contrast", contrast)
        self.ambient_lux = positive("ambient_lux", ambient_lux, zero=True)
        self._pycvvdp = require("pycvvdp", extra=EXTRA, package=PACKAGE, metric="cvvdp")
        super().__init__("cvvdp", device=device, range_check=range_check)
        self._vdp = None
        self._vdp_device: torch.device | None = None

    def _model(self):
        """The ColorVideoVDP object, (re)built on the metric's current device."""
        if self._vdp is None or self._vdp_device != self.device:
            vdp = self._pycvvdp
            photometry = vdp.vvdp_display_photo_eotf(
                self.peak_luminance,
                contrast=self.contrast,
                source_colorspace="sRGB",
                E_ambient=self.ambient_lux,
            )
            # The resolution is only a label when ppd is given.
            geometry = vdp.vvdp_display_geometry([1920, 1080], ppd=self.ppd)
            self._vdp = vdp.cvvdp(
                display_photometry=photometry,
                display_geometry=geometry,
                device=self.device,
                quiet=True,
            )
            self._vdp_device = self.device
        return self._vdp

    def compute_dtype(self, x: torch.Tensor) -> torch.dtype:
        return torch.float32  # ColorVideoVDP reads float32 (or 8/16-bit integer) frames

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        # predict(test, reference): x0 is the reference, as for the other full-reference metrics.
        with torch.no_grad():
            jod, _stats = self._model().predict(x1, x0, dim_order="BCHW")
        return (MAX_JOD - jod.reshape(-1).to(torch.float32)).to(self.device)

    def provenance(self) -> dict[str, Any]:
        """``Metric.provenance`` plus the cvvdp version and the display model it used."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            cvvdp_version = version("cvvdp")
        except PackageNotFoundError:  # imported from a source tree
            cvvdp_version = None
        return {
            **super().provenance(),
            "cvvdp": cvvdp_version,
            "display": {
                "photometry": "sRGB",
                "peak_luminance": self.peak_luminance,
                "contrast": self.contrast,
                "ambient_lux": self.ambient_lux,
                "pixels_per_degree": self.ppd,
            },
        }


def build_cvvdp(**options: Any) -> ColorVideoVDP:
    """Factory for ``"cvvdp"``."""
    return ColorVideoVDP(**options)
