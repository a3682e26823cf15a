"""CNN-based distortions (BAPPS §2.1): the output of a randomly generated, briefly trained
denoising autoencoder (see :mod:`experiments.models.autoencoder`).

The autoencoder is trained once per study and stored; a stimulus names it by SHA-256. At apply
time the patch is corrupted the way the model was trained to undo (noise drawn from ``seed``),
passed through the network, and blended with the original by ``strength``:
:math:`y = x + s\\,(G(c(x)) - x)`. ``strength = 1`` is the paper's setting (the network output
itself); lower values give milder versions of the same artifact. torch is imported only when a
model is applied.
"""

from __future__ import annotations

import numpy as np

from experiments._modelref import choose_model, runtime
from experiments._seeding import draw_seed
from experiments.registry import DistortionInfo, ParamSpec, register


def cnn_autoencoder(
    patch: np.ndarray, *, model: str, strength: float, seed: int, load_model=None
) -> np.ndarray:
    """Apply a stored autoencoder.

    Args:
        patch: H×W×3 uint8.
        model: SHA-256 of an ``autoencoder`` model.
        strength: Blend ``s`` in ``[0, 1]`` between the patch and the network output.
        seed: Seed of the input-corruption noise.
        load_model: ``sha256 -> bytes`` when the model is not cached in this process.
    """
    return runtime(model, "autoencoder", load_model).apply(patch, seed=seed, strength=strength)


def _sample(rng, s, *, models=None):
    seed = draw_seed(rng)
    return {"model": choose_model(rng, "cnn_autoencoder", models), "strength": s, "seed": seed}


register(
    DistortionInfo(
        name="cnn_autoencoder",
        family="cnn",
        category="cnn",
        description="Output of a randomly generated denoising autoencoder trained on the study's "
        "patches.",
        severity="strength = s (1 = the network output as in the paper); the model is drawn "
        "uniformly from the study's models.",
        params=(
            ParamSpec("model", "model", description="SHA-256 of the autoencoder"),
            ParamSpec("strength", "float", 0.0, 1.0, description="blend towards the output"),
            ParamSpec("seed", "seed", description="seed of the input corruption"),
        ),
        model_kind="autoencoder",
        options=("models",),
    ),
    sample=_sample,
    apply=cnn_autoencoder,
)
