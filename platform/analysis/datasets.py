"""Dataset releases: freezing a study's valid judgments, importing BAPPS-layout folders, and
reading a dataset back as arrays for scoring and fitting.

Freezing applies QC (excluded participants' judgments never count), keeps sentinels and practice
trials out, stores the exact set of responses it read (`DatasetJudgment`, what every export of
the dataset reads), and computes per item: 2AFC `judge` = share of valid judgments preferring p1; JND
`judge` = share answering "same" (BAPPS' `same`). The manifest lists every file with its sha256,
the study design and the code version.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from common.archives import ArchiveRejected, checked_members, extract_members, is_zip, open_zip
from common.exceptions import ApplicationError, ConflictError
from common.scratch import scratch_dir
from common.stored_files import save_content_addressed
from common.tasks import requeue_failed
from crowd.models import Participant, Response
from studies.models import Study, Trial

from .models import Dataset, DatasetItem, DatasetJudgment


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
        # One statement reads every response with what decides its validity: one snapshot of
        # committed rows (PostgreSQL's READ COMMITTED gives each statement its own; on SQLite
        # the IMMEDIATE transaction holds the write lock). An answer still in flight is not in
        # it, and the dataset keeps the exact set (DatasetJudgment) that every export reads.
        snapshot = Response.objects.filter(trial__study=locked).values_list(
            "pk",
            "trial_id",
            "choice",
            "item__counts",
            "trial__is_sentinel",
            "trial__is_practice",
            "participant__status",
        )
        tallies: dict[int, list[str]] = defaultdict(list)
        judgments = []
        for pk, trial_id, choice, counts, sentinel, practice, status in snapshot:
            valid = bool(
                counts and not sentinel and not practice and status != Participant.Status.EXCLUDED
            )
            judgments.append((pk, valid))
            if valid:
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
        DatasetJudgment.objects.bulk_create(
            (DatasetJudgment(dataset=dataset, response_id=pk, valid=v) for pk, v in judgments),
            batch_size=2000,
        )
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


def _import_archive_check(archive, name: str) -> None:
    """The uploaded archive's size and directory (no member is read): a .zip, no unsafe paths,
    links or nested archives, within the member and expanded-size limits."""
    size = archive.size
    if size > settings.PERCEPTLAB_MAX_IMPORT_BYTES:
        raise ApplicationError(
            f"{name}: archive is {size:,} bytes; the limit is "
            f"{settings.PERCEPTLAB_MAX_IMPORT_BYTES:,} (PERCEPTLAB_MAX_IMPORT_BYTES).",
            code="too_large",
            fields={"archive": ["too large"]},
        )
    archive.seek(0)
    if not is_zip(archive.read(4)):
        raise ApplicationError(
            f"{name}: not a .zip archive.",
            code="invalid_archive",
            fields={"archive": ["not a zip"]},
        )
    archive.seek(0)
    try:
        with open_zip(archive, name=name) as opened:
            _import_members(opened, name)
    except ArchiveRejected as exc:
        raise ApplicationError(
            str(exc), code="invalid_archive", fields={"archive": [str(exc)]}
        ) from None
    archive.seek(0)


def _import_members(opened, name: str):
    return checked_members(
        opened,
        name=name,
        max_members=settings.PERCEPTLAB_MAX_IMPORT_MEMBERS,
        max_total_bytes=settings.PERCEPTLAB_MAX_IMPORT_EXPANDED_BYTES,
    )


@transaction.atomic
def dataset_import_create(*, owner, name: str, path: str = "", archive=None) -> Dataset:
    """Create the dataset to import into (status `building`) and queue the import
    (`analysis.tasks.import_dataset`, queue `default`) from one of:

    - `archive`: an uploaded .zip of a BAPPS-layout folder (a Django `File`); its directory is
      checked here, then it is stored and read by the worker;
    - `path`: a folder under PERCEPTLAB_IMPORT_ROOT, on the workers. Nothing here looks at the
      filesystem: the worker resolves the path, and a path outside the root and a missing one
      fail with the same message, so the endpoint cannot be used to probe for folders.
    """
    path = (path or "").strip()
    if (archive is None) == (not path):
        raise ApplicationError(
            "Give either an uploaded .zip archive (`archive`) or a folder under the import "
            "root (`path`), not both.",
            fields={"archive": ["archive or path"], "path": ["archive or path"]},
        )
    dataset = Dataset(owner=owner, name=name, source=Dataset.Source.IMPORT)
    if path:
        if not settings.PERCEPTLAB_IMPORT_ROOT:
            raise ApplicationError(
                "Importing from a server folder is turned off (PERCEPTLAB_IMPORT_ROOT is not "
                "set); upload the BAPPS folder as a .zip archive (field `archive`).",
                code="import_root_unset",
                fields={"path": ["server folders are not importable here"]},
            )
        dataset.import_path = path
    else:
        label = getattr(archive, "name", "") or "archive"
        _import_archive_check(archive, label)
        dataset.import_archive.save(Path(label).name or "archive.zip", archive, save=False)
    dataset.save()
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
    name, _ = save_content_addressed(default_storage, f"datasets/{digest[:2]}/{digest}.png", data)
    return name, digest


def dataset_import_run(*, dataset: Dataset, progress=None) -> Dataset:
    """Read and validate every set (as the BAPPS reader does), store the images content-addressed
    and create the items (worker side). Nothing is kept when any file is bad: ApplicationError
    names it, and the task marks the dataset failed with that error (`recording_failure`)."""
    if dataset.import_archive:
        with scratch_dir(prefix=f"import-{dataset.pk}-") as tmp:
            folder = _extract_archive(dataset, tmp)
            dataset = _import_folder(
                dataset, folder, progress=progress, source={"archive": _archive_label(dataset)}
            )
        # Imported: the images are stored content-addressed, the archive is no longer needed.
        dataset.import_archive.delete(save=False)
        Dataset.objects.filter(pk=dataset.pk).update(import_archive="")
        return dataset
    folder = import_folder_resolve(dataset.import_path)
    return _import_folder(
        dataset, folder, progress=progress, source={"source_folder": dataset.import_path}
    )


def _archive_label(dataset: Dataset) -> str:
    return Path(dataset.import_archive.name).name


def import_folder_resolve(path: str) -> Path:
    """Worker side: the folder `path` names under PERCEPTLAB_IMPORT_ROOT. Absolute paths must
    lie under the root, relative ones are taken from it; links are followed before the check.
    Outside the root and missing give the same error, naming only what was asked for."""
    root_setting = settings.PERCEPTLAB_IMPORT_ROOT
    if not root_setting:
        raise ApplicationError(
            "Importing from a server folder is turned off (PERCEPTLAB_IMPORT_ROOT is not set).",
            code="import_root_unset",
        )
    root = Path(root_setting).resolve()
    folder = (root / path).resolve()
    if not folder.is_relative_to(root) or not folder.is_dir():
        raise ApplicationError(
            f"{path}: no folder of that name under the import root.", code="import_not_found"
        )
    return folder


def _extract_archive(dataset: Dataset, tmp: Path) -> Path:
    """Copy the stored archive to `tmp`, check it again and extract it; the BAPPS folder is the
    archive's top level, or its single top folder."""
    label = _archive_label(dataset)
    local = tmp / "archive.zip"
    with dataset.import_archive.open("rb") as source, local.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    tree = tmp / "tree"
    try:
        with local.open("rb") as handle, open_zip(handle, name=label) as opened:
            extract_members(opened, _import_members(opened, label), tree, name=label)
    except ArchiveRejected as exc:
        raise ApplicationError(
            f"Import failed, nothing kept: {exc}", code="invalid_archive"
        ) from None
    local.unlink()
    entries = [p for p in tree.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name not in ("2afc", "jnd"):
        return entries[0]
    return tree


def _import_folder(dataset: Dataset, folder: Path, *, progress, source: dict) -> Dataset:
    from metrics.bapps import BappsDataset, BappsError

    try:
        found = BappsDataset(folder, load_size=None)
        if not list(found.sets()):
            raise ApplicationError(
                "Import failed, nothing kept: no BAPPS sets found (expected "
                "2afc/<split>/<category>/… or jnd/val/…).",
                code="invalid_bapps",
            )
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
        # Name files as the researcher knows them, not by the worker's temporary folder.
        message = str(exc).replace(str(folder), next(iter(source.values())))
        raise ApplicationError(
            f"Import failed, nothing kept: {message}", code="invalid_bapps"
        ) from None
    with transaction.atomic():
        DatasetItem.objects.filter(dataset=dataset).delete()
        DatasetItem.objects.bulk_create(items, batch_size=1000)
        dataset.counts = _counts(items)
        dataset.manifest = {
            "files": dict(sorted(files.items())),
            **source,
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
