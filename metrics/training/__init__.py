"""LPIPS training (lin, tune, scratch) with the official recipe, and BAPPS evaluation.

Worker-only: importing this package imports torch (``import metrics`` never imports it).

Quick use::

    from metrics.training import fit
    result = fit("dataset", net="alex", variant="lin", seed=0,
                 checkpoint_dir="runs/alex-lin", progress=print)
    result.val_2afc                  # mean 2AFC over the val sets (fraction)
    result.save("runs/alex-lin")     # lin.pth (official keys), rank.pth, results.json
    metric = result.create_metric()  # a metrics.lpips.LPIPS with the fitted weights

See ``docs/training.md`` for the recipe, the fast path and its dropout, checkpoints and events.
"""

from metrics.training.config import TrainConfig, TrainingError
from metrics.training.data import TripletArrays, training_source, validation_sources
from metrics.training.evaluation import EvaluationResult, bapps_distances, evaluate
from metrics.training.result import FitResult
from metrics.training.trainer import Trainer, fit

__all__ = [
    "EvaluationResult",
    "FitResult",
    "TrainConfig",
    "Trainer",
    "TrainingError",
    "TripletArrays",
    "bapps_distances",
    "evaluate",
    "fit",
    "training_source",
    "validation_sources",
]
