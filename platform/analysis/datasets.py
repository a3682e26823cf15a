"""Dataset releases: freezing a study's valid judgments, importing BAPPS-layout folders, and
reading a dataset back as arrays for scoring and fitting.

Freezing applies QC (excluded participants' judgments never count), keeps sentinels and practice
trials out, and computes per item: 2AFC `judge` = share of valid judgments preferring p1; JND
`judge` = share answering "same" (BAPPS' `same`). The manifest lists every file with its sha256,
the study design and the code version.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from common.exceptions import ApplicationError, ConflictError
from common.tasks import requeue_failed
from crowd.models import Participant, Response
from studies.models import Study, Trial

from .models import Dataset, DatasetItem


def _code_version() -> dict:
    import experiments
    import metrics

    return {
        "perceptlab": "0.1.0",
        "experiments": experiments.__version__,
        "metrics": getattr(metrics, "__version__", "0.1.0"),
    }


def dataset_freeze(*, study: Study, by, name: str = "") -> Dataset:
    """Freeze the study's valid judgments into a new, immutable dataset version."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        valid = Response.objects.filter(
            trial__study=locked,
            item__counts=True,
            trial__is_sentinel=False,
            trial__is_practice=False,
        ).exclude(participant__status=Participant.Status.EXCLUDED)
        tallies: dict[int, list[str]] = defaultdict(list)
        for trial_id, choice in valid.values_list("trial_id", "choice"):
            tallies[trial_id].append(choice)
        if not tallies:
            raise ConflictError(
                "This study has no valid judgments to freeze yet.", code="no_judgments"
            )
        version = (Dataset.objects.filter(study=locked).aggregate(v=Max("version"))["v"] or 0) + 1
        dataset = Dataset.objects.create(
            owner=by,
            name=name or locked.name,
            source=Dataset.Source.STUDY,
            study=locked,
            version=version,
        )
        dataset.collaborators.set(
            list(locked.collaborators.all()) + ([locked.owner] if locked.owner != by else [])
        )
        trials = (
            Trial.objects.filter(pk__in=tallies).select_related("ref", "p0", "p1").order_by("index")
        )
        counters: dict[tuple, int] = defaultdict(int)
        items, files = [], {}
        for trial in trials:
            choices = tallies[trial.pk]
            positive = "p1" if trial.kind == "2afc" else "same"
            key = (trial.kind, trial.split, trial.category)
            item = DatasetItem(
                dataset=dataset,
                kind=trial.kind,
                split=trial.split,
                category=trial.category,
                index=counters[key],
                ref=trial.ref.file.name if trial.ref else "",
                ref_sha256=trial.ref.sha256 if trial.ref else "",
                p0=trial.p0.file.name,
                p1=trial.p1.file.name,
                p0_sha256=trial.p0.sha256,
                p1_sha256=trial.p1.sha256,
                judge=sum(c == positive for c in choices) / len(choices),
                n_judgments=len(choices),
                trial=trial,
            )
            counters[key] += 1
            items.append(item)
            for stim in (trial.ref, trial.p0, trial.p1):
                if stim is not None:
                    files[stim.file.name] = stim.sha256
        DatasetItem.objects.bulk_create(items, batch_size=1000)
        dataset.counts = _counts(items)
        dataset.manifest = {
            "files": dict(sorted(files.items())),
            "design": locked.design,
            "code_version": _code_version(),
            "qc": {
                "excluded_participants": Participant.objects.filter(
                    study=locked, status="excluded"
                ).count(),
                "participants": Participant.objects.filter(study=locked).count(),
                "judgments": sum(len(c) for c in tallies.values()),
            },
            "study": {
                "id": locked.pk,
                "name": locked.name,
                "slug": locked.slug,
                "seed": locked.seed,
            },
        }
        dataset.status = Dataset.Status.READY
        dataset.save()
    return dataset


def _counts(items) -> dict:
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for item in items:
        counts.setdefault(item.kind, {}).setdefault(item.split, {}).setdefault(item.category, 0)
        counts[item.kind][item.split][item.category] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


def _enqueue_import(dataset: Dataset) -> None:
    from common import jobs

    jobs.enqueue(
        "analysis.tasks.import_dataset",
        dataset.pk,
        target=(Dataset, dataset.pk),
        failed={"status": Dataset.Status.FAILED},
    )


@transaction.atomic
def dataset_import_create(*, owner, name: str, path: str) -> Dataset:
    """Check the folder's layout up front (cheaply), create the dataset to import into (status
    `building`) and queue the import (`analysis.tasks.import_dataset`, queue `default`)."""
    from metrics.bapps import BappsDataset, BappsError

    folder = Path(path)
    if not folder.is_dir():
        raise ApplicationError(
            f"{path}: no such folder on the server.", fields={"path": ["not a folder"]}
        )
    try:
        found = BappsDataset(folder)
        present = list(found.sets())
    except BappsError as exc:
        raise ApplicationError(f"Not a valid BAPPS folder: {exc}", code="invalid_bapps") from None
    if not present:
        raise ApplicationError(
            f"{path}: no BAPPS sets found (expected 2afc/<split>/<category>/… or jnd/val/…).",
            code="invalid_bapps",
        )
    dataset = Dataset.objects.create(
        owner=owner, name=name, source=Dataset.Source.IMPORT, import_path=str(folder)
    )
    _enqueue_import(dataset)
    return dataset


@transaction.atomic
def dataset_import_retry(*, dataset: Dataset) -> Dataset:
    """Queue a failed import again, e.g. after the folder was fixed (ConflictError unless it is
    an import that failed)."""
    return requeue_failed(
        dataset,
        label=lambda d: f"Dataset {d}",
        kind="import",
        failed=Dataset.Status.FAILED,
        queued=Dataset.Status.BUILDING,
        enqueue=_enqueue_import,
        eligible=lambda d: d.source == Dataset.Source.IMPORT,
        progress={},
    )


def _store_image(pixels: np.ndarray) -> tuple[str, str]:
    import experiments

    data = experiments.encode_png(np.ascontiguousarray(pixels))
    digest = hashlib.sha256(data).hexdigest()
    name = f"datasets/{digest[:2]}/{digest}.png"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name, digest


def dataset_import_run(*, dataset: Dataset, progress=None) -> Dataset:
    """Read and validate every set (as the BAPPS reader does), store the images content-addressed
    and create the items (worker side). Nothing is kept when any file is bad: ApplicationError
    names it, and the task marks the dataset failed with that error (`recording_failure`)."""
    from metrics.bapps import BappsDataset, BappsError

    try:
        found = BappsDataset(Path(dataset.import_path), load_size=None)
        sets = []
        for kind, split, category in found.sets():
            subset = found.open(kind, split, category)
            subset.validate()  # every file readable, names matching, values in [0, 1]
            sets.append((kind, split, category, subset))
        total = sum(len(s[3]) for s in sets)
        done = 0
        items, files = [], {}
        for kind, split, category, subset in sets:
            values = subset.judges() if kind == "2afc" else subset.sames()
            for index in range(len(subset)):
                record = subset[index]
                names = {}
                for member in ("ref", "p0", "p1") if kind == "2afc" else ("p0", "p1"):
                    names[member] = _store_image(_member(record, member))
                    files[names[member][0]] = names[member][1]
                items.append(
                    DatasetItem(
                        dataset=dataset,
                        kind=kind,
                        split=split,
                        category=category,
                        index=index,
                        ref=names.get("ref", ("", ""))[0],
                        ref_sha256=names.get("ref", ("", ""))[1],
                        p0=names["p0"][0],
                        p0_sha256=names["p0"][1],
                        p1=names["p1"][0],
                        p1_sha256=names["p1"][1],
                        judge=float(values[index]),
                        n_judgments=0,
                    )
                )
                done += 1
                if progress and (done % 200 == 0 or done == total):
                    progress(done, total)
    except (BappsError, OSError, ValueError) as exc:
        raise ApplicationError(
            f"Import failed, nothing kept: {exc}", code="invalid_bapps"
        ) from None
    with transaction.atomic():
        DatasetItem.objects.filter(dataset=dataset).delete()
        DatasetItem.objects.bulk_create(items, batch_size=1000)
        dataset.counts = _counts(items)
        dataset.manifest = {
            "files": dict(sorted(files.items())),
            "source_folder": dataset.import_path,
            "code_version": _code_version(),
        }
        dataset.status = Dataset.Status.READY
        dataset.error = ""
        dataset.save()
    return dataset


def _member(record, member: str) -> np.ndarray:
    return np.asarray(getattr(record, member))


# ---------------------------------------------------------------------------------------------
# Reading a dataset back
# ---------------------------------------------------------------------------------------------


def read_png(name: str) -> np.ndarray:
    from PIL import Image

    with default_storage.open(name, "rb") as handle:
        return np.asarray(Image.open(handle).convert("RGB"))


def item_arrays(items) -> dict[str, np.ndarray]:
    """uint8 N×H×W×3 arrays of the items' images and their judge values."""
    items = list(items)
    out = {"judge": np.array([i.judge for i in items], dtype=np.float64)}
    members = ("ref", "p0", "p1") if items and items[0].kind == "2afc" else ("p0", "p1")
    for member in members:
        out[member] = (
            np.stack([read_png(getattr(i, member)) for i in items])
            if items
            else np.zeros((0, 1, 1, 3))
        )
    return out


def groups(
    dataset: Dataset, *, kind: str, split: str | None = None
) -> dict[tuple[str, str], list[DatasetItem]]:
    qs = dataset.items.filter(kind=kind)
    if split is not None:
        qs = qs.filter(split=split)
    out: dict[tuple[str, str], list[DatasetItem]] = defaultdict(list)
    for item in qs.order_by("split", "category", "index"):
        out[(item.split, item.category)].append(item)
    return out


def export_folder_name(dataset: Dataset) -> str:
    return f"perceptlab-dataset-{dataset.pk}-v{dataset.version}"
