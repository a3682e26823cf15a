"""A frozen dataset is a snapshot (issue #12, defect 7): the dataset and every export of it count
exactly the same judgments, with answers in flight during the freeze (PostgreSQL, an answer
transaction held open in another connection) and with QC decisions taken after it."""

from __future__ import annotations

import csv
import io
import re
import tarfile
import threading
import uuid

import pytest
from django.db import connection, connections, transaction

from analysis import datasets, exports, planning
from analysis.models import Export
from crowd import services
from crowd.models import Participant, Response
from tests.analysis.studydata import choose, judged_study
from tests.factories import collect, make_live_study


def _read(export: Export) -> bytes:
    with export.file.open("rb") as handle:
        return handle.read()


def _export(dataset, kind: str) -> Export:
    """Run an export of `kind` as the worker does (the writers, not the dispatch, are tested)."""
    return exports.export_run(export=Export.objects.create(dataset=dataset, kind=kind))


def _counts_in_every_export(dataset) -> dict[str, int]:
    """The number of valid judgments each export kind (and the planning dashboard) reports."""
    counted = {"dataset": sum(dataset.items.values_list("n_judgments", flat=True))}
    counted["manifest"] = dataset.manifest["qc"]["judgments"]
    splits = set(dataset.items.values_list("split", flat=True))  # the studies here are all 2AFC
    counted["planning"] = sum(
        c.size for split in splits for c in planning._valid_choices(dataset, split)[1]
    )
    rows = list(csv.DictReader(io.StringIO(_read(_export(dataset, "csv")).decode())))
    counted["csv"] = sum(r["valid"] == "true" for r in rows)
    counted["csv rows"] = len(rows)
    if exports.parquet_available():
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(_read(_export(dataset, "parquet"))))
        counted["parquet"] = sum(table.column("valid").to_pylist())
    with tarfile.open(fileobj=io.BytesIO(_read(_export(dataset, "bapps"))), mode="r:gz") as tar:
        top = datasets.export_folder_name(dataset)
        index = tar.extractfile(f"{top}/index.csv").read().decode()
    counted["bapps"] = sum(int(r["n_judgments"]) for r in csv.DictReader(io.StringIO(index)))
    sheet = _read(_export(dataset, "datasheet")).decode()
    counted["datasheet table"] = sum(
        int(m) for m in re.findall(r"^\| (?:2afc|jnd) \|.*\| (\d+) \|$", sheet, re.M)
    )
    counted["datasheet qc"] = int(re.search(r"excluded; (\d+) valid judgments", sheet).group(1))
    return counted


@pytest.mark.django_db
def test_exports_count_the_frozen_judgments_after_a_later_exclusion(alice):
    study = judged_study(alice)
    dataset = datasets.dataset_freeze(study=study, by=alice)
    before = _counts_in_every_export(dataset)
    assert before.pop("csv rows") == Response.objects.filter(trial__study=study).count()
    assert set(before.values()) == {18}, before  # 6 trials × 3 people, in every export
    # After the freeze, QC excludes someone: the frozen dataset does not change, nor its exports.
    services.participant_set_excluded(
        participant=Participant.objects.get(study=study, external_id="person-1"), excluded=True
    )
    after = _counts_in_every_export(dataset)
    assert after.pop("csv rows") == Response.objects.filter(trial__study=study).count()
    assert after == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_an_answer_in_flight_during_the_freeze_is_in_neither_the_dataset_nor_an_export(alice):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions are tested on PostgreSQL (CI sets DATABASE_URL)")
    study = make_live_study(
        alice, trials=6, sentinels=0, needed=3, assignment_size=6, sentinel_rate=0.0
    )
    collect(study, 2, choose)
    late = services.participant_enter(study=study, entry=services.Entry("prolific", "person-2"))
    item = late.items.select_related("trial", "assignment__participant").get(
        counts=True, position=0
    )
    stored, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def answer_held_open():
        try:
            with transaction.atomic():
                services.response_record(
                    assignment_token=late.token,
                    client_uuid=uuid.uuid4(),
                    position=item.position,
                    answer="left",
                    rt_ms=900,
                    display={},
                    timing={},
                )
                stored.set()  # inserted (received_at set), not committed
                release.wait(30)
        except BaseException as exc:  # reported below
            failures.append(exc)
            stored.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=answer_held_open)
    thread.start()
    try:
        assert stored.wait(30)
        dataset = datasets.dataset_freeze(study=study, by=alice)
    finally:
        release.set()
        thread.join(30)
    assert not failures, failures
    in_flight = Response.objects.get(assignment=late)
    assert in_flight.received_at < dataset.created_at  # received before the freeze ...
    counted = _counts_in_every_export(dataset)
    # ... but committed after it: counted by none of them.
    assert counted.pop("csv rows") == 2 * 6
    assert set(counted.values()) == {2 * 6}, counted
    assert not dataset.judgments.filter(response=in_flight).exists()
    # The next freeze takes it.
    assert sum(
        datasets.dataset_freeze(study=study, by=alice).items.values_list("n_judgments", flat=True)
    ) == (2 * 6 + 1)


@pytest.mark.django_db
def test_datasets_frozen_before_the_snapshot_keep_their_exports(alice):
    """The migration gives older datasets the set their exports used to read."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("analysis.migrations.0005_dataset_judgments")
    dataset = datasets.dataset_freeze(study=judged_study(alice), by=alice)
    frozen = set(dataset.judgments.values_list("response_id", "valid"))
    dataset.judgments.all().delete()  # as before the migration
    Response.objects.filter(pk=min(r for r, _ in frozen)).update(
        received_at=dataset.created_at.replace(year=dataset.created_at.year + 1)
    )  # stored after the freeze: not part of it
    migration.backfill(apps, None)
    assert set(dataset.judgments.values_list("response_id", "valid")) == {
        (r, v) for r, v in frozen if r != min(r for r, _ in frozen)
    }
