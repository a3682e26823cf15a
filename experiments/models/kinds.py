"""Model kinds: the trainable things behind ``cnn`` and some ``real`` distortions.

Each kind lives in its own module, imported on first use (torch comes in only then) and
providing:

* ``sample_hparams(rng) -> dict``: draw hyperparameters (JSON);
* ``check_hparams(hparams) -> dict``: validate them (ValueError naming the problem);
* ``train(patches, hparams, *, steps, device, feature_trunk) -> (arrays, report)``: fit on an
  N×H×W×3 uint8 stack inside a seeded context; returns weights as NumPy arrays and a JSON report;
* ``DEFAULT_STEPS``: the CPU-feasible default training length;
* ``load(blob) -> runtime``: rebuild from a :class:`~experiments.models._format.ModelBlob`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

KINDS: dict[str, str] = {
    "autoencoder": "experiments.models.autoencoder",
    "sr_net": "experiments.models.srnet",
    "colorizer_net": "experiments.models.colorizer",
    "colorizer_lut": "experiments.models.colorlut",
}


def get_kind(kind: str) -> ModuleType:
    """The module implementing ``kind``.

    Raises:
        ValueError: Unknown kind.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {list(KINDS)}")
    return importlib.import_module(KINDS[kind])
