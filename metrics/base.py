"""The ``Metric`` base class: one calling convention for every metric.

``metric(x0, x1)`` takes two N×3×H×W floating-point tensors whose values lie in
``metric.info.input_range`` and returns a tensor of shape (N,) of distances (lower = more similar).
Validation (type, dtype, shape, size, range) happens here, once, before a subclass's ``distance``
runs; inputs are moved to the metric's device.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from metrics._inputs import check_batches
from metrics._registry import MetricInfo, get_metric_info


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Return ``device``, or CUDA when available and CPU otherwise when it is None.

    Raises:
        ValueError: For a string torch does not understand.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"invalid device {device!r}: {exc}") from None


class Metric(nn.Module):
    """Base class of all metrics.

    Subclasses implement ``distance(x0, x1)`` on validated tensors that are already on the
    metric's device, and set ``min_size`` when they need a minimum image size.

    Args:
        name: Registry name; ``self.info`` starts as its static description and ``create_metric``
            replaces it with one that carries the option values.
        device: Torch device; None picks CUDA when available, else CPU.
        range_check: ``"strict"``, ``"bounds"`` or ``"off"``; see ``metrics._inputs``.

    Shape:
        - x0, x1: N×3×H×W, floating point, values in ``info.input_range``.
        - output: (N,), distances.
    """

    min_size: int = 1

    def __init__(
        self, name: str, *, device: str | torch.device | None = None, range_check: str = "strict"
    ) -> None:
        super().__init__()
        self.info: MetricInfo = get_metric_info(name)
        if range_check not in ("strict", "bounds", "off"):
            raise ValueError(
                f"range_check must be 'strict', 'bounds' or 'off', got {range_check!r}"
            )
        self.range_check = range_check
        # An empty buffer that follows .to()/.cuda(), so `device` stays right for metrics without
        # parameters too.
        self.register_buffer(
            "_anchor", torch.empty(0, device=resolve_device(device)), persistent=False
        )

    @property
    def device(self) -> torch.device:
        """The device the metric computes on."""
        return self._anchor.device

    def compute_dtype(self, x: torch.Tensor) -> torch.dtype:
        """The dtype used for an input; parameter-free metrics keep the input's dtype."""
        return x.dtype

    def effective_range_check(self, override: str | None) -> str:
        """The range check for one call: ``override`` may only relax the metric's own setting."""
        order = ("off", "bounds", "strict")
        if override is None:
            return self.range_check
        if override not in order:
            raise ValueError(f"range_check must be 'strict', 'bounds' or 'off', got {override!r}")
        return min(override, self.range_check, key=order.index)

    def prepare(
        self, *batches: object, range_check: str | None = None, names: tuple[str, ...] = ()
    ) -> list[torch.Tensor]:
        """Validate batches compared with each other and move them to the metric's device/dtype.

        Args:
            *batches: N×3×H×W floating-point tensors of one shape.
            range_check: Optional per-call relaxation of the metric's ``range_check``; callers
                that produced the values themselves (image files mapped onto the range) pass
                ``"bounds"``.
            names: Names used in error messages (default x0, x1, ...).

        Returns:
            The batches, on ``self.device`` in the compute dtype.
        """
        names = names or tuple(f"x{i}" for i in range(len(batches)))
        xs = check_batches(
            dict(zip(names, batches, strict=True)),
            input_range=self.info.input_range,
            min_size=self.min_size,
            range_check=self.effective_range_check(range_check),
            metric_name=self.info.name,
        )
        dtype = self.compute_dtype(xs[0])
        return [x.to(self.device, dtype, non_blocking=True) for x in xs]

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """Distances between corresponding images of two batches.

        Args:
            x0: N×3×H×W floating-point tensor in ``info.input_range``.
            x1: Same shape as ``x0``.

        Returns:
            Tensor of shape (N,) on the metric's device; lower means more similar.
        """
        x0, x1 = self.prepare(x0, x1)
        return self.distance(x0, x1)

    def distance(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """Distances for validated inputs on the metric's device; implemented by subclasses."""
        raise NotImplementedError(f"{type(self).__name__} must implement distance()")

    def triplet_distances(
        self,
        ref: torch.Tensor,
        p0: torch.Tensor,
        p1: torch.Tensor,
        *,
        range_check: str | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Distances d(ref, p0) and d(ref, p1) for 2AFC triplets, each of shape (N,).

        The base version makes two calls; metrics with an expensive per-image stage (LPIPS)
        override it to process the reference once. ``range_check`` as in ``prepare``.
        """
        ref, p0, p1 = self.prepare(ref, p0, p1, range_check=range_check, names=("ref", "p0", "p1"))
        return self.distance(ref, p0), self.distance(ref, p1)

    def provenance(self) -> dict[str, Any]:
        """How this metric computes, as a JSON-safe dict to store with every score.

        Keys: ``metric`` (registry name), ``options`` (the option values it was built with
        through ``create_metric``, JSON-safe: paths as strings, state dicts and other objects
        as ``"<TypeName>"``; empty when built directly), ``torch`` (``torch.__version__``),
        ``device`` (e.g. ``"cpu"``, ``"cuda:0"``) and ``dtype`` (the dtype it computes in for
        float32 inputs, e.g. ``"float32"``). Subclasses add their own keys (LPIPS: its CPU
        engine).
        """
        probe = torch.empty(0, dtype=torch.float32)
        return {
            "metric": self.info.name,
            "options": {k: _json_safe(v) for k, v in self.info.values.items()},
            "torch": torch.__version__,
            "device": str(self.device),
            "dtype": str(self.compute_dtype(probe)).removeprefix("torch."),
        }

    def extra_repr(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.info.values.items() if k != "lin_weights")
        return f"name={self.info.name!r}" + (f", {values}" if values else "")


def _json_safe(value: object) -> object:
    """A JSON-safe stand-in for an option value (see ``Metric.provenance``)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, torch.device | torch.dtype):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return f"<{type(value).__name__}>"
