"""Metric references: the one parser of the strings that name a metric to score.

A stored or requested metric is one of three kinds:

- ``"l2"``, ``"lpips-alex"``: a registry name (``metrics.list_metrics()``);
- ``"fitted:42"``: LPIPS lin weights fitted by the platform's fit run 42;
- ``"uploaded:7"``: LPIPS lin weights a researcher uploaded (upload 7).

``MetricRef.parse`` validates a string (a clear ``ValueError`` naming the problem) and ``str()``
gives it back, so ``str(MetricRef.parse(text)) == text`` for every valid text. Whether a fitted
run or an upload exists, and who may use it, is the platform's business: this module only knows
the syntax. It is cheap to import (no torch), so the web process uses it.

The "random trunk" rule lives here too: a stored trunk setting is a string (blank = the torch hub
ImageNet weights, ``"random"`` = a seeded random trunk, otherwise a checkpoint path), while the
LPIPS ``trunk_weights`` option is ``"imagenet"``, ``None`` (random) or a path. ``trunk_option``
and ``trunk_stored`` convert between the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

REGISTRY = "registry"
FITTED = "fitted"
UPLOADED = "uploaded"
PREFIXED_KINDS = (FITTED, UPLOADED)
KINDS = (REGISTRY, *PREFIXED_KINDS)

# Database ids: a positive integer without leading zeros (so the text round-trips), bounded so
# that it fits a 64-bit primary key.
_ID_RE = re.compile(r"^[1-9][0-9]{0,17}$")

RANDOM_TRUNK = "random"  # stored value meaning "seeded random trunk" (trunk_weights=None)
IMAGENET_TRUNK = "imagenet"  # the LPIPS option for the torch hub ImageNet weights (stored blank)


@dataclass(frozen=True)
class MetricRef:
    """A parsed metric reference.

    Attributes:
        kind: ``"registry"``, ``"fitted"`` or ``"uploaded"``.
        key: The registry name, or the object's id as canonical decimal text.
    """

    kind: str
    key: str

    KINDS: ClassVar[tuple[str, ...]] = KINDS

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric reference kind must be one of {', '.join(KINDS)}")
        if self.kind == REGISTRY:
            _check_registry_name(self.key)
        elif not isinstance(self.key, str) or not _ID_RE.match(self.key):
            raise ValueError(
                f"bad id {self.key!r} in metric reference '{self.kind}:{self.key}': "
                "use a positive whole number, e.g. "
                f"'{self.kind}:42'"
            )

    @classmethod
    def parse(cls, text: str) -> MetricRef:
        """Parse ``"<registry name>"``, ``"fitted:<id>"`` or ``"uploaded:<id>"``.

        Raises:
            ValueError: Not a string, an unknown prefix, a bad id, or an unknown registry name
                (the message lists the known names).
        """
        if not isinstance(text, str):
            raise ValueError(f"a metric reference is a string, got {type(text).__name__}")
        prefix, sep, rest = text.partition(":")
        if not sep:
            return cls(REGISTRY, text)
        if prefix not in PREFIXED_KINDS:
            raise ValueError(
                f"unknown metric prefix {prefix!r} in {text!r}; use a registry name, "
                "fitted:<id> or uploaded:<id>"
            )
        return cls(prefix, rest)

    @classmethod
    def fitted(cls, pk: int) -> MetricRef:
        return cls(FITTED, str(pk))

    @classmethod
    def uploaded(cls, pk: int) -> MetricRef:
        return cls(UPLOADED, str(pk))

    @property
    def is_registry(self) -> bool:
        return self.kind == REGISTRY

    @property
    def pk(self) -> int:
        """The id of a fitted run or upload.

        Raises:
            ValueError: For a registry reference.
        """
        if self.kind == REGISTRY:
            raise ValueError(f"{self} is a registry metric, not a stored object")
        return int(self.key)

    def __str__(self) -> str:
        return self.key if self.kind == REGISTRY else f"{self.kind}:{self.key}"


def _check_registry_name(name: object) -> None:
    from metrics._registry import get_metric_info

    if not isinstance(name, str) or not name:
        raise ValueError(
            "a metric reference needs a name: a registry name, fitted:<id> or uploaded:<id>"
        )
    get_metric_info(name)  # ValueError naming the known metrics


def trunk_option(stored: str) -> str | None:
    """The LPIPS ``trunk_weights`` option for a stored trunk setting.

    ``"random"`` → None (seeded random trunk), blank → ``"imagenet"``, a path → the path.
    """
    if stored == RANDOM_TRUNK:
        return None
    return stored or IMAGENET_TRUNK


def trunk_stored(option: str | None) -> str:
    """The stored trunk setting for an LPIPS ``trunk_weights`` option (inverse of
    ``trunk_option``): None → ``"random"``, ``"imagenet"`` → blank, a path → the path."""
    if option is None:
        return RANDOM_TRUNK
    return "" if option == IMAGENET_TRUNK else option
