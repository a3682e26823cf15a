"""The metric registry: names mapped to static descriptions and lazily imported factories.

The web process imports this module to validate metric names and show their options, and it must
never import torch. So an entry holds only plain data and the dotted path of its factory; the
factory's module (which imports torch) is imported the first time ``create_metric`` builds that
metric. Prefix resolvers (``register_resolver``) let the platform add whole families of metrics
later, such as fitted LPIPS checkpoints stored in its database (``"fitted:42"``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

_NO_CHOICES: tuple[Any, ...] = ()


@dataclass(frozen=True)
class OptionInfo:
    """One keyword option that ``create_metric`` accepts for a metric.

    Attributes:
        name: Keyword name.
        default: Value used when the option is not given.
        help: One-line description.
        choices: The allowed values, or empty when any value of the right kind is allowed.
    """

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] = _NO_CHOICES


@dataclass(frozen=True)
class MetricInfo:
    """Static description of a metric; safe to use without torch.

    Every metric returns distances, so ``lower_is_more_similar`` is True for all built-in metrics;
    similarity indices (PSNR, SSIM, MS-SSIM, FSIM) are turned into distances as documented in
    ``summary`` and ``docs/metrics.md``.

    Attributes:
        name: Registry name, e.g. ``"lpips-alex"``.
        input_range: Closed interval ``(low, high)`` that every input value must lie in.
        lower_is_more_similar: True when a smaller output means more similar images.
        options: The options ``create_metric`` accepts for this metric.
        summary: One-line description, including how the distance is defined.
        factory: ``"module:function"`` building the metric; imported only when it is created.
        values: For a created metric, the option values it was built with (defaults filled in);
            empty in ``list_metrics()`` results.
        differentiable: True when autograd through the metric gives its gradient with respect
            to the images (checked against finite differences in ``tests/metrics/test_duels_*``),
            so that MAD synthesis (``metrics.duels``) can move images along it. False for metrics
            whose gradient is unusable at the scale of an optimisation step (thresholds, medians,
            max-normalised saliency) and for every metric registered without saying so.
    """

    name: str
    input_range: tuple[float, float]
    lower_is_more_similar: bool
    options: tuple[OptionInfo, ...]
    summary: str
    factory: str
    values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    differentiable: bool = False

    def __deepcopy__(self, memo: dict) -> MetricInfo:
        return self  # immutable (and ``values`` is a read-only view, which cannot be copied)

    def __reduce__(self) -> tuple:
        # Pickle ``values`` as a plain dict and restore the read-only view.
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__}
        fields["values"] = dict(self.values)
        return (_unpickle_info, (fields,))

    def option(self, name: str) -> OptionInfo:
        """Return the declared option called ``name``.

        Raises:
            KeyError: When the metric has no such option.
        """
        for opt in self.options:
            if opt.name == name:
                return opt
        raise KeyError(name)


def _unpickle_info(fields: dict[str, Any]) -> MetricInfo:
    return MetricInfo(**{**fields, "values": MappingProxyType(fields["values"])})


# Options every metric accepts. They are appended to each entry's own options so that listings
# show them too.
COMMON_OPTIONS = (
    OptionInfo("device", None, "torch device; None picks CUDA when available, else CPU"),
    OptionInfo(
        "range_check",
        "strict",
        "'strict' checks both ends of the input range and, for [-1, 1] metrics, rejects "
        "batches with no negative value ([0, 1] data); 'bounds' checks only the ends; 'off' skips "
        "the check (no device sync)",
        ("strict", "bounds", "off"),
    ),
)

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_METRICS: dict[str, MetricInfo] = {}
_RESOLVERS: dict[str, Callable[..., Any]] = {}


def register_metric(info: MetricInfo) -> MetricInfo:
    """Add a metric to the registry, with the common options appended.

    Args:
        info: The metric's description. ``info.factory`` is ``"module:function"``; the function is
            called with every option as a keyword argument (defaults filled in) and must return a
            ``metrics.base.Metric``.

    Returns:
        The registered info (with the common options).

    Raises:
        ValueError: When the name is malformed or already registered.
    """
    if not _NAME_RE.match(info.name):
        raise ValueError(f"metric name {info.name!r} must match {_NAME_RE.pattern}")
    if info.name in _METRICS:
        raise ValueError(f"metric {info.name!r} is already registered")
    if ":" not in info.factory:
        raise ValueError(f"factory {info.factory!r} must look like 'package.module:function'")
    full = replace(info, options=info.options + COMMON_OPTIONS)
    _METRICS[info.name] = full
    return full


def register_resolver(prefix: str, fn: Callable[..., Any]) -> None:
    """Route every name ``"<prefix>:<rest>"`` to ``fn(rest, **options)``.

    Example: ``register_resolver("fitted", load_fit)`` makes ``create_metric("fitted:42",
    device="cpu")`` call ``load_fit("42", device="cpu")``. The resolver validates its own options
    and returns the metric (normally a ``metrics.base.Metric``).

    Raises:
        ValueError: When the prefix is malformed or already taken.
    """
    if not _NAME_RE.match(prefix):
        raise ValueError(f"resolver prefix {prefix!r} must match {_NAME_RE.pattern}")
    if prefix in _RESOLVERS:
        raise ValueError(f"resolver prefix {prefix!r} is already registered")
    _RESOLVERS[prefix] = fn


def unregister_resolver(prefix: str) -> None:
    """Remove a resolver added with ``register_resolver`` (tests and plugin reloads use this)."""
    _RESOLVERS.pop(prefix, None)


def list_metrics(pattern: str | None = None) -> list[MetricInfo]:
    """Return the registered metrics, sorted by name; never imports torch.

    Args:
        pattern: Optional shell-style pattern such as ``"lpips-*"``.
    """
    import fnmatch

    infos = sorted(_METRICS.values(), key=lambda i: i.name)
    if pattern is not None:
        infos = [i for i in infos if fnmatch.fnmatchcase(i.name, pattern)]
    return infos


def list_resolvers() -> list[str]:
    """Return the registered resolver prefixes, sorted."""
    return sorted(_RESOLVERS)


def get_metric_info(name: str) -> MetricInfo:
    """Return the static description of a registered metric; never imports torch.

    Raises:
        ValueError: When no metric has this name (the message lists the known names).
    """
    try:
        return _METRICS[name]
    except KeyError:
        raise ValueError(_unknown_name_message(name)) from None


def resolve_options(info: MetricInfo, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check option names and choices and fill in defaults; never imports torch.

    Raises:
        TypeError: For an option the metric does not declare.
        ValueError: For a value outside the option's choices.
    """
    declared = {opt.name: opt for opt in info.options}
    unknown = sorted(set(options) - set(declared))
    if unknown:
        raise TypeError(
            f"metric {info.name!r} got unknown option(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(declared)}"
        )
    values = {name: opt.default for name, opt in declared.items()}
    values.update(options)
    for name, value in values.items():
        choices = declared[name].choices
        if choices and value not in choices:
            raise ValueError(
                f"metric {info.name!r}: option {name}={value!r} is not one of "
                f"{', '.join(repr(c) for c in choices)}"
            )
    return values


def create_metric(name: str, **options: Any) -> Any:
    """Build a metric by registry name, or through a prefix resolver.

    Args:
        name: A registered name (see ``list_metrics``) or ``"<prefix>:<rest>"`` for a resolver.
        **options: The metric's options (see its ``MetricInfo.options``).

    Returns:
        A ``metrics.base.Metric`` (a ``torch.nn.Module``): call it as ``metric(x0, x1)`` on two
        N×3×H×W float tensors in ``metric.info.input_range`` to get N distances. Its ``info``
        carries the option values in ``info.values``.

    Raises:
        ValueError: Unknown name or bad option value.
        TypeError: Unknown option.
    """
    if not isinstance(name, str):
        raise TypeError(f"metric name must be a string, got {type(name).__name__}")
    prefix, sep, rest = name.partition(":")
    if sep:
        if prefix not in _RESOLVERS:
            raise ValueError(
                f"no resolver for prefix {prefix!r} in {name!r}; "
                f"registered prefixes: {', '.join(list_resolvers()) or 'none'}"
            )
        return _RESOLVERS[prefix](rest, **options)
    info = get_metric_info(name)
    values = resolve_options(info, options)
    module_name, _, func_name = info.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), func_name)
    metric = factory(**values)
    metric.info = replace(info, values=MappingProxyType(dict(values)))
    return metric


def _unknown_name_message(name: str) -> str:
    import difflib

    names = sorted(_METRICS)
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"unknown metric {name!r}.{hint} Known metrics: {', '.join(names)}"
