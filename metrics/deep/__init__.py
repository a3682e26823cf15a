"""``deep-<arch>``: any torchvision classification network as an LPIPS-style metric.

``archs`` declares the zoo (torch-free), ``options`` its options (torch-free), ``trunk`` builds
trunks with torchvision's ``create_feature_extractor`` and ``model`` is the metric (the LPIPS
comparison, ``metrics.lpips.model``, on a zoo trunk). Build it with
``metrics.create_metric("deep-resnet18", ...)``. Importing this package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ARCHS": "metrics.deep.archs",
    "DeepFeatures": "metrics.deep.model",
    "ZooTrunk": "metrics.deep.trunk",
    "build_zoo_trunk": "metrics.deep.trunk",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
