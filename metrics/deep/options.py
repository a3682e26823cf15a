"""The options of the ``deep-<arch>`` metrics, declared once (torch-free, like
``metrics.lpips.options``, whose declarations of the trunk options are reused as they are).

The LPIPS options left out: ``version`` (the zoo always applies the ImageNet normalisation, the
v0.1 scaling layer) and ``cpu_engine`` (the fast 3×3 convolution is tuned for the LPIPS trunks).
``variant`` defaults to ``baseline`` since no lin weights ship for the zoo; ``lin`` needs
``lin_weights`` (a fit's ``lin.pth``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metrics._registry import OptionInfo
from metrics.lpips import options as lpips_options

DEEP_OPTIONS: tuple[OptionInfo, ...] = (
    OptionInfo(
        "variant",
        "baseline",
        "'baseline' (uniform channel weights, LPIPS's lpips=False) or 'lin' (non-negative 1×1 "
        "weights from `lin_weights`, fitted with the training path)",
        ("baseline", "lin"),
    ),
    lpips_options.option("trunk_weights"),
    OptionInfo(
        "lin_weights",
        None,
        "for variant 'lin': a path / state dict with keys 'lin{k}.model.1.weight' or 'lin.{k}' "
        "(a fit's lin.pth); no weights ship for the zoo",
    ),
    lpips_options.option("seed"),
    lpips_options.option("download"),
    lpips_options.option("spatial"),
    lpips_options.option("channels_last"),
)


def resolve(options: Mapping[str, Any], arch: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``metrics.lpips.options.resolve`` against ``DEEP_OPTIONS``."""
    return lpips_options.resolve(options, DEEP_OPTIONS, label=f"deep-{arch}")
