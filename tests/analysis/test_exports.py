"""Exports: BAPPS .tar.gz round trip, the long table, the datasheet, downloads and bad input."""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile

import numpy as np
import pytest
from django.core.files.storage import default_storage

from analysis import datasets, exports
from analysis.models import Dataset, Export
from analysis.tasks import export_dataset
from common.exceptions import ApplicationError, ConflictError
from crowd.models import Response
from tests.analysis.studydata import frozen_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(alice):
    return frozen_dataset(alice, exclude_one=True)


@pytest.fixture
def run_export(django_capture_on_commit_callbacks):
    """export_create, then the task as the worker runs it (eager in tests)."""

    def run(dataset, kind):
        with django_capture_on_commit_callbacks(execute=True):
            export = exports.export_create(dataset=dataset, kind=kind)
        export.refresh_from_db()
        assert export.status == Export.Status.READY, export.error
        return export

    return run


def _read(export) -> bytes:
    with export.file.open("rb") as handle:
        return handle.read()


def _extract(export, tmp_path):
    with tarfile.open(fileobj=io.BytesIO(_read(export)), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / datasets.export_folder_name(export.dataset)


def test_bapps_export_reads_back_with_the_same_judges_and_images(dataset, run_export, tmp_path):
    from metrics.bapps import BappsDataset

    export = run_export(dataset, "bapps")
    content = _read(export)
    assert export.sha256 == hashlib.sha256(content).hexdigest() and export.size == len(content)
    root = _extract(export, tmp_path)
    read = BappsDataset(root, load_size=None)
    assert read.counts() == dataset.counts
    items = list(dataset.items.order_by("index"))
    subset = read.twoafc("val", "traditional")
    assert np.array_equal(subset.judges(), [i.judge for i in items])
    for n, item in enumerate(items):
        triplet = subset[n]
        for member in ("ref", "p0", "p1"):
            assert np.array_equal(
                getattr(triplet, member), datasets.read_png(getattr(item, member))
            )
    index = list(csv.DictReader((root / "index.csv").open()))
    assert [int(r["dataset_item"]) for r in index] == [i.pk for i in items]
    assert (root / "README.md").read_text().startswith("# Datasheet")


def test_bapps_export_of_an_import_round_trips_2afc_and_jnd(alice, run_export, tmp_path):
    from metrics.bapps import BappsDataset, write_2afc, write_jnd

    rng = np.random.default_rng(3)
    img = lambda: rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)  # noqa: E731
    source = tmp_path / "source"
    write_2afc(source, "val", "cnn", [(img(), img(), img(), j) for j in (0.0, 0.4, 1.0)])
    write_jnd(source, "val", "traditional", [(img(), img(), s) for s in (0.0, 1 / 3, 1.0)])
    dataset = datasets.dataset_import_create(owner=alice, name="copy", path=str(source))
    datasets.dataset_import_run(dataset=dataset)
    root = _extract(run_export(dataset, "bapps"), tmp_path / "out")
    original, exported = BappsDataset(source, load_size=None), BappsDataset(root, load_size=None)
    for kind, split, category in original.sets():
        a, b = original.open(kind, split, category), exported.open(kind, split, category)
        assert np.array_equal(a.values(), b.values())
        for n in range(len(a)):
            for member in a.layout.images:
                assert np.array_equal(getattr(a[n], member), getattr(b[n], member))


def test_bapps_export_is_byte_identical_when_repeated(dataset, run_export):
    assert run_export(dataset, "bapps").sha256 == run_export(dataset, "bapps").sha256


def test_long_table_has_one_row_per_judgment_with_qc_columns(dataset, run_export):
    export = run_export(dataset, "csv")
    text = _read(export).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:6] == [
        "observer",
        "session",
        "scene",
        "condition_A",
        "condition_B",
        "is_A_selected",
    ]
    assert tuple(rows[0]) == exports.LONG_COLUMNS
    responses = Response.objects.filter(trial__study=dataset.study)
    assert len(rows) == responses.count() == 3 * 8  # 6 trials + 2 sentinels, 3 people
    assert sorted(int(r["response_id"]) for r in rows) == sorted(
        responses.values_list("pk", flat=True)
    )
    # Valid rows are exactly the judgments the dataset counted (QC exclusion, sentinels, repeats out).
    assert (
        sum(r["valid"] == "true" for r in rows)
        == sum(i.n_judgments for i in dataset.items.all())
        == 12
    )
    excluded = [r for r in rows if r["participant_status"] == "excluded"]
    assert len(excluded) == 8 and all(r["valid"] == "false" for r in excluded)
    sentinels = [r for r in rows if r["is_sentinel"] == "true"]
    assert len(sentinels) == 6 and {r["sentinel_correct"] for r in sentinels} == {"true"}
    assert (
        sum(r["is_repeat"] == "true" for r in rows)
        == responses.filter(item__is_repeat=True).count()
    )
    for r in rows:
        assert r["is_A_selected"] == ("true" if r["choice"] == "p0" else "false")
        assert r["condition_A"] == r["p0_stimulus"] and r["scene"] == r["ref_stimulus"]
    assert "person-0" not in text  # pseudonyms only, never recruiter ids
    assert {r["observer"] for r in rows} == {
        str(p.pseudonym) for p in dataset.study.participants.all()
    }


def test_datasheet_describes_collection_qc_counts_and_licences(dataset, run_export):
    text = _read(run_export(dataset, "datasheet")).decode()
    for heading in ("## Collection", "## Quality control", "## Licences", "## Counts"):
        assert heading in text
    assert "| 2afc | val | traditional | 6 | 12 |" in text
    assert "Participants: 3 (prolific: 3)" in text
    assert "1 of 3 participants excluded" in text


@pytest.mark.skipif(exports.parquet_available(), reason="pyarrow is installed here")
def test_parquet_without_pyarrow_is_refused_clearly(dataset):
    with pytest.raises(ApplicationError, match="pyarrow is not installed") as caught:
        exports.export_create(dataset=dataset, kind="parquet")
    assert caught.value.code == "parquet_unavailable"
    assert not Export.objects.exists()


@pytest.mark.skipif(not exports.parquet_available(), reason="pyarrow is not installed")
def test_parquet_has_the_long_table_columns(dataset, run_export):
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(_read(run_export(dataset, "parquet"))))
    assert tuple(table.column_names) == exports.LONG_COLUMNS and table.num_rows == 24


def _nothing_written(settings):
    assert not Export.objects.exists()
    assert not (settings.MEDIA_ROOT / "exports").exists()


def test_unknown_kind_is_refused_and_nothing_written(dataset, settings):
    with pytest.raises(ApplicationError, match="Unknown export kind 'zip'") as caught:
        exports.export_create(dataset=dataset, kind="zip")
    assert caught.value.status_code == 400 and caught.value.fields == {"kind": ["unknown"]}
    _nothing_written(settings)


def test_a_dataset_that_is_not_ready_is_refused(dataset, settings):
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.BUILDING)
    dataset.refresh_from_db()
    with pytest.raises(ConflictError, match="not ready") as caught:
        exports.export_create(dataset=dataset, kind="bapps")
    assert caught.value.status_code == 409
    _nothing_written(settings)


def test_long_table_of_an_imported_dataset_is_refused(alice, settings):
    imported = Dataset.objects.create(
        owner=alice, name="imp", source=Dataset.Source.IMPORT, status="ready"
    )
    with pytest.raises(ApplicationError, match="no individual judgments"):
        exports.export_create(dataset=imported, kind="csv")
    _nothing_written(settings)


def test_a_failing_export_is_marked_failed_and_stores_no_file(dataset, settings):
    item = dataset.items.first()
    default_storage.delete(item.p1)  # an image gone from storage
    export = Export.objects.create(dataset=dataset, kind="bapps")
    with pytest.raises(FileNotFoundError):
        export_dataset(export.pk)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and "FileNotFoundError" in export.error
    assert not export.file and not (settings.MEDIA_ROOT / "exports").exists()


def test_the_task_skips_a_finished_export(dataset, run_export):
    export = run_export(dataset, "datasheet")
    assert export_dataset(export.pk) == {"skipped": "ready"}


@pytest.mark.parametrize(
    ("persona", "status"), [("alice", 200), ("bob", 200), ("charlie", 404), ("anonymous", 401)]
)
def test_export_download_is_streamed_to_researchers_of_the_dataset(
    client, dataset, run_export, researchers, persona, status
):
    dataset.collaborators.add(researchers["bob"])
    export = run_export(dataset, "csv")
    if persona != "anonymous":
        client.force_login(researchers[persona])
    response = client.get(f"/api/exports/{export.pk}/download/")
    assert response.status_code == status
    if status == 200:
        assert response.streaming and b"".join(response.streaming_content) == _read(export)
        assert response["Content-Disposition"].startswith("attachment")


def test_downloading_an_unfinished_export_is_409(client, dataset, alice):
    export = Export.objects.create(dataset=dataset, kind="csv")
    client.force_login(alice)
    response = client.get(f"/api/exports/{export.pk}/download/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_ready"
