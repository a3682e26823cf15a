"""PerceptLab's stimulus library: patches, distortions, trial plans and provenance.

Django-free and cheap to import: ``import experiments`` and :func:`list_distortions` never import
torch (the web process uses them to validate a researcher's choices); network-backed distortions
and model training import torch inside their functions.

Public API:

* Distortions: :func:`list_distortions`, :func:`get_distortion` (``.sample_params(rng,
  severity)``, ``.apply(patch, **params)``, ``.validate_params(params)``).
* Patches: :func:`sample_patch`, :func:`sample_patches`, :func:`crop_patch`, :data:`FLAT_VARIANCE`.
* Trained models: :func:`train_model`, :func:`sample_hparams`, :func:`read_model`;
  :func:`derive_seed` gives per-model seeds from a study seed.
* Trials: :class:`TrialDesign` (``TrialDesign.from_dict``), :func:`plan_trial`,
  :func:`render_trial`.
* Provenance: :func:`make_provenance`, :func:`regenerate`, :func:`encode_png`,
  :func:`decode_png`.
* External outputs: :func:`scan_external_outputs`, :func:`iter_external_outputs`.

Simulated participants (``experiments.observers``) will join later (issue 6).
"""

from experiments._seeding import derive_seed
from experiments._version import __version__
from experiments.design import Category, Choice, ExternalItem, TrialDesign
from experiments.external import (
    ExternalRecord,
    ExternalScan,
    iter_external_outputs,
    scan_external_outputs,
)
from experiments.models import TrainedModel, read_model, sample_hparams, train_model
from experiments.patches import FLAT_VARIANCE, PatchRecord, crop_patch, sample_patch, sample_patches
from experiments.planner import StimulusPlan, TrialPlan, plan_trial
from experiments.png import decode_png, encode_png
from experiments.provenance import Stimulus, TrialStimuli, make_provenance, regenerate, render_trial
from experiments.registry import (
    FAMILIES,
    Distortion,
    DistortionInfo,
    ParamSpec,
    get_distortion,
    list_distortions,
)

__all__ = [
    "FAMILIES",
    "FLAT_VARIANCE",
    "Category",
    "Choice",
    "Distortion",
    "DistortionInfo",
    "ExternalItem",
    "ExternalRecord",
    "ExternalScan",
    "ParamSpec",
    "PatchRecord",
    "Stimulus",
    "StimulusPlan",
    "TrainedModel",
    "TrialDesign",
    "TrialPlan",
    "TrialStimuli",
    "__version__",
    "crop_patch",
    "decode_png",
    "derive_seed",
    "encode_png",
    "get_distortion",
    "iter_external_outputs",
    "list_distortions",
    "make_provenance",
    "plan_trial",
    "read_model",
    "regenerate",
    "render_trial",
    "sample_hparams",
    "sample_patch",
    "sample_patches",
    "scan_external_outputs",
    "train_model",
]
