"""Super-resolution (BAPPS §5.3 "superres", NTIRE 2017 ×2/×3/×4): down-then-up stimuli.

The reference patch is the ground truth; the stimulus is the patch downsampled by ``factor``
(Pillow's antialiased bicubic or box filter, ``round(W/f) × round(H/f)`` pixels) and brought back
to its size by one of the algorithms:

* ``superres_nearest``, ``superres_bilinear``, ``superres_bicubic``, ``superres_lanczos``:
  classical interpolation (Pillow filters);
* ``superres_net``: a small VDSR-style network trained on the study's patches
  (:mod:`experiments.models.srnet`).

All five share one sampler (task ``superres``), so two algorithms sampled from equally seeded
generators get the same factor and kernel: a fair 2AFC comparison.
"""

from __future__ import annotations

import functools

import numpy as np

from experiments._modelref import choose_model, runtime
from experiments.real._resize import DOWNSAMPLERS, UPSAMPLERS, down_up
from experiments.registry import DistortionInfo, ParamSpec, register

FACTORS = (2, 3, 4)


def superres_classical(patch: np.ndarray, *, factor: int, down: str, method: str) -> np.ndarray:
    """Downsample by ``factor`` with ``down``, upsample back with ``method``.

    Args:
        patch: H×W×3 uint8.
        factor: 2, 3 or 4.
        down: ``"bicubic"`` or ``"box"``.
        method: ``"nearest"``, ``"bilinear"``, ``"bicubic"`` or ``"lanczos"``.
    """
    return down_up(patch, factor, down, method)


def superres_net(
    patch: np.ndarray, *, factor: int, down: str, model: str, load_model=None
) -> np.ndarray:
    """Super-resolve the ×``factor`` degraded patch with a stored ``sr_net`` model."""
    return runtime(model, "sr_net", load_model).apply(patch, factor=factor, down=down)


def _sample_task(rng: np.random.Generator, s: float) -> dict:
    down = "bicubic" if rng.random() < 0.5 else "box"
    return {"factor": FACTORS[min(len(FACTORS) - 1, int(s * len(FACTORS)))], "down": down}


def _sample_net(rng, s, *, models=None):
    params = _sample_task(rng, s)
    return {**params, "model": choose_model(rng, "superres_net", models)}


_TASK_PARAMS = (
    ParamSpec("factor", "int", 2, 4, description="downsampling factor"),
    ParamSpec("down", "choice", choices=tuple(DOWNSAMPLERS), description="downsampling kernel"),
)
_SEVERITY = "factor = 2 for s < 1/3, 3 for s < 2/3, else 4; downsampling kernel drawn at random."

for _method in UPSAMPLERS:
    register(
        DistortionInfo(
            name=f"superres_{_method}",
            family="real",
            category="real",
            description=f"×2/×3/×4 downsampling, then {_method} upsampling.",
            severity=_SEVERITY,
            params=_TASK_PARAMS,
            task="superres",
        ),
        sample=_sample_task,
        apply=functools.partial(superres_classical, method=_method),
    )

register(
    DistortionInfo(
        name="superres_net",
        family="real",
        category="real",
        description="×2/×3/×4 downsampling, then a small SR network trained on the study's patches.",
        severity=_SEVERITY,
        task="superres",
        model_kind="sr_net",
        options=("models",),
        params=(*_TASK_PARAMS, ParamSpec("model", "model", description="SHA-256 of the sr_net")),
    ),
    sample=_sample_net,
    apply=superres_net,
)
