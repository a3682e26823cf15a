"""The distortion registry: names, families, parameter specs, sample/apply split.

Every distortion is registered once, by name, with

* a **family** (``photometric``, ``noise``, ``blur``, ``spatial``, ``compression``, ``composed``,
  ``cnn``, ``real``) and the BAPPS **category** it belongs to (``traditional``, ``cnn``, ``real``);
* a **sampler** ``sample(rng, severity, **options) -> dict`` that draws the continuous parameters;
  severity ``s ∈ [0, 1]`` sets the magnitude deterministically, the generator only draws nuisance
  values (directions, phases, noise seeds), always the same number of them, so two severities drawn
  from equally seeded generators differ only in magnitude;
* a pure **apply** ``apply(patch, **params) -> patch`` on H×W×3 ``uint8`` RGB arrays;
* a tuple of :class:`ParamSpec` giving every parameter's kind and accepted range (the range a
  sampler produces over ``s ∈ [0, 1]``), used by :meth:`Distortion.validate_params`.

The database stores only the name and the parameter dict. Importing this module (and listing the
distortions) never imports torch: network-backed kernels import it inside their functions.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments._arrays import check_patch, check_severity

#: Family → BAPPS category. The order is the listing order.
FAMILIES: dict[str, str] = {
    "photometric": "traditional",
    "noise": "traditional",
    "blur": "traditional",
    "spatial": "traditional",
    "compression": "traditional",
    "composed": "traditional",
    "cnn": "cnn",
    "real": "real",
}

PARAM_KINDS = ("float", "int", "choice", "seed", "floats", "model", "steps")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a distortion.

    Attributes:
        name: Keyword of the apply function.
        kind: ``float`` / ``int`` (``low <= v <= high``), ``choice`` (one of ``choices``), ``seed``
            (int in ``[0, 2**32 - 1]``), ``floats`` (list of ``length`` floats in the range),
            ``model`` (a SHA-256 hex digest of a stored model), ``steps`` (nested chain, checked by
            the distortion itself).
        low, high: Inclusive bounds for numeric kinds.
        choices: Allowed values for ``choice``.
        length: List length for ``floats``.
        description: One line for the docs and the admin.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    length: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")

    def check(self, value: object, owner: str) -> object:
        """Return ``value`` normalised to a plain JSON type, or raise ValueError naming the problem."""
        where = f"{owner}: parameter {self.name!r}"
        if self.kind in ("float", "int", "seed"):
            return self._check_number(value, where)
        if self.kind == "floats":
            if not isinstance(value, list | tuple) or len(value) != self.length:
                raise ValueError(f"{where} must be a list of {self.length} numbers, got {value!r}")
            return [self._check_real(v, where) for v in value]
        if self.kind == "choice":
            if isinstance(value, bool) or value not in self.choices:
                raise ValueError(f"{where} must be one of {list(self.choices)}, got {value!r}")
            return value
        if self.kind == "model":
            if not isinstance(value, str) or not _SHA256.match(value):
                raise ValueError(f"{where} must be a lowercase SHA-256 hex digest, got {value!r}")
            return value
        return value  # "steps": validated by the owning distortion's check hook

    def _check_real(self, value: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{where} must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number) or not (self.low <= number <= self.high):
            raise ValueError(f"{where} must be in [{self.low}, {self.high}], got {value!r}")
        return number

    def _check_number(self, value: object, where: str) -> float | int:
        if self.kind == "float":
            return self._check_real(value, where)
        low, high = (0, 2**32 - 1) if self.kind == "seed" else (self.low, self.high)
        integral = isinstance(value, numbers.Integral) or (
            isinstance(value, float) and value.is_integer()
        )
        if isinstance(value, bool) or not integral:
            raise ValueError(f"{where} must be an integer, got {value!r}")
        number = int(value)
        if not (low <= number <= high):
            raise ValueError(f"{where} must be in [{low}, {high}], got {value!r}")
        return number

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (for the admin and the docs)."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
        }
        if self.low is not None:
            out["low"], out["high"] = self.low, self.high
        if self.choices:
            out["choices"] = list(self.choices)
        if self.length is not None:
            out["length"] = self.length
        return out


@dataclass(frozen=True)
class DistortionInfo:
    """What the web process may know about a distortion, without importing any kernel.

    Attributes:
        name: Registry name (stored in the database).
        family: One of :data:`FAMILIES`.
        category: ``traditional``, ``cnn`` or ``real`` (BAPPS' top-level sets).
        description: One sentence.
        severity: What ``severity`` 0 → 1 does to the parameters.
        params: Parameter specs, in apply-keyword order.
        task: For real algorithms, the task shared by algorithms that can be compared on the same
            input (``superres``, ``deblur``, ``frameinterp``, ``colorize``); their samplers draw
            identical parameters from identical generators. ``None`` otherwise.
        model_kind: Kind of trained model the distortion needs (see :mod:`experiments.models`).
        options: Keyword options the sampler accepts (``models``, ``pool``).
    """

    name: str
    family: str
    category: str
    description: str
    severity: str
    params: tuple[ParamSpec, ...]
    task: str | None = None
    model_kind: str | None = None
    options: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return {
            "name": self.name,
            "family": self.family,
            "category": self.category,
            "description": self.description,
            "severity": self.severity,
            "params": [p.to_dict() for p in self.params],
            "task": self.task,
            "model_kind": self.model_kind,
        }


@dataclass(frozen=True)
class Distortion:
    """A registered distortion: :class:`DistortionInfo` plus its sampler and pure kernel."""

    info: DistortionInfo
    sampler: Callable[..., dict[str, Any]] = field(repr=False)
    kernel: Callable[..., np.ndarray] = field(repr=False)
    extra_check: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def family(self) -> str:
        return self.info.family

    @property
    def category(self) -> str:
        return self.info.category

    def sample_params(self, rng: np.random.Generator, severity: float, **options: Any) -> dict:
        """Draw parameters at ``severity`` (see the class docs for the contract).

        Args:
            rng: Source of the nuisance draws.
            severity: ``0`` (weakest, usually the identity) to ``1`` (strongest).
            **options: ``models=[sha256, ...]`` for model-backed distortions (one is chosen),
                ``pool=[name, ...]`` for ``composed``.

        Returns:
            A JSON-serialisable dict accepted by :meth:`apply`.

        Raises:
            ValueError: Severity out of [0, 1] or an option the distortion does not take.
        """
        severity = check_severity(severity)
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy Generator, got {type(rng).__name__}")
        unknown = sorted(set(options) - set(self.info.options))
        if unknown:
            accepted = list(self.info.options) or "none"
            raise ValueError(
                f"{self.name}: unknown sampling option(s) {unknown}; accepts {accepted}"
            )
        params = self.sampler(rng, severity, **options)
        for spec in self.info.params:
            # Samplers compute bounds like 3**s; clamp last-ulp excursions (3.0000000000000004).
            if spec.kind == "float":
                params[spec.name] = min(max(float(params[spec.name]), spec.low), spec.high)
            elif spec.kind == "floats":
                params[spec.name] = [
                    min(max(float(v), spec.low), spec.high) for v in params[spec.name]
                ]
        return self.validate_params(params)

    def validate_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check a parameter dict; return it normalised to plain JSON types.

        Raises:
            ValueError: Not a mapping, a missing or unknown parameter, or a value out of range.
        """
        if not isinstance(params, Mapping):
            raise ValueError(f"{self.name}: params must be a dict, got {type(params).__name__}")
        names = [p.name for p in self.info.params]
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {unknown}; expected {names}")
        missing = [n for n in names if n not in params]
        if missing:
            raise ValueError(f"{self.name}: missing parameter(s) {missing}")
        clean = {p.name: p.check(params[p.name], self.name) for p in self.info.params}
        if self.extra_check is not None:
            self.extra_check(clean)
        return clean

    def apply(
        self, patch: np.ndarray, *, load_model: Callable[[str], bytes] | None = None, **params: Any
    ) -> np.ndarray:
        """Apply the distortion to an H×W×3 ``uint8`` patch; same shape and dtype out.

        Args:
            patch: H×W×3 ``uint8`` RGB, ``H, W >= 16``.
            load_model: For model-backed distortions, ``sha256 -> bytes`` of a stored model
                (not needed if the model is already in this process's cache).
            **params: As returned by :meth:`sample_params`.

        Raises:
            ValueError: Bad patch or bad parameters.
        """
        patch = check_patch(patch)
        clean = self.validate_params(params)
        if self.info.model_kind is not None:
            clean["load_model"] = load_model
        out = self.kernel(patch, **clean)
        if out.shape != patch.shape or out.dtype != np.uint8:  # pragma: no cover - kernel bug
            raise RuntimeError(f"{self.name} returned {out.shape} {out.dtype}")
        return np.ascontiguousarray(out)  # planar kernels return transposed views


_REGISTRY: dict[str, Distortion] = {}


def register(
    info: DistortionInfo,
    *,
    sample: Callable[..., dict],
    apply: Callable[..., np.ndarray],
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Distortion:
    """Add a distortion to the registry (called once per distortion at module import)."""
    if info.family not in FAMILIES or FAMILIES[info.family] != info.category:
        raise ValueError(f"{info.name}: bad family/category {info.family!r}/{info.category!r}")
    if info.name in _REGISTRY:
        raise ValueError(f"distortion {info.name!r} is registered twice")
    distortion = Distortion(info, sample, apply, check)
    _REGISTRY[info.name] = distortion
    return distortion


def _load_all() -> None:
    # Importing the package registers every distortion; none of its modules imports torch.
    import experiments.distortions
    import experiments.real  # noqa: F401


def list_distortions(
    *, family: str | None = None, category: str | None = None
) -> list[DistortionInfo]:
    """All registered distortions, grouped by family in :data:`FAMILIES` order.

    Args:
        family: Keep only this family.
        category: Keep only this category (``traditional``, ``cnn``, ``real``).

    Raises:
        ValueError: Unknown family or category.
    """
    _load_all()
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {list(FAMILIES)}")
    if category is not None and category not in set(FAMILIES.values()):
        raise ValueError(f"unknown category {category!r}; known: {sorted(set(FAMILIES.values()))}")
    order = {f: i for i, f in enumerate(FAMILIES)}
    infos = sorted((d.info for d in _REGISTRY.values()), key=lambda i: order[i.family])
    return [
        i
        for i in infos
        if (family is None or i.family == family) and (category is None or i.category == category)
    ]


def get_distortion(name: str) -> Distortion:
    """The registered distortion called ``name``.

    Raises:
        ValueError: Unknown name; the message lists close matches.
    """
    _load_all()
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown distortion {name!r}{hint} (see experiments.list_distortions())")


def distortion_names(names: Sequence[str] | None = None) -> list[str]:
    """Registered names (all of them, or ``names`` after checking each exists)."""
    _load_all()
    if names is None:
        return list(_REGISTRY)
    return [get_distortion(n).name for n in names]
