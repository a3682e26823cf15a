"""Colourisation (BAPPS §5.3 "color"): recolour a patch from its grey version.

A colouriser sees only the BT.601 luma ``Y`` and predicts chroma ``(Cb, Cr)``; the stimulus keeps
the true luma and mixes the predicted chroma with the true one:

.. math:: (C_b, C_r)_{out} = (1 - s)\\,(C_b, C_r)_{true} + s\\,(C_b, C_r)_{pred}

``strength = 1`` is the colouriser's own output (the paper's setting). Colourisers:

* ``colorize_grey``: predicts zero chroma (the grey input, a lower bound);
* ``colorize_lut``: mean chroma per luma and texture bin learned from the study's patches
  (:mod:`experiments.models.colorlut`, NumPy only);
* ``colorize_net``: a small CNN trained on the study's patches (:mod:`experiments.models.colorizer`).

The three share one sampler (task ``colorize``).
"""

from __future__ import annotations

import numpy as np

from experiments._arrays import rgb_to_ycbcr, to_float, to_uint8, ycbcr_to_rgb
from experiments._modelref import choose_model, runtime
from experiments.registry import DistortionInfo, ParamSpec, register


def recolor(patch: np.ndarray, chroma: np.ndarray, strength: float) -> np.ndarray:
    """Keep the patch's luma, blend its chroma towards ``chroma`` (H×W×2) by ``strength``."""
    ycc = rgb_to_ycbcr(to_float(patch))
    ycc[..., 1:] += np.float32(strength) * (chroma.astype(np.float32) - ycc[..., 1:])
    return to_uint8(ycbcr_to_rgb(ycc))


def colorize_grey(patch: np.ndarray, *, strength: float) -> np.ndarray:
    """Zero chroma: the grey image at ``strength = 1``."""
    return recolor(patch, np.zeros((*patch.shape[:2], 2), np.float32), strength)


def colorize_lut(patch: np.ndarray, *, strength: float, model: str, load_model=None) -> np.ndarray:
    """Chroma looked up from a stored ``colorizer_lut`` table."""
    lut = runtime(model, "colorizer_lut", load_model)
    return recolor(patch, lut.predict_chroma(patch), strength)


def colorize_net(patch: np.ndarray, *, strength: float, model: str, load_model=None) -> np.ndarray:
    """Chroma predicted by a stored ``colorizer_net`` network."""
    net = runtime(model, "colorizer_net", load_model)
    return recolor(patch, net.predict_chroma(patch), strength)


def _sample_task(rng, s):
    return {"strength": s}


def _sampler(name):
    def sample(rng, s, *, models=None):
        return {**_sample_task(rng, s), "model": choose_model(rng, name, models)}

    return sample


_STRENGTH = ParamSpec("strength", "float", 0.0, 1.0, description="blend towards the prediction")
_MODEL = ParamSpec("model", "model", description="SHA-256 of the trained colouriser")
_SEVERITY = "strength = s (1 = the colouriser's output from the grey input)."

register(
    DistortionInfo(
        name="colorize_grey",
        family="real",
        category="real",
        description="Grey input left uncoloured (zero chroma).",
        severity=_SEVERITY,
        params=(_STRENGTH,),
        task="colorize",
    ),
    sample=_sample_task,
    apply=colorize_grey,
)
register(
    DistortionInfo(
        name="colorize_lut",
        family="real",
        category="real",
        description="Chroma from a per-(luma, texture) table learned on the study's patches.",
        severity=_SEVERITY,
        params=(_STRENGTH, _MODEL),
        task="colorize",
        model_kind="colorizer_lut",
        options=("models",),
    ),
    sample=_sampler("colorize_lut"),
    apply=colorize_lut,
)
register(
    DistortionInfo(
        name="colorize_net",
        family="real",
        category="real",
        description="Chroma from a small CNN trained on the study's patches.",
        severity=_SEVERITY,
        params=(_STRENGTH, _MODEL),
        task="colorize",
        model_kind="colorizer_net",
        options=("models",),
    ),
    sample=_sampler("colorize_net"),
    apply=colorize_net,
)
