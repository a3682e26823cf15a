"""How distortion samplers and kernels refer to trained models (by SHA-256, never by object)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from experiments.patches import check_sha256


def choose_model(rng: np.random.Generator, name: str, models: Sequence[str] | None) -> str:
    """Pick one of the study's models for distortion ``name`` (uniformly).

    Raises:
        ValueError: No models given, or one is not a SHA-256 digest.
    """
    if models is None or isinstance(models, str) or len(models) == 0:
        raise ValueError(f"{name} needs trained models: pass models=[sha256, ...] when sampling")
    for sha in models:
        check_sha256(sha, f"{name}: model")
    return models[int(rng.integers(len(models)))]


def runtime(sha256: str, kind: str, load_model: Callable[[str], bytes] | None) -> Any:
    """The cached runtime of a model of ``kind`` (see :func:`experiments.models.get_runtime`)."""
    from experiments.models.cache import get_runtime

    return get_runtime(sha256, load_model, kind)
