"""Training configuration: the official recipe's defaults, validation, and the learning-rate rule.

The defaults are the official training script's (Zhang et al., CVPR 2018): Adam with lr 1e-4
and betas (0.5, 0.999), batches of 50 shuffled triplets, 5 epochs at the base rate then 5 with a
linear decay, dropout p = 0.5 before the lin layer, lin weights clamped to ≥ 0 after every step.
A :class:`TrainConfig` is plain data (JSON-ready through :meth:`TrainConfig.to_dict`), so the
platform can store it with a fit run and a checkpoint can refuse to resume under another one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from metrics.deep.archs import is_deep

NETS = ("alex", "vgg", "squeeze")  # the LPIPS trunks; every metrics.deep net (deep-<arch>) too
VARIANTS = ("lin", "tune", "scratch")
VERSIONS = ("0.1", "0.0")
PATHS = ("auto", "fast", "full")


class TrainingError(ValueError):
    """Bad training input or configuration; the message says what to change."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a fit's result (the device does not, so it is not here).

    Attributes:
        net: Trunk, ``"alex"``, ``"vgg"`` or ``"squeeze"``, or a zoo net ``"deep-<arch>"``
            (``metrics.deep.archs``; version ``"0.1"`` only).
        variant: ``"lin"`` (frozen pretrained trunk), ``"tune"`` (pretrained trunk trained too)
            or ``"scratch"`` (random trunk trained too).
        version: ``"0.1"`` (scaling layer) or ``"0.0"``.
        epochs: Epochs at the base learning rate (official ``--nepoch``).
        decay_epochs: Epochs of linear decay after them (official ``--nepoch_decay``).
        lr: Base learning rate of Adam.
        beta1: Adam's first beta (the second is 0.999).
        batch_size: Triplets per step.
        dropout: Dropout probability before the lin layer during training (0 disables it).
        seed: Seeds the lin and G initialisation, the shuffling and the dropout noise (and the
            trunk of ``scratch``).
        path: ``"fast"`` (cached per-channel vectors; lin only), ``"full"`` (images through the
            trunk every step) or ``"auto"`` (fast for lin, full otherwise).
        trunk_weights: ``"imagenet"``, a torchvision checkpoint path, or None for a random trunk
            seeded by ``trunk_seed`` (tests, benchmarks). Must be None for ``scratch``.
        trunk_seed: Seed of a random trunk for lin/tune (scratch uses ``seed``).
        load_size: Shorter side of images read from BAPPS folders (the official 64).
    """

    net: str = "alex"
    variant: str = "lin"
    version: str = "0.1"
    epochs: int = 5
    decay_epochs: int = 5
    lr: float = 1e-4
    beta1: float = 0.5
    batch_size: int = 50
    dropout: float = 0.5
    seed: int = 0
    path: str = "auto"
    trunk_weights: str | None = "imagenet"
    trunk_seed: int = 0
    load_size: int = 64

    def __post_init__(self) -> None:
        if not is_deep(self.net):
            _choice("net", self.net, (*NETS, "deep-<arch>"))
        elif self.version != "0.1":
            raise TrainingError(
                f"{self.net} applies the ImageNet normalisation, version '0.1'; got "
                f"{self.version!r}"
            )
        _choice("variant", self.variant, VARIANTS)
        _choice("version", self.version, VERSIONS)
        _choice("path", self.path, PATHS)
        _integer("epochs", self.epochs, 0)
        _integer("decay_epochs", self.decay_epochs, 0)
        if self.epochs + self.decay_epochs < 1:
            raise TrainingError("epochs + decay_epochs must be at least 1")
        _integer("batch_size", self.batch_size, 1)
        _integer("seed", self.seed, 0)
        _integer("trunk_seed", self.trunk_seed, 0)
        _integer("load_size", self.load_size, 1)
        _positive("lr", self.lr)
        if not (isinstance(self.beta1, int | float) and 0.0 <= self.beta1 < 1.0):
            raise TrainingError(f"beta1 must lie in [0, 1), got {self.beta1!r}")
        if not (isinstance(self.dropout, int | float) and 0.0 <= self.dropout < 1.0):
            raise TrainingError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if self.path == "fast" and self.variant != "lin":
            raise TrainingError(
                f"the fast path needs a frozen trunk, so it exists only for variant 'lin'; "
                f"{self.variant!r} trains the trunk and must use path 'full' (or 'auto')"
            )
        if self.variant == "scratch" and self.trunk_weights is not None:
            raise TrainingError(
                "variant 'scratch' starts from a random trunk seeded by `seed`; "
                "pass trunk_weights=None (CLI: --trunk-weights random)"
            )

    @property
    def total_epochs(self) -> int:
        return self.epochs + self.decay_epochs

    @property
    def resolved_path(self) -> str:
        """``"fast"`` or ``"full"``: what ``"auto"`` means for this variant."""
        if self.path != "auto":
            return self.path
        return "fast" if self.variant == "lin" else "full"

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 1-based ``epoch``, following the official update order.

        The official loop lowers the rate by lr/decay_epochs *after* each epoch beyond
        ``epochs``, so with 5 + 5 epochs 1–6 run at lr, epoch 7 at 0.8·lr, … epoch 10 at 0.2·lr.
        """
        if self.decay_epochs == 0:
            return float(self.lr)
        drops = max(0, epoch - self.epochs - 1)
        return float(self.lr) * (1.0 - drops / self.decay_epochs)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys raise :class:`TrainingError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**dict(data))


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise TrainingError(f"unknown {name} {value!r}; choose from {', '.join(allowed)}")


def _integer(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise TrainingError(f"{name} must be an integer ≥ {minimum}, got {value!r}")


def _positive(name: str, value: object) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value > 0):
        raise TrainingError(f"{name} must be a positive number, got {value!r}")
