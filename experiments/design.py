"""Study designs: what the trial planner needs to know, as validated, JSON-friendly objects.

A :class:`TrialDesign` says which reference images to use, which categories of distortions to
draw from (each a list of :class:`Choice` or, for imported outputs, of :class:`ExternalItem`),
how many trials per ``(split, category)``, and the sentinel and identical-pair settings. It is
stored by the platform as ``design.to_dict()`` and rebuilt with :meth:`TrialDesign.from_dict`;
every check raises ValueError naming the problem, before anything is generated.

Categories are labels the researcher chooses (BAPPS uses ``traditional``, ``cnn``, ``mix``,
``superres``, ``deblur``, ``color``, ``frameinterp``). A category is **paired** when both sides
of a 2AFC trial must show two different algorithms on the same input (real algorithms and
external outputs): its choices must share one task (see
:attr:`experiments.registry.DistortionInfo.task`), so the sampled task parameters coincide.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments._arrays import MIN_SIDE
from experiments.patches import check_rescale, check_sha256
from experiments.registry import get_distortion

KINDS = ("2afc", "jnd")
SENTINEL = "sentinel"  # reserved split and category label of sentinel trials
MAX_SENTINEL_RATE = 0.5
_LABEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _label(value: object, what: str) -> str:
    if not isinstance(value, str) or not _LABEL.match(value) or value == SENTINEL:
        raise ValueError(
            f"{what} must be a lowercase label [a-z0-9_-] (not {SENTINEL!r}), got {value!r}"
        )
    return value


def _share(value: object, what: str, high: float = 1.0) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (math.isfinite(value) and 0.0 <= value <= high)
    ):
        raise ValueError(f"{what} must be a number in [0, {high}], got {value!r}")
    return float(value)


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{what} must be an integer >= 0, got {value!r}")
    return int(value)


def _shas(values: object, what: str) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"{what} must be a list of SHA-256 digests, got {values!r}")
    return tuple(check_sha256(v, what) for v in values)


@dataclass(frozen=True)
class Choice:
    """A distortion a category may draw, with its severity range and weight.

    Attributes:
        name: Registered distortion name.
        severity: ``(lo, hi)`` within [0, 1]; each draw is uniform in it.
        weight: Relative probability within the category (> 0).
        models: SHA-256s of trained models (required for model-backed distortions).
        pool: For ``composed``, the atomic distortions to pair (default: all 20).
    """

    name: str
    severity: tuple[float, float] = (0.0, 1.0)
    weight: float = 1.0
    models: tuple[str, ...] = ()
    pool: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str, where: str) -> Choice:
        if isinstance(data, str):
            data = {"name": data}
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} must be a distortion name or a dict, got {data!r}")
        unknown = sorted(set(data) - {"name", "severity", "weight", "models", "pool"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}")
        info = get_distortion(data.get("name")).info
        severity = data.get("severity", (0.0, 1.0))
        if isinstance(severity, str) or not isinstance(severity, Sequence) or len(severity) != 2:
            raise ValueError(f"{where}: severity must be a [lo, hi] pair, got {severity!r}")
        lo, hi = (_share(v, f"{where}: severity") for v in severity)
        if lo > hi:
            raise ValueError(f"{where}: severity range [{lo}, {hi}] is empty")
        weight = data.get("weight", 1.0)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not (math.isfinite(weight) and weight > 0)
        ):
            raise ValueError(f"{where}: weight must be a positive number, got {weight!r}")
        models = _shas(data.get("models", ()), f"{where}: models")
        if info.model_kind is not None and not models:
            raise ValueError(
                f"{where}: {info.name} needs 'models' (trained {info.model_kind} SHA-256s)"
            )
        if info.model_kind is None and models:
            raise ValueError(f"{where}: {info.name} takes no models")
        pool = tuple(data.get("pool", ()))
        if pool and info.name != "composed":
            raise ValueError(f"{where}: only 'composed' takes a pool")
        choice = cls(info.name, (lo, hi), float(weight), models, pool)
        if pool:
            # Sampling once checks the pool exactly as generation will use it.
            get_distortion("composed").sample_params(np.random.default_rng(0), 0.5, pool=list(pool))
        return choice

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "severity": list(self.severity),
            "weight": self.weight,
        }
        if self.models:
            out["models"] = list(self.models)
        if self.pool:
            out["pool"] = list(self.pool)
        return out

    def options(self) -> dict[str, Any]:
        """Keyword options for :meth:`Distortion.sample_params`."""
        out: dict[str, Any] = {}
        if self.models:
            out["models"] = list(self.models)
        if self.pool:
            out["pool"] = list(self.pool)
        return out


@dataclass(frozen=True)
class ExternalItem:
    """One imported reference image and the outputs of several algorithms on it.

    All outputs must have the reference's size (checked when the trial is rendered, and by
    :func:`experiments.external.scan_external_outputs` at import).
    """

    reference: str
    outputs: dict[str, str]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> ExternalItem:
        if not isinstance(data, Mapping) or set(data) != {"reference", "outputs"}:
            raise ValueError(f"{where} must be a dict with 'reference' and 'outputs'")
        outputs = data["outputs"]
        if not isinstance(outputs, Mapping) or not outputs:
            raise ValueError(f"{where}: 'outputs' must map algorithms to SHA-256s")
        clean = {
            _label(k, f"{where}: algorithm"): check_sha256(v, f"{where}: output {k}")
            for k, v in sorted(outputs.items())
        }
        return cls(check_sha256(data["reference"], f"{where}: reference"), clean)

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "outputs": dict(self.outputs)}


@dataclass(frozen=True)
class Category:
    """A category of trials: distortion choices, or external items (exactly one of the two)."""

    label: str
    choices: tuple[Choice, ...] = ()
    external: tuple[ExternalItem, ...] = ()
    paired: bool = False

    @classmethod
    def from_dict(cls, label: str, data: Mapping[str, Any]) -> Category:
        where = f"category {label!r}"
        if not isinstance(data, Mapping) or not ({"choices", "external"} & set(data)):
            raise ValueError(f"{where} must be a dict with 'choices' or 'external'")
        unknown = sorted(set(data) - {"choices", "external", "paired"})
        if unknown or ("choices" in data) == ("external" in data):
            raise ValueError(
                f"{where} needs exactly one of 'choices' and 'external' (unknown keys: {unknown})"
            )
        if "external" in data:
            items = data["external"]
            if isinstance(items, str) or not isinstance(items, Sequence) or not items:
                raise ValueError(f"{where}: 'external' must be a non-empty list")
            return cls(
                label,
                external=tuple(
                    ExternalItem.from_dict(x, f"{where} item {i}") for i, x in enumerate(items)
                ),
                paired=True,
            )
        raw = data["choices"]
        if isinstance(raw, str) or not isinstance(raw, Sequence) or not raw:
            raise ValueError(f"{where}: 'choices' must be a non-empty list")
        choices = tuple(Choice.from_dict(c, f"{where} choice {i}") for i, c in enumerate(raw))
        tasks = {get_distortion(c.name).info.task for c in choices}
        names = {c.name for c in choices}
        auto = len(tasks) == 1 and None not in tasks and len(names) >= 2
        paired = data.get("paired", auto)
        if not isinstance(paired, bool):
            raise ValueError(f"{where}: 'paired' must be true or false")
        if paired and not auto:
            raise ValueError(
                f"{where}: a paired category needs at least two distinct algorithms "
                f"of one task, got tasks {sorted(map(str, tasks))}"
            )
        return cls(label, choices=choices, paired=paired)

    def to_dict(self) -> dict[str, Any]:
        if self.external:
            return {"external": [x.to_dict() for x in self.external]}
        return {"choices": [c.to_dict() for c in self.choices], "paired": self.paired}


@dataclass(frozen=True)
class TrialDesign:
    """Everything :func:`experiments.planner.plan_trial` needs. Build it with :meth:`from_dict`.

    Attributes:
        seed: Study seed (int >= 0).
        kind: ``"2afc"`` or ``"jnd"``.
        images: SHA-256s of the reference images (distortion categories draw from them).
        categories: Label → :class:`Category`.
        counts: Split → category label → number of regular trials.
        patch_size: Patch side (default 64).
        rescale: ``None`` or ``(lo, hi)`` random rescale of patches.
        sentinel_rate: Share of all trials that are sentinels, ``[0, 0.5]``.
        jnd_identical_share: Share of regular JND pairs that show the reference twice.
        jnd_sentinel_identical_share: Share of JND sentinels that are identical pairs (the rest
            are strong Gaussian noise); 0.8 as in the paper (32 of 40).
    """

    seed: int
    kind: str
    images: tuple[str, ...]
    categories: dict[str, Category]
    counts: dict[str, dict[str, int]]
    patch_size: int = 64
    rescale: tuple[float, float] | None = None
    sentinel_rate: float = 0.0
    jnd_identical_share: float = 0.0
    jnd_sentinel_identical_share: float = 0.8
    blocks: tuple[tuple[str, str, int], ...] = field(default=(), repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialDesign:
        """Validate and build a design; raises ValueError naming the first problem."""
        if not isinstance(data, Mapping):
            raise ValueError("design must be a dict")
        allowed = {
            "seed",
            "kind",
            "images",
            "categories",
            "counts",
            "patch_size",
            "rescale",
            "sentinel_rate",
            "jnd_identical_share",
            "jnd_sentinel_identical_share",
        }
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"design: unknown key(s) {unknown}")
        missing = sorted({"seed", "kind", "categories", "counts"} - set(data))
        if missing:
            raise ValueError(f"design: missing key(s) {missing}")
        seed = _count(data["seed"], "design seed")
        if data["kind"] not in KINDS:
            raise ValueError(f"design kind must be one of {KINDS}, got {data['kind']!r}")
        images = _shas(data.get("images", ()), "design images")
        raw = data["categories"]
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError("design: 'categories' must be a non-empty dict")
        categories = {
            _label(k, "category label"): Category.from_dict(k, v) for k, v in sorted(raw.items())
        }
        blocks = _blocks(data["counts"], categories)
        if data["kind"] == "2afc":
            for category in categories.values():
                for i, item in enumerate(category.external):
                    if len(item.outputs) < 2:
                        raise ValueError(
                            f"category {category.label!r} item {i}: a 2AFC trial "
                            "needs at least two algorithms' outputs"
                        )
        if (
            any(not c.external for c in categories.values() if _used(c.label, blocks))
            and not images
        ):
            raise ValueError("design: distortion categories need at least one reference image")
        if data.get("sentinel_rate", 0.0) and not images:
            raise ValueError("design: sentinels need at least one reference image in 'images'")
        size = data.get("patch_size", 64)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < MIN_SIDE:
            raise ValueError(f"design patch_size must be an integer >= {MIN_SIDE}, got {size!r}")
        return cls(
            seed=seed,
            kind=data["kind"],
            images=images,
            categories=categories,
            counts={s: dict(c) for s, c in sorted(data["counts"].items())},
            patch_size=int(size),
            rescale=check_rescale(data.get("rescale")),
            sentinel_rate=_share(
                data.get("sentinel_rate", 0.0), "sentinel_rate", MAX_SENTINEL_RATE
            ),
            jnd_identical_share=_share(data.get("jnd_identical_share", 0.0), "jnd_identical_share"),
            jnd_sentinel_identical_share=_share(
                data.get("jnd_sentinel_identical_share", 0.8), "jnd_sentinel_identical_share"
            ),
            blocks=blocks,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form accepted by :meth:`from_dict`."""
        return {
            "seed": self.seed,
            "kind": self.kind,
            "images": list(self.images),
            "categories": {k: c.to_dict() for k, c in self.categories.items()},
            "counts": self.counts,
            "patch_size": self.patch_size,
            "rescale": list(self.rescale) if self.rescale else None,
            "sentinel_rate": self.sentinel_rate,
            "jnd_identical_share": self.jnd_identical_share,
            "jnd_sentinel_identical_share": self.jnd_sentinel_identical_share,
        }

    @property
    def regular_trials(self) -> int:
        """Number of non-sentinel trials."""
        return sum(n for _, _, n in self.blocks)

    @property
    def sentinel_trials(self) -> int:
        """``round(regular · rate / (1 - rate))``: sentinels are that share of all trials."""
        return round(self.regular_trials * self.sentinel_rate / (1.0 - self.sentinel_rate))

    @property
    def total_trials(self) -> int:
        """Regular plus sentinel trials: valid indices are ``0 … total_trials - 1``."""
        return self.regular_trials + self.sentinel_trials


def _used(label: str, blocks: tuple[tuple[str, str, int], ...]) -> bool:
    return any(c == label for _, c, _ in blocks)


def _blocks(counts: object, categories: dict[str, Category]) -> tuple[tuple[str, str, int], ...]:
    """Canonical (split, category, n) blocks, sorted by name: databases may reorder JSON keys
    (PostgreSQL's jsonb does), and trial ``i`` must not depend on that order."""
    if not isinstance(counts, Mapping) or not counts:
        raise ValueError("design: 'counts' must map splits to {category: count}")
    blocks = []
    for split, per_category in sorted(counts.items()):
        _label(split, "split name")
        if not isinstance(per_category, Mapping):
            raise ValueError(f"design counts[{split!r}] must map categories to counts")
        for label, n in sorted(per_category.items()):
            if label not in categories:
                raise ValueError(
                    f"design counts[{split!r}] names unknown category {label!r}; "
                    f"known: {sorted(categories)}"
                )
            n = _count(n, f"design counts[{split!r}][{label!r}]")
            if n:
                blocks.append((split, label, n))
    if not blocks:
        raise ValueError("design requests zero trials: set at least one count above 0")
    return tuple(blocks)
