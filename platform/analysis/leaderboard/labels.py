"""Readable names for leaderboard rows: "LPIPS alex (random trunk)" rather than
`lpips-alex [trunk_weights=None]`. Pure functions of the stored metric name and options (and a
fit's or upload's own fields), so the page, the downloads and the API say the same thing."""

from __future__ import annotations

from pathlib import PurePath

# Registry names whose readable form is not "upper-case the acronym".
_NAMES = {
    "l2": "L2",
    "l2-lab": "L2 (Lab)",
    "psnr": "PSNR",
    "ssim": "SSIM",
    "ms-ssim": "MS-SSIM",
    "iw-ssim": "IW-SSIM",
    "ms-gmsd": "MS-GMSD",
    "gmsd": "GMSD",
    "fsim": "FSIM",
    "fsimc": "FSIMc",
    "vifp": "VIFp",
    "vsi": "VSI",
    "mdsi": "MDSI",
    "srsim": "SR-SIM",
    "dists": "DISTS",
    "haarpsi": "HaarPSI",
}
# Options that describe how the score was computed, not what was scored.
_QUIET = {"device", "range_check", "channels_last", "cpu_engine", "download", "spatial"}


def metric_name(name: str) -> str:
    """`lpips-alex` → "LPIPS alex", `ssim` → "SSIM"; other names as they are."""
    if name in _NAMES:
        return _NAMES[name]
    if name.startswith("lpips-"):
        return "LPIPS " + name.removeprefix("lpips-")
    return name  # deep-<arch> names are the zoo's identifiers: kept as they are


def trunk_text(trunk) -> str:
    """A trunk setting (an option value or a fit's stored field) in words; "" for ImageNet."""
    if trunk is None or trunk == "random":
        return "random trunk"
    if trunk in ("", "imagenet"):
        return ""
    return f"trunk {PurePath(str(trunk)).name}"


def options_text(options: dict) -> list[str]:
    parts = []
    for key, value in sorted((options or {}).items()):
        if key in _QUIET:
            continue
        if key == "trunk_weights":
            text = trunk_text(value)
        elif key == "variant":
            text = str(value)
        elif key == "version":
            text = f"v{value}"
        elif key == "seed":
            text = ""  # only the random trunk uses it; "random trunk" already says so
        else:
            text = f"{key.replace('_', ' ')} {value}"
        if text:
            parts.append(text)
    return parts


def with_notes(label: str, notes: list[str]) -> str:
    return f"{label} ({', '.join(notes)})" if notes else label


def registry_label(name: str, options: dict) -> str:
    return with_notes(metric_name(name), options_text(options))


def fit_label(*, net: str, variant: str, pk: int, trunk_weights: str, options: dict) -> str:
    """A fitted metric: "LPIPS alex-lin, fit 3 (random trunk)"; zoo nets keep their arch."""
    base = f"{net}-{variant}" if net.startswith("deep-") else f"LPIPS {net}-{variant}"
    notes = [t for t in [trunk_text(trunk_weights)] if t]
    notes += [t for t in options_text(options) if t not in notes]
    return with_notes(f"{base}, fit {pk}", notes)
