"""Composed distortions: two atomic traditional distortions applied one after the other.

BAPPS' 308 "composed" distortions are pairs of its 20 atomic ones applied in sequence; which
pairs and in which order was not published. Here ``composed`` draws an ordered pair of distinct
atomic distortions from a pool (all 20 by default, or the study's own choice), which is a random
pair in a random order, and samples each at the same severity from the same generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from experiments.registry import (
    FAMILIES,
    DistortionInfo,
    ParamSpec,
    get_distortion,
    list_distortions,
    register,
)

ATOMIC_FAMILIES = tuple(f for f, c in FAMILIES.items() if c == "traditional" and f != "composed")


def atomic_names() -> list[str]:
    """Names of the atomic traditional distortions (the pool ``composed`` draws from)."""
    return [i.name for i in list_distortions(category="traditional") if i.family in ATOMIC_FAMILIES]


def _check_pool(pool: Sequence[str]) -> list[str]:
    if isinstance(pool, str) or not isinstance(pool, Sequence):
        raise ValueError(f"composed: pool must be a list of distortion names, got {pool!r}")
    names = list(dict.fromkeys(pool))
    for name in names:
        if get_distortion(name).family not in ATOMIC_FAMILIES:
            raise ValueError(f"composed: {name!r} is not an atomic traditional distortion")
    if len(names) < 2:
        raise ValueError(f"composed: pool needs at least two distinct distortions, got {names}")
    return names


def _check_steps(params: dict[str, Any]) -> None:
    steps = params["steps"]
    if not isinstance(steps, list) or len(steps) != 2:
        raise ValueError(f"composed: 'steps' must be a list of two {{name, params}}, got {steps!r}")
    clean = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or set(step) != {"name", "params"}:
            raise ValueError(f"composed: step {i} must be a dict with keys 'name' and 'params'")
        clean.append(
            {
                "name": step["name"],
                "params": get_distortion(step["name"]).validate_params(step["params"]),
            }
        )
    _check_pool([s["name"] for s in clean])
    params["steps"] = clean  # a new list: the caller's dicts are never modified


def composed(patch: np.ndarray, *, steps: list[dict[str, Any]]) -> np.ndarray:
    """Apply ``steps[0]`` then ``steps[1]``: :math:`y = D_2(D_1(x; \\theta_1); \\theta_2)`.

    Args:
        patch: H×W×3 uint8.
        steps: Two ``{"name": str, "params": dict}`` items, distinct atomic distortions.
    """
    for step in steps:
        patch = get_distortion(step["name"]).kernel(patch, **step["params"])
    return patch


def _sample_composed(rng: np.random.Generator, s: float, *, pool: Sequence[str] | None = None):
    names = _check_pool(atomic_names() if pool is None else pool)
    first, second = rng.choice(len(names), size=2, replace=False)
    steps = []
    for index in (first, second):
        name = names[int(index)]
        steps.append({"name": name, "params": get_distortion(name).sample_params(rng, s)})
    return {"steps": steps}


register(
    DistortionInfo(
        name="composed",
        family="composed",
        category="traditional",
        description="Two distinct atomic traditional distortions in sequence, random pair and order.",
        severity="both steps are sampled at the same severity s.",
        params=(ParamSpec("steps", "steps", description="[{name, params}, {name, params}]"),),
        options=("pool",),
    ),
    sample=_sample_composed,
    apply=composed,
    check=_check_steps,
)
