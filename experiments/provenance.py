"""Provenance records, regeneration, and rendering planned trials into pixels.

Every stimulus carries a JSON-serialisable provenance record::

    {"library_version": "0.1.0",
     "source": {"sha256": "<image file digest>", "box": [left, top, right, bottom],
                "scale": 1.0, "size": 64},
     "chain": [{"name": "jpeg", "params": {"quality": 40, "subsampling": "4:2:0"}}, ...],
     "seed": <study seed>, "trial_index": 12, "patch_index": 12,
     "models": ["<sha256 of each trained model the chain uses>", ...]}

:func:`regenerate` rebuilds the pixels from the record alone, given ``load_image(sha256)`` (the
decoded reference image as H×W×3 uint8) and, for model-backed distortions,
``load_model(sha256) -> bytes``. With the same library version and build the result is
byte-identical; :func:`experiments.encode_png` then gives identical file bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments._version import __version__
from experiments.patches import PatchRecord, check_image, check_sha256, crop_patch, sample_patch
from experiments.planner import StimulusPlan, TrialPlan
from experiments.png import encode_png
from experiments.registry import get_distortion

LoadImage = Callable[[str], np.ndarray]
LoadModel = Callable[[str], bytes]


def _model_refs(chain: list[dict[str, Any]]) -> list[str]:
    refs: set[str] = set()
    for step in chain:
        params = step["params"]
        if "model" in params and get_distortion(step["name"]).info.model_kind:
            refs.add(params["model"])
        if step["name"] == "composed":
            refs.update(_model_refs(params["steps"]))
    return sorted(refs)


def make_provenance(
    *,
    source_sha256: str,
    box: list[int] | tuple[int, ...],
    scale: float,
    size: int,
    chain: list[dict[str, Any]] | tuple[dict[str, Any], ...],
    seed: int,
    trial_index: int | None = None,
    patch_index: int | None = None,
) -> dict[str, Any]:
    """Build a provenance record (see the module docs). ``chain`` items need ``name`` and
    ``params``; other keys (such as ``severity``) are kept for analysis and ignored on replay."""
    steps = [
        {**dict(step), "params": get_distortion(step["name"]).validate_params(step["params"])}
        for step in chain
    ]
    return {
        "library_version": __version__,
        "source": {
            "sha256": check_sha256(source_sha256, "source sha256"),
            "box": [int(v) for v in box],
            "scale": float(scale),
            "size": int(size),
        },
        "chain": steps,
        "seed": int(seed),
        "trial_index": trial_index,
        "patch_index": patch_index,
        "models": _model_refs(steps),
    }


def _require(mapping: object, keys: set[str], what: str) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"provenance {what} must be a dict")
    missing = sorted(keys - set(mapping))
    if missing:
        raise ValueError(f"provenance {what} is missing {missing}")
    return mapping


def regenerate(
    provenance: Mapping[str, Any],
    *,
    load_image: LoadImage,
    load_model: LoadModel | None = None,
    allow_version_mismatch: bool = False,
) -> np.ndarray:
    """Rebuild a stimulus from its provenance record.

    Args:
        provenance: A record from :func:`make_provenance` (possibly after a JSON round trip).
        load_image: ``sha256 -> H×W×3 uint8`` decoded source image.
        load_model: ``sha256 -> bytes`` for trained models not already cached in this process.
        allow_version_mismatch: Replay a record written by another library version anyway
            (the pixels may then differ).

    Returns:
        The H×W×3 uint8 stimulus.

    Raises:
        ValueError: Malformed record, version mismatch, unknown distortion, bad parameters, or a
            source image that does not contain the crop box.
    """
    record = _require(provenance, {"library_version", "source", "chain"}, "record")
    if record["library_version"] != __version__ and not allow_version_mismatch:
        raise ValueError(
            f"provenance was written by experiments {record['library_version']}, "
            f"this is {__version__}: pixels may differ (pass "
            "allow_version_mismatch=True to replay anyway)"
        )
    source = _require(record["source"], {"sha256", "box", "size"}, "source")
    image = check_image(load_image(check_sha256(source["sha256"], "source sha256")))
    pixels = crop_patch(image, source["box"], int(source["size"]))
    if not isinstance(record["chain"], list):
        raise ValueError("provenance chain must be a list")
    for i, step in enumerate(record["chain"]):
        _require(step, {"name", "params"}, f"chain step {i}")
        pixels = get_distortion(step["name"]).apply(pixels, load_model=load_model, **step["params"])
    return pixels


@dataclass(frozen=True)
class Stimulus:
    """One rendered patch and how to make it again."""

    pixels: np.ndarray
    provenance: dict[str, Any]
    label: str

    def png(self) -> bytes:
        """Deterministic PNG bytes of :attr:`pixels`."""
        return encode_png(self.pixels)


@dataclass(frozen=True)
class TrialStimuli:
    """A rendered trial: the reference patch and the two shown patches."""

    plan: TrialPlan
    patch: PatchRecord
    reference: Stimulus
    p0: Stimulus
    p1: Stimulus


def _render_side(
    plan: TrialPlan,
    side: StimulusPlan,
    patch: PatchRecord,
    reference_shape: tuple[int, ...],
    load_image: LoadImage,
    load_model: LoadModel | None,
) -> Stimulus:
    if side.source == plan.image_sha256:
        pixels = patch.pixels
    else:
        image = check_image(load_image(side.source))
        if image.shape != reference_shape:
            raise ValueError(
                f"output image {side.source} is {image.shape[1]}×{image.shape[0]}, "
                f"its reference is {reference_shape[1]}×{reference_shape[0]}"
            )
        pixels = crop_patch(image, patch.box, plan.patch_size)
    for step in side.chain:
        pixels = get_distortion(step["name"]).apply(pixels, load_model=load_model, **step["params"])
    provenance = make_provenance(
        source_sha256=side.source,
        box=patch.box,
        scale=patch.scale,
        size=plan.patch_size,
        chain=side.chain,
        seed=plan.seed,
        trial_index=plan.index,
        patch_index=plan.patch_index,
    )
    return Stimulus(pixels, provenance, side.label)


def render_trial(
    plan: TrialPlan, *, load_image: LoadImage, load_model: LoadModel | None = None
) -> TrialStimuli:
    """Turn a :class:`~experiments.planner.TrialPlan` into pixels and provenance records.

    Args:
        plan: From :func:`experiments.plan_trial`.
        load_image: ``sha256 -> H×W×3 uint8`` decoded image.
        load_model: ``sha256 -> bytes`` of trained models.

    Raises:
        ValueError: From patch sampling, a distortion, or an external output whose size differs
            from its reference.
    """
    image = check_image(load_image(plan.image_sha256))
    patch = sample_patch(
        image,
        image_sha256=plan.image_sha256,
        seed=plan.seed,
        index=plan.patch_index,
        size=plan.patch_size,
        rescale=plan.rescale,
    )
    sides = [StimulusPlan(plan.image_sha256, (), "reference"), plan.p0, plan.p1]
    reference, p0, p1 = (
        _render_side(plan, side, patch, image.shape, load_image, load_model) for side in sides
    )
    return TrialStimuli(plan, patch, reference, p0, p1)
