"""The trial planner: trial ``i`` of a design, as a pure function of ``(design, i)``.

:func:`plan_trial` draws everything about trial ``i`` from ``derive_rng("trial", seed, i)``: it
never looks at other trials, so a generation task can run any chunk of indices, crash, and
restart without changing a single trial (idempotent by index).

Index layout: regular trials first, in blocks ordered by ``(split, category)`` name, then the
sentinels. Each regular trial gets its own reference patch (patch index = trial index, see
:func:`experiments.patches.sample_patch`) from a reference image drawn uniformly.

* **2AFC**, regular: each side draws a choice (by weight), a severity uniform in the choice's
  range, and parameters from its own child generator. In a *paired* category both sides share one
  severity and one parameter generator but show two different algorithms (external categories:
  two different algorithms' outputs, cropped at the same box). ``expected`` is ``None``.
* **2AFC sentinel** (paper §2.2: "a large vs a small amount of Gaussian noise"): one side Gaussian
  noise at severity :data:`SENTINEL_MILD` (nearly untouched), the other at
  :data:`SENTINEL_STRONG`; sides drawn at random, ``expected`` = index of the mild side.
* **JND**, regular: ``p0`` is the reference, ``p1`` a distorted version, or the reference again
  for an evenly spread ``jnd_identical_share`` of each block (``expected = 1``, same).
* **JND sentinel** (paper: 32 identical pairs and 8 with large Gaussian noise per 200 trials):
  identical pairs (``expected = 1``) for ``jnd_sentinel_identical_share`` of the sentinels, strong
  Gaussian noise (``expected = 0``, different) for the rest.

``expected`` follows BAPPS' conventions: for 2AFC the side closer to the reference (``judge`` is
the share preferring ``p1``), for JND 1 = same, 0 = different.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments._seeding import derive_rng, derive_seed
from experiments.design import SENTINEL, Category, Choice, TrialDesign
from experiments.registry import get_distortion

SENTINEL_DISTORTION = "gaussian_white_noise"
SENTINEL_MILD = 0.02  # σ = 0.005: about one grey level
SENTINEL_STRONG = 1.0  # σ = 0.25


@dataclass(frozen=True)
class StimulusPlan:
    """How to make one shown patch.

    Attributes:
        source: SHA-256 of the image the patch is cropped from (the reference image, or an
            external algorithm's output).
        chain: ``[{"name", "params", "severity"}, …]`` applied in order (empty = unchanged).
        label: What the side shows: the distortion name, an external algorithm's name, or
            ``"reference"``.
    """

    source: str
    chain: tuple[dict[str, Any], ...]
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "chain": [dict(step) for step in self.chain],
            "label": self.label,
        }


@dataclass(frozen=True)
class TrialPlan:
    """Trial ``index`` of a design. ``expected`` and the chains must never reach a browser.

    Attributes:
        index: Trial index.
        kind: ``"2afc"`` or ``"jnd"``.
        split, category: Block labels (``"sentinel"`` for sentinels).
        image_sha256: Reference image; the reference patch is its patch ``patch_index``.
        patch_index: Index passed to :func:`experiments.patches.sample_patch`.
        p0, p1: The two shown patches (JND: ``p0`` is the reference).
        sentinel: True for sentinel trials.
        identical: True when ``p1`` is the reference itself (JND).
        expected: Known answer (see the module docs) or ``None``.
        seed: The design seed.
        patch_size, rescale: The design's patch settings (for :func:`sample_patch`).
    """

    index: int
    kind: str
    split: str
    category: str
    image_sha256: str
    patch_index: int
    p0: StimulusPlan
    p1: StimulusPlan
    sentinel: bool
    identical: bool
    expected: int | None
    seed: int
    patch_size: int = 64
    rescale: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "index": self.index,
            "kind": self.kind,
            "split": self.split,
            "category": self.category,
            "image_sha256": self.image_sha256,
            "patch_index": self.patch_index,
            "p0": self.p0.to_dict(),
            "p1": self.p1.to_dict(),
            "sentinel": self.sentinel,
            "identical": self.identical,
            "expected": self.expected,
            "seed": self.seed,
            "patch_size": self.patch_size,
            "rescale": list(self.rescale) if self.rescale else None,
        }


def _spread(offset: int, share: float) -> bool:
    """True for about ``share`` of consecutive offsets, evenly spread (exact over a block)."""
    return int((offset + 1) * share) > int(offset * share)


def _step(name: str, severity: float, rng: np.random.Generator, choice: Choice | None) -> dict:
    options = choice.options() if choice is not None else {}
    params = get_distortion(name).sample_params(rng, severity, **options)
    return {"name": name, "params": params, "severity": severity}


def _pick(
    rng: np.random.Generator, choices: tuple[Choice, ...], exclude: str | None = None
) -> Choice:
    pool = [c for c in choices if c.name != exclude]
    weights = np.array([c.weight for c in pool])
    return pool[int(rng.choice(len(pool), p=weights / weights.sum()))]


def _distorted(
    rng: np.random.Generator,
    choice: Choice,
    severity: float | None = None,
    params_seed: int | None = None,
) -> StimulusPlan:
    lo, hi = choice.severity
    if severity is None:
        severity = float(rng.uniform(lo, hi)) if hi > lo else lo
    seed = derive_seed("params", int(rng.integers(2**63))) if params_seed is None else params_seed
    step = _step(choice.name, severity, np.random.default_rng(seed), choice)
    return StimulusPlan("", (step,), choice.name)


def _locate(design: TrialDesign, index: int) -> tuple[str, str, int]:
    offset = index
    for split, label, n in design.blocks:
        if offset < n:
            return split, label, offset
        offset -= n
    raise AssertionError("index checked against regular_trials")  # pragma: no cover


def _with_source(plan: StimulusPlan, source: str) -> StimulusPlan:
    return StimulusPlan(source, plan.chain, plan.label)


def _regular(
    design: TrialDesign, category: Category, rng: np.random.Generator, offset: int
) -> tuple[str, StimulusPlan, StimulusPlan, bool, int | None]:
    if category.external:
        item = category.external[int(rng.integers(len(category.external)))]
        names = sorted(item.outputs)
        first, second = (names[int(i)] for i in rng.choice(len(names), size=2, replace=False))
        reference = StimulusPlan(item.reference, (), "reference")
        out0 = StimulusPlan(item.outputs[first], (), first)
        out1 = StimulusPlan(item.outputs[second], (), second)
        if design.kind == "jnd":
            return item.reference, reference, out0, False, None
        return item.reference, out0, out1, False, None
    image = design.images[int(rng.integers(len(design.images)))]
    reference = StimulusPlan(image, (), "reference")
    if design.kind == "jnd":
        if _spread(offset, design.jnd_identical_share):
            return image, reference, reference, True, 1
        side = _distorted(rng, _pick(rng, category.choices))
        return image, reference, _with_source(side, image), False, None
    if category.paired:
        first = _pick(rng, category.choices)
        second = _pick(rng, category.choices, exclude=first.name)
        severity = float(rng.uniform(*first.severity))
        seed = derive_seed("params", int(rng.integers(2**63)))
        sides = [_distorted(rng, c, severity, seed) for c in (first, second)]
    else:
        sides = [_distorted(rng, _pick(rng, category.choices)) for _ in range(2)]
    return image, _with_source(sides[0], image), _with_source(sides[1], image), False, None


def _sentinel(
    design: TrialDesign, rng: np.random.Generator, offset: int
) -> tuple[str, StimulusPlan, StimulusPlan, bool, int | None]:
    image = design.images[int(rng.integers(len(design.images)))]
    reference = StimulusPlan(image, (), "reference")
    strong = StimulusPlan(
        image, (_step(SENTINEL_DISTORTION, SENTINEL_STRONG, rng, None),), SENTINEL_DISTORTION
    )
    if design.kind == "jnd":
        if _spread(offset, design.jnd_sentinel_identical_share):
            return image, reference, reference, True, 1
        return image, reference, strong, False, 0
    mild = StimulusPlan(
        image, (_step(SENTINEL_DISTORTION, SENTINEL_MILD, rng, None),), SENTINEL_DISTORTION
    )
    if rng.random() < 0.5:
        return image, mild, strong, False, 0
    return image, strong, mild, False, 1


def plan_trial(design: TrialDesign, index: int) -> TrialPlan:
    """Plan trial ``index`` (``0 <= index < design.total_trials``); see the module docs.

    Raises:
        ValueError: Index out of range.
    """
    if (
        isinstance(index, bool)
        or not isinstance(index, numbers.Integral)
        or not (0 <= index < design.total_trials)
    ):
        raise ValueError(f"trial index must be in [0, {design.total_trials}), got {index!r}")
    index = int(index)
    rng = derive_rng("trial", design.seed, index)
    if index < design.regular_trials:
        split, label, offset = _locate(design, index)
        image, p0, p1, identical, expected = _regular(design, design.categories[label], rng, offset)
        sentinel = False
    else:
        split = label = SENTINEL
        image, p0, p1, identical, expected = _sentinel(design, rng, index - design.regular_trials)
        sentinel = True
    return TrialPlan(
        index,
        design.kind,
        split,
        label,
        image,
        index,
        p0,
        p1,
        sentinel,
        identical,
        expected,
        design.seed,
        design.patch_size,
        design.rescale,
    )
