"""Writes of analysis: score runs, fit runs, uploaded metrics, publishing, and their retries.

Creation validates everything a researcher can get wrong (unknown or foreign metric, a split the
dataset lacks, a fit on a JND-only dataset, an oversized upload) and writes nothing when it fails;
the heavy work is enqueued on commit and runs in `analysis.tasks` (queue `gpu`), so the web
process never imports torch. Every task records its failure on its object (`common.tasks.
recording_failure`), and `<entity>_retry` re-queues a failed one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from common import jobs
from common.exceptions import ApplicationError, ConflictError, ForbiddenError
from common.scratch import scratch_dir
from common.tasks import requeue_failed
from metrics.deep.archs import is_deep, zoo_nets

from . import datasets, selectors
from .models import SEED_MAX, Dataset, FitRun, KMeansTrunk, RunStatus, ScoreRun, UploadedMetric
from .weight_files import (
    KMEANS_METRICS,
    KMEANS_NETS,
    kmeans_trunk_pk,
    options_check,
    options_on_worker,
    weights_name_check,
    weights_on_worker,
)

UPLOAD_NETS = ("alex", "vgg", "squeeze")  # uploads are official-format LPIPS lin weights
FIT_NETS = (*UPLOAD_NETS, *zoo_nets())  # plus every deep-<arch> zoo net (metrics.deep.archs)
FIT_VARIANTS = ("lin", "tune", "scratch")
FIT_VERSIONS = ("0.1", "0.0")
FIT_OPTIONS = {"path", "batch_size", "lr", "dropout", "trunk_seed"}
LOAD_SIZE = 64  # the official loader's Resize(64)
SCORE_BATCH = 50  # items per metric call in a score run

log = logging.getLogger(__name__)


def _check_ready(dataset: Dataset) -> None:
    if dataset.status != Dataset.Status.READY:
        raise ConflictError(f"Dataset {dataset} is {dataset.status}, not ready.", code="not_ready")


# ---------------------------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def dataset_publish(*, dataset: Dataset, by, is_public: bool) -> Dataset:
    """Make the dataset's leaderboard public (its slug URL works for anyone) or private again.
    Only the owner (or a superuser) may; collaborators get ForbiddenError."""
    if dataset.owner_id != by.pk and not by.is_superuser:
        raise ForbiddenError(
            "Only the owner can publish or unpublish a dataset.", code="owner_only"
        )
    Dataset.objects.filter(pk=dataset.pk).update(is_public=is_public)
    dataset.refresh_from_db()
    return dataset


# ---------------------------------------------------------------------------------------------
# Score runs
# ---------------------------------------------------------------------------------------------


def _check_metric_options(name: str, options: dict) -> None:
    """Option names and choices of a registry metric, checked here (torch-free) rather than
    failing later in the worker."""
    import metrics
    from metrics._registry import resolve_options

    try:
        resolve_options(metrics.get_metric_info(name), options)
        if name == "cvvdp":  # its display model's values, checked torch-free (metrics.display)
            from metrics.display import check_options

            check_options(options)
    except (TypeError, ValueError) as exc:
        text = str(exc)
        raise ApplicationError(
            text[:1].upper() + text[1:], code="invalid_options", fields={"options": ["invalid"]}
        ) from None


def _enqueue_score(run: ScoreRun) -> None:
    jobs.enqueue(
        "analysis.tasks.score_metric",
        run.pk,
        target=(ScoreRun, run.pk),
        failed={"status": RunStatus.FAILED},
    )


@transaction.atomic
def score_run_create(
    *, dataset: Dataset, metric: str, by, split: str = "val", options: dict | None = None
) -> ScoreRun:
    """Queue scoring `metric` (a registry name, or a fit or upload `by` may use) on a split."""
    _check_ready(dataset)
    ref = selectors.metric_ref_resolve(user=by, metric=metric)
    options = dict(options or {})
    if ref.is_registry and ref.key == "cvvdp" and dataset.study_id is not None:
        # The display model's scale is the study's, unless the request says otherwise.
        options.setdefault("display_scale", dataset.study.display_scale)
    if ref.is_registry:
        _check_metric_options(ref.key, options)
    options_check(options, user=by)
    if kmeans_trunk_pk(options.get("trunk_weights")) is not None and ref.key not in KMEANS_METRICS:
        raise ApplicationError(
            f"A k-means trunk is an AlexNet: it fits {' and '.join(KMEANS_METRICS)}, not {ref}.",
            fields={"options.trunk_weights": ["wrong net"]},
        )
    splits = set(dataset.items.values_list("split", flat=True).distinct())
    if split not in splits:
        raise ApplicationError(
            f"Dataset {dataset} has no {split!r} split (it has {', '.join(sorted(splits))}).",
            fields={"split": ["missing"]},
        )
    run = ScoreRun.objects.create(
        dataset=dataset, metric=str(ref), split=split, options=options, created_by=by
    )
    _enqueue_score(run)
    return run


@transaction.atomic
def score_run_retry(*, run: ScoreRun, by) -> ScoreRun:
    """Queue a failed score run again (ConflictError unless it failed). The metric is checked
    again for `by`: access to a fitted or uploaded metric may have been withdrawn since."""
    selectors.metric_ref_resolve(user=by, metric=run.metric)
    return requeue_failed(
        run,
        label=lambda r: f"Score run {r.pk}",
        kind="run",
        failed=RunStatus.FAILED,
        queued=RunStatus.QUEUED,
        enqueue=_enqueue_score,
        progress={},
    )


# ---------------------------------------------------------------------------------------------
# Fit runs
# ---------------------------------------------------------------------------------------------


def _enqueue_fit(run: FitRun) -> None:
    jobs.enqueue(
        "analysis.tasks.fit_lpips",
        run.pk,
        target=(FitRun, run.pk),
        failed={"status": RunStatus.FAILED},
    )


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
    """Queue fitting LPIPS on the dataset's 2AFC train split. `trunk_weights` is the stored
    trunk setting (`metrics.refs.trunk_option`: blank ImageNet, "random", or a worker path)."""
    from metrics.refs import RANDOM_TRUNK

    _check_ready(dataset)
    if net not in FIT_NETS or variant not in FIT_VARIANTS or version not in FIT_VERSIONS:
        raise ApplicationError(
            f"net must be one of {UPLOAD_NETS} or deep-<arch> ({', '.join(zoo_nets())}), "
            f"variant one of {FIT_VARIANTS}, version 0.1 or 0.0.",
            fields={"net": ["invalid"]} if net not in FIT_NETS else None,
        )
    if version != "0.1" and net not in UPLOAD_NETS:
        raise ApplicationError(
            f"{net} applies the ImageNet normalisation: version must be 0.1.",
            fields={"version": ["invalid"]},
        )
    weights_name_check(trunk_weights, user=by)
    if kmeans_trunk_pk(trunk_weights) is not None and net not in KMEANS_NETS:
        raise ApplicationError(
            f"A k-means trunk is an AlexNet: it fits nets {' and '.join(KMEANS_NETS)}, not {net}.",
            fields={"trunk_weights": ["wrong net"]},
        )
    if epochs + epochs_decay < 1:
        raise ApplicationError(
            "epochs + epochs_decay must be at least 1.", fields={"epochs": ["too few"]}
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ApplicationError(
            f"seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}.",
            fields={"seed": ["out of range"]},
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
        trunk_weights = RANDOM_TRUNK
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
    _enqueue_fit(run)
    return run


ZOO_MAX_NETS = 40


@transaction.atomic
def zoo_fits_create(
    *,
    dataset: Dataset,
    by,
    nets: list[str],
    epochs: int = 5,
    epochs_decay: int = 5,
    seed: int = 0,
    trunk_weights: str = "",
) -> list[FitRun]:
    """The network zoo on a dataset: one lin fit per `deep-<arch>` net, each its own job on the
    gpu queue (so they fan out to as many workers as run). Each fit is scored on the dataset's
    2AFC split when it finishes (`_score_zoo_fit`), which puts it on the leaderboard with its
    interval, beside its ImageNet top-1 in the zoo chart. All or nothing: one bad net stores none."""
    nets = list(nets or [])
    if not nets or len(nets) > ZOO_MAX_NETS:
        raise ApplicationError(
            f"Name 1 to {ZOO_MAX_NETS} zoo nets (deep-<arch>).", fields={"nets": ["count"]}
        )
    if len(set(nets)) != len(nets):
        raise ApplicationError("Each net may be named once.", fields={"nets": ["duplicate"]})
    unknown = [n for n in nets if not is_deep(n)]
    if unknown:
        raise ApplicationError(
            f"Not zoo nets: {unknown}; choose deep-<arch> names such as deep-resnet18 "
            "(GET /api/metrics/ lists them).",
            fields={"nets": ["unknown"]},
        )
    return [
        fit_run_create(
            dataset=dataset,
            by=by,
            net=net,
            epochs=epochs,
            epochs_decay=epochs_decay,
            seed=seed,
            trunk_weights=trunk_weights,
        )
        for net in nets
    ]


def _score_zoo_fit(run: FitRun) -> None:
    """A finished zoo fit is scored on the dataset's 2AFC split (val when there is one), once."""
    from .leaderboard.selectors import default_split

    if not is_deep(run.net) or run.created_by is None:
        return
    split = default_split(run.dataset)
    metric = run.metric_name
    if ScoreRun.objects.filter(dataset=run.dataset, metric=metric, split=split).exists():
        return
    if not run.dataset.items.filter(kind="2afc", split=split).exists():
        return
    score_run_create(dataset=run.dataset, metric=metric, by=run.created_by, split=split)


def fit_run_cancel(*, run: FitRun) -> FitRun:
    FitRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    FitRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(status=RunStatus.CANCELLED)
    run.refresh_from_db()
    return run


@transaction.atomic
def fit_run_retry(*, run: FitRun) -> FitRun:
    """Queue a failed fit again; it resumes from its last checkpoint in shared storage
    (ConflictError unless it failed)."""
    return requeue_failed(
        run,
        label=lambda r: f"Fit {r.pk}",
        kind="fit",
        failed=RunStatus.FAILED,
        queued=RunStatus.QUEUED,
        enqueue=_enqueue_fit,
        cancel_requested=False,
    )


# ---------------------------------------------------------------------------------------------
# K-means trunks (the paper's unsupervised row)
# ---------------------------------------------------------------------------------------------

# Settings a researcher may give (metrics.training.kmeans_init.KMeansInitConfig), with bounds
# that keep a job within a worker's memory and an hour or so of CPU.
KMEANS_OPTIONS = {
    "crop_size": (63, 512),
    "n_crops": (1, 4096),
    "n_patches": (384, 65536),
    "kmeans_iterations": (1, 200),
    "between_layer": None,  # a boolean
}


def _enqueue_kmeans(trunk: KMeansTrunk) -> None:
    jobs.enqueue(
        "analysis.tasks.fit_kmeans_trunk",
        trunk.pk,
        target=(KMeansTrunk, trunk.pk),
        failed={"status": RunStatus.FAILED},
    )


def _check_kmeans_options(options: dict) -> dict:
    if not isinstance(options, dict):
        raise ApplicationError("options must be an object.", fields={"options": ["invalid"]})
    unknown = sorted(set(options) - set(KMEANS_OPTIONS))
    if unknown:
        raise ApplicationError(
            f"Unknown k-means option(s) {unknown}; allowed: {sorted(KMEANS_OPTIONS)}.",
            fields={"options": ["unknown"]},
        )
    for name, value in options.items():
        bounds = KMEANS_OPTIONS[name]
        if bounds is None:
            ok = isinstance(value, bool)
            want = "true or false"
        else:
            ok = isinstance(value, int) and not isinstance(value, bool)
            ok = ok and bounds[0] <= value <= bounds[1]
            want = f"a whole number from {bounds[0]} to {bounds[1]}"
        if not ok:
            raise ApplicationError(
                f"options.{name} must be {want}, got {value!r}.",
                fields={f"options.{name}": ["invalid"]},
            )
    return dict(options)


@transaction.atomic
def kmeans_trunk_create(
    *, owner, image_set, name: str = "", seed: int = 0, options: dict | None = None
) -> KMeansTrunk:
    """Queue initialising an AlexNet trunk by stacked k-means on `image_set` (one the owner can
    see; the caller resolved it with `studies.selectors.image_set_get`). Usable as
    `trunk_weights` = `kmeans:<id>` once done."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ApplicationError(
            f"seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}.",
            fields={"seed": ["out of range"]},
        )
    options = _check_kmeans_options(options or {})
    if not image_set.images.exists():
        raise ApplicationError(
            f"Image set {image_set} has no images to initialise a trunk from.",
            code="no_images",
            fields={"image_set": ["empty"]},
        )
    trunk = KMeansTrunk.objects.create(
        owner=owner,
        image_set=image_set,
        name=(name or f"k-means on {image_set.name}")[:200],
        seed=seed,
        options=options,
    )
    _enqueue_kmeans(trunk)
    return trunk


@transaction.atomic
def kmeans_trunk_retry(*, trunk: KMeansTrunk) -> KMeansTrunk:
    """Queue a failed k-means trunk again (ConflictError unless it failed)."""
    return requeue_failed(
        trunk,
        label=lambda t: f"K-means trunk {t.pk}",
        kind="k-means trunk",
        failed=RunStatus.FAILED,
        queued=RunStatus.QUEUED,
        enqueue=_enqueue_kmeans,
    )


def _image_tensors(image_set, limit: int) -> list:
    """Up to `limit` images of the set as 3×H×W float tensors in [0, 1], in sha256 order (a
    stable choice: the same set gives the same images)."""
    import io

    import numpy as np
    import torch
    from PIL import Image

    out = []
    for image in image_set.images.order_by("sha256")[:limit]:
        with image.file.open("rb") as handle, Image.open(io.BytesIO(handle.read())) as pil:
            array = np.asarray(pil.convert("RGB"), dtype=np.uint8)
        out.append(torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0))
    return out


def kmeans_trunk_execute(
    *, trunk: KMeansTrunk, worker: str = "", device: str | None = None, progress=None
) -> KMeansTrunk:
    """Worker side: run `metrics.training.kmeans_init` on the image set (CUDA when the worker
    has it, else CPU) and store the checkpoint, its sha256 and the report."""
    import torch

    from metrics.training.kmeans_init import KMeansInitConfig, kmeans_init

    KMeansTrunk.objects.filter(pk=trunk.pk).update(
        status=RunStatus.RUNNING, worker=worker[:200], error="", attempts=trunk.attempts + 1
    )
    try:
        config = KMeansInitConfig(seed=trunk.seed, **trunk.options)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(f"Bad k-means settings: {exc}") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if trunk.image_set is None:
        raise ApplicationError("The image set of this trunk was deleted.", code="no_images")
    images = _image_tensors(trunk.image_set, config.n_crops)
    if not images:
        raise ApplicationError(f"Image set {trunk.image_set} has no images.", code="no_images")
    try:
        result = kmeans_init(images, config, device=device, progress=progress)
    except ValueError as exc:  # settings the images cannot satisfy
        raise ApplicationError(f"K-means initialisation failed: {exc}") from None
    with scratch_dir(prefix=f"kmeans-{trunk.pk}-") as tmp:
        path = Path(tmp) / "trunk.pt"
        result.save(path)
        data = path.read_bytes()
    trunk.refresh_from_db()
    trunk.weights.save(f"kmeans-{trunk.pk}-alexnet.pt", ContentFile(data), save=False)
    trunk.sha256 = hashlib.sha256(data).hexdigest()
    trunk.report = _plain(result.report())
    trunk.computed_with = {"torch": torch.__version__, "device": str(device)}
    trunk.status = RunStatus.DONE
    trunk.save(
        update_fields=["weights", "sha256", "report", "computed_with", "status", "updated_at"]
    )
    return trunk


# ---------------------------------------------------------------------------------------------
# Uploaded metrics
# ---------------------------------------------------------------------------------------------


def _enqueue_upload_validation(upload: UploadedMetric) -> None:
    jobs.enqueue(
        "analysis.tasks.validate_uploaded_metric",
        upload.pk,
        target=(UploadedMetric, upload.pk),
        failed={"status": UploadedMetric.Status.FAILED},
    )


@transaction.atomic
def uploaded_metric_create(*, owner, name: str, net: str, version: str, file) -> UploadedMetric:
    """Store uploaded lin weights (a Django `File`, e.g. the request's upload) as a `pending`
    UploadedMetric and queue their validation by a worker (keys, shapes, ≥ 0 for `net`).

    The size is checked before the content is read, and the file is streamed in chunks (hashed,
    then saved); nothing here imports torch. It becomes usable as `uploaded:<id>` once `ready`.
    """
    if net not in UPLOAD_NETS:
        raise ApplicationError(f"net must be one of {UPLOAD_NETS}.", fields={"net": ["invalid"]})
    if version not in FIT_VERSIONS:
        raise ApplicationError("version must be 0.1 or 0.0.", fields={"version": ["invalid"]})
    size, limit = file.size, settings.PERCEPTLAB_MAX_WEIGHTS_BYTES
    if size is None or size > limit:
        raise ApplicationError(
            f"A lin-weights file is a few KB; this one is over {limit / 2**20:g} MB "
            "(PERCEPTLAB_MAX_WEIGHTS_BYTES).",
            code="too_large",
            fields={"file": ["too large"]},
        )
    if size == 0:
        raise ApplicationError("The uploaded file is empty.", fields={"file": ["empty"]})
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    upload = UploadedMetric(
        owner=owner, name=name, net=net, version=version, sha256=digest.hexdigest(), size=size
    )
    upload.weights.save(f"{upload.sha256}.pth", file, save=False)
    upload.save()
    _enqueue_upload_validation(upload)
    return upload


@transaction.atomic
def uploaded_metric_retry(*, upload: UploadedMetric) -> UploadedMetric:
    """Validate a failed upload again (ConflictError unless it failed)."""
    return requeue_failed(
        upload,
        label=lambda u: f"Uploaded metric {u.pk}",
        kind="upload",
        failed=UploadedMetric.Status.FAILED,
        queued=UploadedMetric.Status.PENDING,
        enqueue=_enqueue_upload_validation,
    )


def uploaded_metric_validate(*, upload: UploadedMetric) -> UploadedMetric:
    """Worker side: load the stored file with `metrics.lpips.lin` for the declared net and
    version and mark it `ready`; a file that is not usable lin weights raises ApplicationError
    (the task records it and marks the upload `failed`)."""
    from metrics.lpips.lin import load_lin_weights
    from metrics.lpips.trunks import TRUNKS

    UploadedMetric.objects.filter(pk=upload.pk).update(
        status=UploadedMetric.Status.VALIDATING, error=""
    )
    with upload.weights.open("rb") as handle, scratch_dir(prefix=f"weights-{upload.pk}-") as folder:
        path = Path(folder) / f"uploaded-{upload.pk}.pth"
        with path.open("wb") as out:
            shutil.copyfileobj(handle, out)
        try:
            load_lin_weights(
                upload.net, TRUNKS[upload.net].channels, version=upload.version, source=path
            )
        except (ValueError, KeyError) as exc:
            message = str(exc).replace(str(path), upload.name)
            raise ApplicationError(
                f"Not a usable LPIPS lin-weights file for {upload.net}: {message}",
                code="invalid_weights",
            ) from None
    UploadedMetric.objects.filter(pk=upload.pk).update(status=UploadedMetric.Status.READY, error="")
    upload.refresh_from_db()
    return upload


# ---------------------------------------------------------------------------------------------
# Execution (workers)
# ---------------------------------------------------------------------------------------------


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


def _computed_with(metric, *, name: str) -> dict:
    """How a score is computed: `metric.provenance()` where the metric offers it, else the
    torch version and the metric's device."""
    provenance = getattr(metric, "provenance", None)
    if callable(provenance):
        return _plain(provenance())
    import torch

    device = getattr(metric, "device", None)
    return {"metric": name, "torch": torch.__version__, "device": str(device) if device else None}


def _set_batches(items: list, kind: str, judges: dict, batch_size: int):
    """One category of the dataset as batches of uint8 image arrays, read from storage when the
    metrics loop reaches it (one category in memory at a time); its judge values go to
    `judges[(kind, category)]`."""
    from metrics.training.evaluation import MEMBERS

    arrays = _resized(datasets.item_arrays(items))
    judges[(kind, items[0].category)] = arrays["judge"]
    members = tuple(arrays[m] for m in MEMBERS[kind])
    for start in range(0, len(items), batch_size):
        yield tuple(a[start : start + batch_size] for a in members)


def score_run_execute(*, run: ScoreRun, progress=None) -> ScoreRun:
    """Read the split's items (platform), compute every distance with one call of
    `metrics.training.evaluation.item_set_distances`, then store 2AFC (with bootstrap CIs and
    human ceiling) and JND mAP reports per category, the per-item credit and `computed_with`."""
    import metrics
    from metrics.scoring import credit_table, score_2afc, score_jnd
    from metrics.training.evaluation import item_set_distances

    ScoreRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, error="")
    options = options_on_worker(run.options)
    metric = metrics.create_metric(run.metric, **options)
    computed_with = _computed_with(metric, name=run.metric)
    ScoreRun.objects.filter(pk=run.pk).update(computed_with=computed_with)

    groups = {
        kind: {
            category: items
            for (_split, category), items in datasets.groups(
                run.dataset, kind=kind, split=run.split
            ).items()
        }
        for kind in ("2afc", "jnd")
    }
    judges: dict[tuple[str, str], object] = {}
    sets = {
        kind: {c: _set_batches(items, kind, judges, SCORE_BATCH) for c, items in by_cat.items()}
        for kind, by_cat in groups.items()
    }
    total = sum(len(items) for by_cat in groups.values() for items in by_cat.values())
    done = 0

    def on_batch(label: str, n: int) -> None:
        nonlocal done
        done += n
        if progress:
            kind, category = label.split("/", 1)
            progress({"kind": kind, "category": category, "done": done, "of": total})

    distances = item_set_distances(metric, sets, on_batch=on_batch)

    result, per_item = {}, []
    for kind, by_cat in groups.items():
        scored = {}
        for category, items in by_cat.items():
            judge = judges[(kind, category)]
            if kind == "2afc":
                d0, d1 = distances[kind][category]
                scored[category] = (d0, d1, judge)
                credits = credit_table(d0, d1, judge, names=[str(i.pk) for i in items])
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
                (d,) = distances[kind][category]
                scored[category] = (d, judge)
                per_item += [
                    {"item": i.pk, "category": category, "d": float(x), "same": float(s)}
                    for i, x, s in zip(items, d, judge, strict=True)
                ]
        if scored:
            report = (score_2afc if kind == "2afc" else score_jnd)(
                scored, metric=run.metric, split=run.split, seed=0
            )
            result[kind] = report.to_dict()
    run.result = result
    run.computed_with = computed_with
    run.credits.save(f"score-{run.pk}.json", ContentFile(json.dumps(per_item).encode()), save=False)
    run.status = RunStatus.DONE
    run.save(update_fields=["result", "computed_with", "credits", "status", "updated_at"])
    # The board's significance is computed when scores are stored, never in a request. Best
    # effort: if the broker is down, the board's next read asks for it again.
    jobs.send(
        "analysis.tasks.board_significance_refresh", dataset_id=run.dataset_id, split=run.split
    )
    return run


def _fit_computed_with(trainer) -> dict:
    provenance = getattr(trainer, "provenance", None)
    if callable(provenance):
        return _plain(provenance())
    import torch

    out = {"torch": torch.__version__, "device": str(trainer.device)}
    if trainer.device.type == "cuda":
        out["device_name"] = torch.cuda.get_device_name(trainer.device)
    path = getattr(trainer, "path", None)
    if path is not None:
        out["path"] = str(path)
    return out


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
    from metrics.refs import trunk_option
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
    trunk = weights_on_worker(trunk_option(run.trunk_weights))
    last_saved = {"at": 0.0}

    def progress(event: dict) -> None:
        jobs.heartbeat()  # stops here, before writing, when this attempt was superseded
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
        jobs.heartbeat()
        return FitRun.objects.filter(pk=run.pk, cancel_requested=True).exists()

    with scratch_dir(prefix=f"fit-{run.pk}-") as tmp:
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
        computed_with = _fit_computed_with(trainer)
        FitRun.objects.filter(pk=run.pk).update(computed_with=computed_with)
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
        # An attempt that died between an epoch's checkpoint and its progress write left that
        # epoch out of the history; the trainer's own history (kept in the checkpoint) has it.
        seen = {h.get("epoch") for h in run.history}
        missing = [
            {"event": "epoch", "epochs": run.epochs + run.epochs_decay, **_plain(h)}
            for h in getattr(result, "history", [])
            if h.get("epoch", 0) >= 1 and h.get("epoch") not in seen
        ]
        run.history = sorted([*run.history, *missing], key=lambda h: h.get("epoch", 0))
        run.status = RunStatus.DONE
        run.save(update_fields=["weights", "result", "history", "status", "updated_at"])
    _score_zoo_fit(run)
    return run


def _plain(value):
    """JSON-safe copy (numpy/torch scalars become floats)."""
    return json.loads(
        json.dumps(value, default=lambda o: float(o) if hasattr(o, "__float__") else str(o))
    )
