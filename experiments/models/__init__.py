"""Trained models behind the ``cnn`` distortions and the learned ``real`` algorithms.

A model is sampled (hyperparameters from a generator), trained briefly on the study's own
patches, and serialised to bytes (weights + hyperparameters + training record, see
:mod:`._format`) whose SHA-256 identifies it. Distortion parameters and provenance records refer
to models by that digest only; whoever applies them supplies ``load_model(sha256) -> bytes``.

Kinds (see :mod:`.kinds`): ``autoencoder`` (``cnn_autoencoder``), ``sr_net`` (``superres_net``),
``colorizer_net`` (``colorize_net``) and ``colorizer_lut`` (``colorize_lut``, NumPy only).

Importing this package does not import torch; :func:`train_model` and applying a network do.

Example::

    rng = numpy.random.default_rng(7)
    model = train_model("autoencoder", patches, seed=7, hparams=sample_hparams("autoencoder", rng))
    storage[model.sha256] = model.data
    out = get_distortion("cnn_autoencoder").apply(patch, model=model.sha256, strength=1.0,
                                                  seed=3, load_model=storage.__getitem__)
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from experiments._arrays import check_patch
from experiments._version import __version__
from experiments.models._format import ModelBlob, pack_model, unpack_model
from experiments.models.cache import clear, get_runtime, remember
from experiments.models.kinds import KINDS, get_kind

__all__ = [
    "KINDS",
    "ModelBlob",
    "TrainedModel",
    "clear",
    "get_runtime",
    "model_kinds",
    "read_model",
    "remember",
    "sample_hparams",
    "train_model",
]


@dataclass(frozen=True)
class TrainedModel:
    """A trained, serialised model.

    Attributes:
        kind: Model kind.
        sha256: Digest of :attr:`data`: the model's identity.
        hparams: Hyperparameters (JSON).
        training: Training record: seed, steps, device, patch count and digest, loss history.
        data: The serialised bytes to store.
    """

    kind: str
    sha256: str
    hparams: dict[str, Any]
    training: dict[str, Any]
    data: bytes = field(repr=False)


def model_kinds() -> list[str]:
    """Names of the model kinds."""
    return list(KINDS)


def sample_hparams(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    """Draw hyperparameters for ``kind`` from ``rng`` (JSON-serialisable)."""
    return get_kind(kind).sample_hparams(rng)


def _stack_patches(patches: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    if isinstance(patches, np.ndarray) and patches.ndim == 4:
        patches = list(patches)
    if isinstance(patches, str | bytes) or not isinstance(patches, Sequence) or not patches:
        raise ValueError("training needs a non-empty list of H×W×3 uint8 patches")
    checked = [check_patch(p, what=f"training patch {i}") for i, p in enumerate(patches)]
    shapes = {p.shape for p in checked}
    if len(shapes) != 1:
        raise ValueError(f"training patches must share one shape, got {sorted(shapes)}")
    return np.stack(checked)


def train_model(
    kind: str,
    patches: Sequence[np.ndarray] | np.ndarray,
    *,
    seed: int,
    hparams: dict[str, Any] | None = None,
    steps: int | None = None,
    device: str | None = None,
    feature_trunk: tuple[str, Any] | None = None,
) -> TrainedModel:
    """Train a model of ``kind`` on ``patches`` and serialise it.

    The result is also put in this process's model cache, so it can be applied right away.

    Args:
        kind: One of :func:`model_kinds`.
        patches: Training patches, H×W×3 uint8, all the same size.
        seed: Seeds initialisation and batch order (int >= 0).
        hparams: Hyperparameters; drawn from ``default_rng(seed)`` when omitted.
        steps: Training steps (the kind's CPU-feasible ``DEFAULT_STEPS`` when omitted).
        device: ``"cpu"``, ``"cuda"``…; ``None`` picks CUDA when present.
        feature_trunk: For autoencoders, ``(name, callable)`` giving feature maps of
            N×3×H×W [0, 1] tensors, used for the feature loss.

    Returns:
        The :class:`TrainedModel`.

    Raises:
        ValueError: Unknown kind, bad hyperparameters, seed, steps or patches.
    """
    module = get_kind(kind)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    steps = module.DEFAULT_STEPS if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if hparams is None:
        hparams = module.sample_hparams(np.random.default_rng(seed))
    hparams = module.check_hparams(dict(hparams))
    stack = _stack_patches(patches)
    from experiments.models._torch import TRAIN_THREADS, pick_device, seeded

    device = pick_device(device) if module.USES_TORCH else "cpu"
    if module.USES_TORCH:
        with seeded(int(seed), TRAIN_THREADS, device):
            arrays, report = module.train(
                stack, hparams, steps=int(steps), device=device, feature_trunk=feature_trunk
            )
    else:
        arrays, report = module.train(
            stack, hparams, steps=int(steps), device=device, feature_trunk=feature_trunk
        )
    training = {
        "seed": int(seed),
        "steps": int(steps),
        "device": device.split(":")[0],
        "n_patches": len(stack),
        "patch_shape": list(stack.shape[1:]),
        "patches_sha256": hashlib.sha256(stack.tobytes()).hexdigest(),
        **report,
    }
    data = pack_model(kind, hparams, training, arrays, __version__)
    sha256 = remember(data)
    return TrainedModel(kind, sha256, hparams, training, data)


def read_model(data: bytes) -> ModelBlob:
    """Parse stored model bytes (kind, hyperparameters, training record, arrays, digest)."""
    return unpack_model(data)
