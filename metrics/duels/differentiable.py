"""Which metrics MAD synthesis can follow: ``is_differentiable``, torch-free for names."""

from __future__ import annotations

from typing import Any

from metrics._registry import get_metric_info
from metrics.refs import PREFIXED_KINDS, MetricRef

# Options whose non-default values make a metric piecewise constant in its inputs.
_QUANTIZING = ("quantize",)


def is_differentiable(metric: Any) -> bool:
    """Whether MAD synthesis can move images along ``metric``'s gradient.

    Args:
        metric: A registry name (``"lpips-alex"``), a platform reference (``"fitted:42"``,
            ``"uploaded:7"``: LPIPS lin weights, so differentiable), or a built metric (a
            ``metrics.base.Metric``, whose option values count: ``quantize`` makes it piecewise
            constant). Names never import torch.

    Returns:
        The registry's ``MetricInfo.differentiable`` for the metric, False when it quantises.

    Raises:
        ValueError: An unknown name or prefix.
        TypeError: Neither a name nor a metric with an ``info``.
    """
    if isinstance(metric, str):
        ref = MetricRef.parse(metric)  # unknown prefixes, bad ids and unknown names raise
        if ref.kind in PREFIXED_KINDS:
            return True  # fitted and uploaded references are LPIPS lin weights
        return get_metric_info(metric).differentiable
    info = getattr(metric, "info", None)
    if info is None or not hasattr(info, "differentiable"):
        raise TypeError(
            f"is_differentiable takes a metric name or a built metric, got {type(metric).__name__}"
        )
    if any(info.values.get(name) not in (None, False) for name in _QUANTIZING):
        return False
    return bool(info.differentiable)


def metric_label(metric: Any) -> str:
    """A metric's name for messages: its registry name, or its type."""
    if isinstance(metric, str):
        return metric
    info = getattr(metric, "info", None)
    return getattr(info, "name", type(metric).__name__)
