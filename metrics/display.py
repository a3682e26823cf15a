"""The display model of the ``cvvdp`` metric, torch-free: pixels per degree and option checks.

``metrics.vdp`` builds ColorVideoVDP from these values; the platform checks a score run's
``cvvdp`` options with :func:`check_options` before anything is stored (the web process never
imports torch or cvvdp). See ``metrics/vdp.py`` for the model itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DEFAULT_PPI = math.hypot(1920, 1080) / 24  # a 24-inch Full HD monitor (ColorVideoVDP's fhd)


def positive(name: str, value: Any, *, zero: bool = False) -> float:
    """``value`` as a float, or ValueError naming ``name`` (finite, > 0; ≥ 0 with ``zero``)."""
    bound = "≥ 0" if zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"cvvdp: {name} must be a number {bound}, got {value!r}")
    if value < 0 or (value == 0 and not zero):
        raise ValueError(f"cvvdp: {name} must be a number {bound}, got {value!r}")
    return float(value)


def device_ppd(display_ppi: float, viewing_distance_m: float) -> float:
    """Pixels per degree of one device pixel at the centre of the display (as ColorVideoVDP's
    ``vvdp_display_geometry.get_ppd``)."""
    pitch_m = 0.0254 / display_ppi
    return 1.0 / (2.0 * math.degrees(math.atan(0.5 * pitch_m / viewing_distance_m)))


def image_ppd(
    *,
    display_scale: int,
    viewing_distance_m: float,
    display_ppi: float,
    pixels_per_degree: float | None = None,
) -> float:
    """Pixels per degree of one image pixel shown at ``display_scale`` device pixels a side.

    Raises:
        ValueError: A non-positive or non-finite value (named).
    """
    if pixels_per_degree is not None:
        return positive("pixels_per_degree", pixels_per_degree)
    if isinstance(display_scale, bool) or not isinstance(display_scale, int) or display_scale < 1:
        raise ValueError(f"cvvdp: display_scale must be a whole number ≥ 1, got {display_scale!r}")
    distance = positive("viewing_distance_m", viewing_distance_m)
    ppi = positive("display_ppi", display_ppi)
    return device_ppd(ppi, distance) / display_scale


def check_options(options: Mapping[str, Any]) -> float:
    """Check ``cvvdp`` options (defaults filled in for the missing ones); returns the ppd.

    Raises:
        ValueError: The first bad value, named.
    """
    values = {
        "display_scale": 4, "viewing_distance_m": 0.6, "display_ppi": DEFAULT_PPI,
        "pixels_per_degree": None, "peak_luminance": 200.0, "contrast": 1000.0,
        "ambient_lux": 250.0, **options,
    }  # fmt: skip
    ppd = image_ppd(
        display_scale=values["display_scale"],
        viewing_distance_m=values["viewing_distance_m"],
        display_ppi=values["display_ppi"],
        pixels_per_degree=values["pixels_per_degree"],
    )
    positive("peak_luminance", values["peak_luminance"])
    positive("contrast", values["contrast"])
    positive("ambient_lux", values["ambient_lux"], zero=True)
    return ppd
