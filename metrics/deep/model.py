"""``deep-<arch>``: the LPIPS comparison on any zoo trunk (``metrics.deep.archs``).

For two RGB batches in [-1, 1]: the ImageNet normalisation written for [-1, 1], which is
LPIPS's scaling layer (shift = 2·mean − 1 = (−.030, −.088, −.188), scale = 2·std = (.458, .448,
.450)); the trunk's taps (``metrics.deep.trunk``); each tap normalised over channels,
f / (‖f‖₂ + 1e-10); Δ_l = (f̂0 − f̂1)²; d = Σ_l Σ_c w_lc · mean_hw Δ_lc with w = 1 (``baseline``,
LPIPS's ``lpips=False``) or non-negative fitted lin weights (``lin``). All of it, including the
CPU pass sizing, the interleaved trunk input and the in-place comparison, is
``metrics.lpips.model.LPIPS``'s code: ``DeepFeatures`` only builds another trunk.
"""

from __future__ import annotations

from typing import Any

import torch

from metrics.base import Metric
from metrics.deep import options as deep_options
from metrics.deep.archs import ARCHS, arch_of, is_deep
from metrics.deep.trunk import build_zoo_trunk
from metrics.lpips.model import LPIPS


class DeepFeatures(LPIPS):
    """An LPIPS-style distance with a torchvision classifier's features.

    Args:
        arch: A ``metrics.deep.archs.ARCHS`` key, e.g. ``"resnet18"`` (or ``"deep-resnet18"``).
        **options: Declared in ``metrics.deep.options.DEEP_OPTIONS`` (``variant``,
            ``trunk_weights``, ``lin_weights``, ``seed``, ``download``, ``spatial``,
            ``channels_last``), plus ``device`` and ``range_check``.

    Raises:
        TypeError: An option that is not declared.
        ValueError: An unknown architecture, a bad option value, or ``variant="lin"`` without
            ``lin_weights``.

    Shape:
        - x0, x1: N×3×H×W, RGB in [-1, 1], at least ``spec.min_size`` pixels a side.
        - output: (N,), or N×H×W with ``spatial=True``.
    """

    def __init__(self, arch: str, **options: Any) -> None:
        if is_deep(arch):
            arch = arch_of(arch)
        if arch not in ARCHS:
            raise ValueError(f"unknown zoo architecture {arch!r}; choose from {', '.join(ARCHS)}")
        values, common = deep_options.resolve(options, arch)
        spec = ARCHS[arch]
        if values["variant"] == "lin" and values["lin_weights"] is None:
            raise ValueError(
                f"{spec.net} has no shipped lin weights: pass lin_weights=<a fit's lin.pth> "
                "(python -m metrics train --net "
                f"{spec.net}, or the platform's fit), or use variant='baseline'"
            )
        Metric.__init__(self, spec.net, **common)
        trunk = build_zoo_trunk(
            arch, values["trunk_weights"], seed=values["seed"], download=values["download"]
        )
        self._assemble(spec, trunk, {**values, "version": "0.1", "cpu_engine": "eager"})

    def engine_used(self) -> str:
        return "eager"

    def provenance(self) -> dict[str, Any]:
        """``Metric.provenance`` plus ``net``, ``arch``, ``variant``, ``taps``,
        ``input_policy`` and ``trunk`` (the trunk's declared supervision)."""
        return {
            **Metric.provenance(self),
            "net": self.spec.net,
            "arch": self.spec.arch,
            "variant": self.variant,
            "taps": list(self.spec.taps),
            "input_policy": self.spec.input_policy,
            "engine_used": "eager",
            "trunk": dict(self.trunk_declaration),
        }


def build(arch: str):
    """The registry factory of ``deep-<arch>``."""

    def factory(**options: object) -> DeepFeatures:
        return DeepFeatures(arch, **options)

    return factory


def __getattr__(name: str) -> Any:
    # The catalog names factories "metrics.deep.model:build_<arch>".
    if name.startswith("build_") and name[6:] in ARCHS:
        return build(name[6:])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def trunk_model(
    net: str,
    *,
    version: str = "0.1",
    variant: str = "baseline",
    trunk_weights: Any = "imagenet",
    seed: int = 0,
    lin_weights: Any = None,
    device: str | torch.device | None = None,
    cpu_engine: str = "fast",
) -> LPIPS:
    """The model training works with, for an LPIPS net (``alex``, ``vgg``, ``squeeze``) or a zoo
    net (``deep-<arch>``; ``version`` must be ``"0.1"`` and ``cpu_engine`` does not apply)."""
    if is_deep(net):
        if version != "0.1":
            raise ValueError(f"{net} applies the ImageNet normalisation (version '0.1') only")
        return DeepFeatures(
            net,
            variant=variant,
            trunk_weights=trunk_weights,
            seed=seed,
            lin_weights=lin_weights,
            device=device,
        )
    return LPIPS(
        net,
        version=version,
        variant=variant,
        trunk_weights=trunk_weights,
        seed=seed,
        lin_weights=lin_weights,
        device=device,
        cpu_engine=cpu_engine,
    )
