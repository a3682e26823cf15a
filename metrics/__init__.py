"""PerceptLab's Django-free metrics library: LPIPS, baseline metrics, scoring and BAPPS I/O.

The registry half of this package is cheap to import: ``import metrics`` and
``metrics.list_metrics()`` never import torch, so the web process can validate metric names.
Building or running a metric imports torch inside the metric's own module.

Quick use::

    import metrics
    [info.name for info in metrics.list_metrics()]      # 'fsim', 'l2', 'lpips-alex', ...
    lp = metrics.create_metric("lpips-alex")             # a torch.nn.Module, RGB in [-1, 1]
    d = lp(x0, x1)                                       # N×3×H×W each -> (N,) distances
    d = metrics.score_pairs(lp, files_a, files_b)        # batched, inference mode, progress bar
    d0, d1 = metrics.score_triplets(lp, ref, p0, p1)     # the reference's features computed once

See ``docs/metrics.md`` for every metric's definition, range and options.
"""

from __future__ import annotations

from typing import Any

from metrics import _catalog  # noqa: F401  (registers the built-in metrics)
from metrics._registry import (
    MetricInfo,
    OptionInfo,
    create_metric,
    get_metric_info,
    list_metrics,
    list_resolvers,
    register_metric,
    register_resolver,
    unregister_resolver,
)
from metrics.refs import MetricRef

# Attributes that need torch; loaded on first access so that `import metrics` stays torch-free.
_LAZY = {
    "score_pairs": "metrics.batched",
    "score_triplets": "metrics.batched",
    "Metric": "metrics.base",
}

__all__ = [
    "Metric",
    "MetricInfo",
    "MetricRef",
    "OptionInfo",
    "create_metric",
    "get_metric_info",
    "list_metrics",
    "list_resolvers",
    "register_metric",
    "register_resolver",
    "score_pairs",
    "score_triplets",
    "unregister_resolver",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metrics' has no attribute {name!r}")
