"""Small analysis objects made directly (no study, no worker) for access and failure tests."""

from __future__ import annotations

from pathlib import Path

from django.core.files.base import ContentFile

from analysis.models import Dataset, DatasetItem, FitRun, KMeansTrunk, RunStatus, UploadedMetric

OFFICIAL_ALEX = Path(__file__).resolve().parents[2] / "metrics" / "weights" / "v0.1" / "alex.pth"


def ready_dataset(owner, *, name: str = "ready", collaborators=()) -> Dataset:
    """A ready imported dataset with one 2AFC val item (enough to queue score runs)."""
    dataset = Dataset.objects.create(
        owner=owner, name=name, source=Dataset.Source.IMPORT, status=Dataset.Status.READY
    )
    dataset.collaborators.set(collaborators)
    DatasetItem.objects.create(
        dataset=dataset,
        kind="2afc",
        split="val",
        category="traditional",
        index=0,
        ref="r.png",
        p0="a.png",
        p1="b.png",
        p0_sha256="0" * 64,
        p1_sha256="1" * 64,
        judge=0.5,
    )
    return dataset


def finished_fit(dataset, *, by, status: str = RunStatus.DONE) -> FitRun:
    fit = FitRun.objects.create(
        dataset=dataset, created_by=by, status=status, trunk_weights="random"
    )
    if status == RunStatus.DONE:
        fit.weights.save(f"fit-{fit.pk}.pth", ContentFile(OFFICIAL_ALEX.read_bytes()))
    return fit


def upload(owner, *, status: str = UploadedMetric.Status.READY, data: bytes | None = None):
    metric = UploadedMetric(owner=owner, name="mine", net="alex", status=status)
    metric.weights.save("lin.pth", ContentFile(data or OFFICIAL_ALEX.read_bytes()), save=False)
    metric.save()
    return metric


def finished_kmeans_trunk(owner, image_set, *, status: str = RunStatus.DONE) -> KMeansTrunk:
    """A k-means trunk row (its file is a placeholder: nothing here loads it)."""
    import hashlib

    trunk = KMeansTrunk.objects.create(owner=owner, image_set=image_set, name="km", status=status)
    if status == RunStatus.DONE:
        data = b"placeholder trunk"
        trunk.weights.save(f"kmeans-{trunk.pk}.pt", ContentFile(data), save=False)
        trunk.sha256 = hashlib.sha256(data).hexdigest()
        trunk.save()
    return trunk
