"""The options of the LPIPS metrics, declared once: names, defaults, allowed values, help.

Plain data, importable without torch: ``metrics._catalog`` registers these options for
``lpips-alex``, ``lpips-vgg`` and ``lpips-squeeze`` (so listings and the web process show them),
and ``metrics.lpips.model.LPIPS`` fills in defaults and checks values against them. An option is
added here and nowhere else (its effect, of course, in the model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metrics._registry import COMMON_OPTIONS, OptionInfo

CPU_ENGINES = ("fast", "eager")

LPIPS_OPTIONS: tuple[OptionInfo, ...] = (
    OptionInfo(
        "version", "0.1", "LPIPS version: '0.1' (scaling layer on) or '0.0'", ("0.1", "0.0")
    ),
    OptionInfo(
        "variant",
        "lin",
        "'lin' (learned non-negative 1×1 weights) or 'baseline' (uniform weights)",
        ("lin", "baseline"),
    ),
    OptionInfo(
        "trunk_weights",
        "imagenet",
        "'imagenet' (the torch hub cache under $TORCH_HOME, then torchvision's download), a path "
        "to a torchvision checkpoint, or None for a seeded random trunk",
    ),
    OptionInfo(
        "lin_weights",
        None,
        "None for the shipped official weights of `version`, or a path / state dict with keys "
        "'lin{k}.model.1.weight' (official) or 'lin.{k}' (ours); ignored by the baseline variant",
    ),
    OptionInfo("seed", 0, "seed of the random trunk when trunk_weights is None"),
    OptionInfo(
        "download",
        True,
        "allow torchvision's download when the ImageNet checkpoint is not in the cache",
        (False, True),
    ),
    OptionInfo(
        "spatial", False, "return N×H×W distance maps instead of N distances", (False, True)
    ),
    OptionInfo(
        "channels_last",
        None,
        "run the trunk in channels-last memory format; None: on CPU only (see docs/performance.md)",
        (None, False, True),
    ),
    OptionInfo(
        "cpu_engine",
        "fast",
        "'fast': 3×3 convolutions on 3×3 maps use the 16-product fast convolution on CPU in "
        "float32 without autograd (distances within 1e-6 of eager); 'eager': torchvision's "
        "layers only",
        CPU_ENGINES,
    ),
)

_COMMON = {opt.name for opt in COMMON_OPTIONS}


def option(name: str) -> OptionInfo:
    """The declared LPIPS option called ``name`` (``metrics.deep.options`` shares some)."""
    return next(opt for opt in LPIPS_OPTIONS if opt.name == name)


def defaults() -> dict[str, Any]:
    """Every LPIPS option with its default value."""
    return {opt.name: opt.default for opt in LPIPS_OPTIONS}


def resolve(
    options: Mapping[str, Any],
    declared: tuple[OptionInfo, ...] | None = None,
    label: str = "LPIPS",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split keyword options into (declared options with defaults filled in, common options).

    ``declared`` and ``label`` default to LPIPS's; ``metrics.deep.options`` passes its own.

    Raises:
        TypeError: For an option that is neither declared here nor common to all metrics.
        ValueError: For a value outside a declared option's allowed values.
    """
    if declared is None:
        declared = LPIPS_OPTIONS
    by_name = {opt.name: opt for opt in declared}
    unknown = sorted(set(options) - set(by_name) - _COMMON)
    if unknown:
        raise TypeError(
            f"{label} got unknown option(s) {', '.join(unknown)}; it accepts: "
            f"{', '.join([*by_name, *sorted(_COMMON)])}"
        )
    values = {opt.name: opt.default for opt in declared}
    values.update((k, v) for k, v in options.items() if k in by_name)
    for name, value in values.items():
        choices = by_name[name].choices
        if choices and value not in choices:  # as metrics._registry.resolve_options checks
            raise ValueError(
                f"{label} option {name} must be one of {', '.join(repr(c) for c in choices)}, "
                f"got {value!r}"
            )
    return values, {k: v for k, v in options.items() if k in _COMMON}
