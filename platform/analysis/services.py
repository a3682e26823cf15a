"""Writes of analysis: score runs and fit runs (the heavy parts run in Celery workers).

Creation validates everything a researcher can get wrong (unknown metric, a split the dataset
lacks, a fit on a JND-only dataset) and writes nothing when it fails. Execution happens in
`analysis.tasks` on the `gpu` queue; the web process never imports torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from common.exceptions import ApplicationError

from . import datasets
from .models import Dataset, FitRun, RunStatus, ScoreRun, UploadedMetric

FIT_NETS = ("alex", "vgg", "squeeze")
FIT_VARIANTS = ("lin", "tune", "scratch")
FIT_OPTIONS = {"path", "batch_size", "lr", "dropout", "trunk_seed"}
LOAD_SIZE = 64  # the official loader's Resize(64)


def _check_ready(dataset: Dataset) -> None:
    if dataset.status != Dataset.Status.READY:
        raise ApplicationError(
            f"Dataset {dataset} is {dataset.status}, not ready.", code="not_ready", status_code=409
        )


def _check_metric(name: str) -> None:
    import metrics

    prefix, _, key = name.partition(":")
    if key:
        model = {"fitted": FitRun, "uploaded": UploadedMetric}.get(prefix)
        if model is None or not key.isdigit():
            raise ApplicationError(
                f"Unknown metric {name!r}; use a registry name, fitted:<id> or uploaded:<id>.",
                fields={"metric": ["unknown"]},
            )
        obj = model.objects.filter(pk=int(key)).first()
        if obj is None or (prefix == "fitted" and obj.status != RunStatus.DONE):
            raise ApplicationError(
                f"{name} is not available (no such finished run or upload).",
                fields={"metric": ["unavailable"]},
            )
        return
    known = [m.name for m in metrics.list_metrics()]
    if name not in known:
        raise ApplicationError(
            f"Unknown metric {name!r}; known: {', '.join(known)}.", fields={"metric": ["unknown"]}
        )


@transaction.atomic
def score_run_create(
    *, dataset: Dataset, metric: str, by, split: str = "val", options: dict | None = None
) -> ScoreRun:
    _check_ready(dataset)
    _check_metric(metric)
    splits = set(dataset.items.values_list("split", flat=True).distinct())
    if split not in splits:
        raise ApplicationError(
            f"Dataset {dataset} has no {split!r} split (it has {', '.join(sorted(splits))}).",
            fields={"split": ["missing"]},
        )
    run = ScoreRun.objects.create(
        dataset=dataset, metric=metric, split=split, options=options or {}, created_by=by
    )
    from .tasks import score_metric as score_metric_task

    transaction.on_commit(lambda: score_metric_task.delay(run.pk))
    return run


@transaction.atomic
def fit_run_create(
    *,
    dataset: Dataset,
    by,
    net: str = "alex",
    variant: str = "lin",
    version: str = "0.1",
    epochs: int = 5,
    epochs_decay: int = 5,
    seed: int = 0,
    trunk_weights: str = "",
    options: dict | None = None,
) -> FitRun:
    _check_ready(dataset)
    if net not in FIT_NETS or variant not in FIT_VARIANTS or version not in ("0.1", "0.0"):
        raise ApplicationError(
            f"net must be one of {FIT_NETS}, variant one of {FIT_VARIANTS}, version 0.1 or 0.0."
        )
    if epochs + epochs_decay < 1:
        raise ApplicationError(
            "epochs + epochs_decay must be at least 1.", fields={"epochs": ["too few"]}
        )
    if not dataset.items.filter(kind="2afc", split="train").exists():
        kinds = sorted(set(dataset.items.values_list("kind", flat=True)))
        raise ApplicationError(
            f"Fitting needs 2AFC judgments in a train split; dataset {dataset} has "
            f"{'/'.join(kinds) or 'no'} data without one.",
            code="no_train_split",
        )
    options = dict(options or {})
    unknown = sorted(set(options) - FIT_OPTIONS)
    if unknown:
        raise ApplicationError(
            f"Unknown fit option(s) {unknown}; allowed: {sorted(FIT_OPTIONS)}.",
            fields={"options": ["unknown"]},
        )
    if variant == "scratch":
        trunk_weights = "random"
    run = FitRun.objects.create(
        dataset=dataset,
        created_by=by,
        net=net,
        variant=variant,
        version=version,
        epochs=epochs,
        epochs_decay=epochs_decay,
        seed=seed,
        trunk_weights=trunk_weights,
        options=options,
    )
    from .tasks import fit_lpips as fit_lpips_task

    transaction.on_commit(lambda: fit_lpips_task.delay(run.pk))
    return run


def fit_run_cancel(*, run: FitRun) -> FitRun:
    FitRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    FitRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(status=RunStatus.CANCELLED)
    run.refresh_from_db()
    return run


@transaction.atomic
def uploaded_metric_create(
    *, owner, name: str, net: str, version: str, data: bytes
) -> UploadedMetric:
    """Store lin weights (official key format) after checking they load (keys, shapes, ≥ 0)."""
    import torch

    from metrics.lpips.lin import parse_lin_state
    from metrics.lpips.trunks import TRUNKS

    if net not in FIT_NETS:
        raise ApplicationError(f"net must be one of {FIT_NETS}.", fields={"net": ["invalid"]})
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        parse_lin_state(state, TRUNKS[net].channels)
    except Exception as exc:
        raise ApplicationError(
            f"Not a usable LPIPS lin-weights file for {net}: {exc}", code="invalid_weights"
        ) from None
    upload = UploadedMetric(
        owner=owner, name=name, net=net, version=version, sha256=hashlib.sha256(data).hexdigest()
    )
    upload.weights.save(f"{upload.sha256}.pth", ContentFile(data), save=False)
    upload.save()
    return upload


# ---------------------------------------------------------------------------------------------
# Execution (workers)
# ---------------------------------------------------------------------------------------------


def _tensor(pixels, input_range):
    from metrics.training.evaluation import to_metric_input

    return to_metric_input(pixels, input_range)


def _resized(arrays: dict, load_size: int | None = LOAD_SIZE) -> dict:
    """Apply the official loader's Resize(load_size) to stored images larger than that."""
    import numpy as np
    from PIL import Image

    from metrics.bapps.images import resize_short_side

    out = {"judge": arrays["judge"]}
    for key, stack in arrays.items():
        if key == "judge":
            continue
        if load_size is None or min(stack.shape[1:3]) == load_size or len(stack) == 0:
            out[key] = stack
            continue
        out[key] = np.stack(
            [np.asarray(resize_short_side(Image.fromarray(x), load_size)) for x in stack]
        )
    return out


def score_run_execute(*, run: ScoreRun, progress=None) -> ScoreRun:
    """Compute distances for every item of the split, then 2AFC (with bootstrap CIs), human
    ceiling and JND mAP per category; store the report and per-item credit."""
    import metrics
    from metrics.batched import score_pairs, score_triplets
    from metrics.scoring import credit_table, score_2afc, score_jnd

    ScoreRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, error="")
    metric = metrics.create_metric(run.metric, **run.options)
    input_range = metric.info.input_range
    result, per_item = {}, []
    for kind in ("2afc", "jnd"):
        groups = datasets.groups(run.dataset, kind=kind, split=run.split)
        sets = {}
        for n, ((_split, category), items) in enumerate(groups.items()):
            arrays = _resized(datasets.item_arrays(items))
            if kind == "2afc":
                d0, d1 = score_triplets(
                    metric,
                    _tensor(arrays["ref"], input_range),
                    _tensor(arrays["p0"], input_range),
                    _tensor(arrays["p1"], input_range),
                )
                sets[category] = (d0.numpy(), d1.numpy(), arrays["judge"])
                credits = credit_table(
                    d0.numpy(), d1.numpy(), arrays["judge"], names=[str(i.pk) for i in items]
                )
                per_item += [
                    {
                        "item": int(row["name"]),
                        "category": category,
                        "d0": row["d0"],
                        "d1": row["d1"],
                        "judge": row["judge"],
                        "credit": row["credit"],
                    }
                    for row in credits.rows()
                ]
            else:
                d = score_pairs(
                    metric, _tensor(arrays["p0"], input_range), _tensor(arrays["p1"], input_range)
                )
                sets[category] = (d.numpy(), arrays["judge"])
                per_item += [
                    {"item": i.pk, "category": category, "d": float(x), "same": float(s)}
                    for i, x, s in zip(items, d.numpy(), arrays["judge"], strict=True)
                ]
            if progress:
                progress({"kind": kind, "category": category, "done": n + 1, "of": len(groups)})
        if sets:
            report = (score_2afc if kind == "2afc" else score_jnd)(
                sets, metric=run.metric, split=run.split, seed=0
            )
            result[kind] = report.to_dict()
    run.result = result
    run.credits.save(f"score-{run.pk}.json", ContentFile(json.dumps(per_item).encode()), save=False)
    run.status = RunStatus.DONE
    run.save(update_fields=["result", "credits", "status", "updated_at"])
    return run


def _checkpoint_prefix(run: FitRun) -> str:
    return f"fits/{run.pk}/checkpoints"


def _pull_checkpoints(run: FitRun, folder: Path) -> None:
    prefix = _checkpoint_prefix(run)
    if not default_storage.exists(prefix):
        return
    _dirs, files = default_storage.listdir(prefix)
    for name in files:
        with (
            default_storage.open(f"{prefix}/{name}", "rb") as src,
            open(folder / name, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)


def _push_checkpoints(run: FitRun, folder: Path) -> None:
    """Mirror the local checkpoint folder to shared storage, so another worker can resume."""
    prefix = _checkpoint_prefix(run)
    local = {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    for name in sorted(local):
        target = f"{prefix}/{name}"
        if default_storage.exists(target):
            default_storage.delete(target)
        with open(folder / name, "rb") as handle:
            default_storage.save(target, handle)
    if default_storage.exists(prefix):
        for name in default_storage.listdir(prefix)[1]:
            if name not in local:
                default_storage.delete(f"{prefix}/{name}")


def fit_run_execute(*, run: FitRun, worker: str = "", device: str | None = None) -> FitRun:
    """Fit on the dataset's 2AFC train split (validating on its val split when present),
    checkpointing every epoch to shared storage and resuming from the newest checkpoint."""
    from metrics.training import Trainer, TripletArrays

    FitRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, worker=worker[:200], error="", attempts=run.attempts + 1
    )
    train_items = [
        i
        for items in datasets.groups(run.dataset, kind="2afc", split="train").values()
        for i in items
    ]
    train = _resized(datasets.item_arrays(train_items))
    val = None
    val_groups = datasets.groups(run.dataset, kind="2afc", split="val")
    if val_groups:
        val = {
            category: TripletArrays(**dict(_resized(datasets.item_arrays(items)).items()))
            for (_split, category), items in val_groups.items()
        }
    trunk = None if run.trunk_weights == "random" else (run.trunk_weights or "imagenet")
    last_saved = {"at": 0.0}

    def progress(event: dict) -> None:
        kind = event.get("event") or event.get("type")
        if kind in ("epoch", "done", "stopped", "checkpoint"):
            if kind == "checkpoint":
                _push_checkpoints(run, folder)
            fields = {"progress": {**event, "at": timezone.now().isoformat()}}
            if kind == "epoch":
                FitRun.objects.filter(pk=run.pk).update(**fields)
                # An epoch re-run after a resume replaces its earlier entry.
                history = [
                    h
                    for h in FitRun.objects.get(pk=run.pk).history
                    if h.get("epoch") != event.get("epoch")
                ]
                history = sorted([*history, _plain(event)], key=lambda h: h.get("epoch", 0))
                FitRun.objects.filter(pk=run.pk).update(history=history)
            else:
                FitRun.objects.filter(pk=run.pk).update(**fields)
        elif kind == "step" and timezone.now().timestamp() - last_saved["at"] > 2:
            last_saved["at"] = timezone.now().timestamp()
            FitRun.objects.filter(pk=run.pk).update(
                progress={**_plain(event), "at": timezone.now().isoformat()}
            )

    def should_stop() -> bool:
        return FitRun.objects.filter(pk=run.pk, cancel_requested=True).exists()

    with tempfile.TemporaryDirectory(prefix=f"fit-{run.pk}-") as tmp:
        folder = Path(tmp)
        _pull_checkpoints(run, folder)
        trainer = Trainer(
            TripletArrays(**train),
            val=val,
            net=run.net,
            variant=run.variant,
            version=run.version,
            epochs=run.epochs,
            decay_epochs=run.epochs_decay,
            seed=run.seed,
            trunk_weights=trunk,
            device=device,
            checkpoint_dir=folder,
            progress=progress,
            should_stop=should_stop,
            **run.options,
        )
        result = trainer.run()
        _push_checkpoints(run, folder)
        if getattr(result, "stopped", False):
            FitRun.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
            run.refresh_from_db()
            return run
        out = folder / "result"
        result.save(out)
        lin = (out / "lin.pth").read_bytes()
        run.refresh_from_db()
        run.weights.save(f"fit-{run.pk}-{run.net}-{run.variant}.pth", ContentFile(lin), save=False)
        summary = (
            json.loads((out / "results.json").read_text())
            if (out / "results.json").exists()
            else {}
        )
        run.result = {
            "val_2afc": getattr(result, "val_2afc", None),
            "summary": _plain(summary),
            "lin_sha256": hashlib.sha256(lin).hexdigest(),
        }
        run.status = RunStatus.DONE
        run.save(update_fields=["weights", "result", "status", "updated_at"])
    return run


def _plain(value):
    """JSON-safe copy (numpy/torch scalars become floats)."""
    return json.loads(
        json.dumps(value, default=lambda o: float(o) if hasattr(o, "__float__") else str(o))
    )
