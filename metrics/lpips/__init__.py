"""LPIPS: the model (``model``), its trunks (``trunks``), its lin weights (``lin``), the fast 3×3
convolution of its CPU engine (``fastconv``) and its declared options (``options``).

Build it through the registry (``metrics.create_metric("lpips-alex", ...)``) or directly with
``metrics.lpips.LPIPS("alex", ...)``. Importing this package does not import torch (so that
``metrics.lpips.options`` stays torch-free); its names below are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LPIPS": "metrics.lpips.model",
    "TRUNKS": "metrics.lpips.trunks",
    "TrunkWeightsNotFound": "metrics.lpips.trunks",
    "build_trunk": "metrics.lpips.trunks",
    "load_lin_weights": "metrics.lpips.lin",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
