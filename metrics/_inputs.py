"""Input validation shared by every metric: type, dtype, shape, size and value range.

The checks fail early with messages that say what was expected and how to fix the input. The
range check looks at both ends of the declared range, and for metrics that take [-1, 1] it also
rejects a batch with no negative value at all, the signature of [0, 1] data passed by mistake
(a known source of wrong published LPIPS numbers: the official package expects [-1, 1] unless
called with ``normalize=True``).
"""

from __future__ import annotations

import torch

# Inputs produced by exact conversions (2x−1, x/255) hit the ends exactly; this slack only forgives
# float rounding in users' own conversions.
RANGE_SLACK = 1e-6


def check_image_batch(x: object, name: str) -> torch.Tensor:
    """Check that ``x`` is an N×3×H×W floating-point tensor and return it.

    Raises:
        TypeError: Not a tensor, or not floating point.
        ValueError: Wrong number of dimensions or channels.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} has dtype {x.dtype}; metrics take floating-point tensors "
            "(convert 8-bit images with x.float() / 255 and map them to the metric's range)"
        )
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} must have shape N×3×H×W (RGB), got {tuple(x.shape)}")
    return x


def check_size(x: torch.Tensor, *, min_size: int, metric_name: str) -> None:
    """Raise ValueError when the images of ``x`` (N×3×H×W) are smaller than ``min_size``."""
    height, width = x.shape[-2:]
    if min(height, width) < min_size:
        raise ValueError(
            f"{metric_name} needs images of at least {min_size}×{min_size} pixels, "
            f"got {height}×{width}"
        )


def check_batches(
    batches: dict[str, object],
    *,
    input_range: tuple[float, float],
    min_size: int,
    range_check: str,
    metric_name: str,
) -> list[torch.Tensor]:
    """Validate image batches that a metric compares with each other.

    Args:
        batches: Name (for messages) → N×3×H×W float tensor; all must share one shape.
        input_range: The metric's declared closed range ``(low, high)``.
        min_size: The smallest height and width the metric can process.
        range_check: ``"strict"``, ``"bounds"`` or ``"off"`` (see ``metrics._registry``); the
            strict [0, 1]-data test looks at all batches together.
        metric_name: Used in messages.

    Returns:
        The tensors, unchanged, in the order given.

    Raises:
        TypeError: Wrong type or dtype.
        ValueError: Wrong shape, mismatched shapes, too small, values outside the range, NaN.
    """
    xs = [check_image_batch(x, name) for name, x in batches.items()]
    names = list(batches)
    for name, x in zip(names[1:], xs[1:], strict=True):
        if x.shape != xs[0].shape:
            raise ValueError(
                f"{names[0]} and {name} must have the same shape, got {tuple(xs[0].shape)} and "
                f"{tuple(x.shape)}"
            )
    check_size(xs[0], min_size=min_size, metric_name=metric_name)
    if range_check != "off" and xs[0].numel() > 0:
        check_range(
            *xs, input_range=input_range, strict=range_check == "strict", metric_name=metric_name
        )
    return xs


def check_range(
    *xs: torch.Tensor, input_range: tuple[float, float], strict: bool, metric_name: str
) -> None:
    """Raise ValueError when a value lies outside ``input_range`` (or looks like [0, 1] data).

    One device sync for all tensors: the minima and maxima are stacked before ``tolist()``.
    """
    low, high = input_range
    # float32 on the first tensor's device, so batches of mixed dtype or device stack too.
    stats = torch.stack(
        [t.float().to(xs[0].device) for x in xs for t in torch.aminmax(x.detach())]
    ).tolist()
    lo, hi = min(stats[0::2]), max(stats[1::2])
    # NaN fails both comparisons, so it lands here too.
    if not (lo >= low - RANGE_SLACK and hi <= high + RANGE_SLACK):
        hint = ""
        if hi > 1.5 and high <= 1.0:
            hint = " The values look like 0–255 data: divide by 255 first."
        elif lo < 0.0 <= low:
            hint = " The values look like [-1, 1] data: map them with (x + 1) / 2."
        raise ValueError(
            f"{metric_name} takes values in [{low:g}, {high:g}], got min {lo:g} and max {hi:g}."
            + hint
        )
    if strict and low < 0.0 and lo >= 0.0:
        raise ValueError(
            f"{metric_name} takes values in [{low:g}, {high:g}], but no input value is negative: "
            "this looks like [0, 1] data. Map it with 2 * x - 1. If these images really have no "
            "pixel below mid-grey, create the metric with range_check='bounds'."
        )
