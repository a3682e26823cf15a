"""Freeze → export BAPPS → import → score gives the same scores as scoring the frozen dataset."""

from __future__ import annotations

import tarfile

import pytest

from analysis import datasets, services
from analysis.exports import export_create
from analysis.models import Export
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


def _mixed(item):
    # Prefer p0 for even trials and p1 for odd ones, so judge values vary across triplets.
    closer_left = not item.swapped if item.trial.index % 2 == 0 else item.swapped
    return "left" if closer_left else "right"


def _score(alice, dataset, capture, metric="l2"):
    with capture(execute=True):
        run = services.score_run_create(dataset=dataset, metric=metric, by=alice)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run.result


def test_freeze_export_import_score_round_trip(alice, tmp_path, django_capture_on_commit_callbacks):
    study = make_live_study(alice, trials=8, sentinels=1, needed=3, assignment_size=9)
    collect(study, 3, _mixed)
    frozen = datasets.dataset_freeze(study=study, by=alice)

    with django_capture_on_commit_callbacks(execute=True):
        export = export_create(dataset=frozen, kind="bapps")
    export.refresh_from_db()
    assert export.status == Export.Status.READY, export.error
    with export.file.open("rb") as handle, tarfile.open(fileobj=handle, mode="r:gz") as archive:
        archive.extractall(tmp_path / "out", filter="data")
    roots = [p.parent for p in (tmp_path / "out").rglob("2afc")]
    assert len(roots) == 1

    imported = datasets.dataset_import_create(owner=alice, name="round trip", path=str(roots[0]))
    datasets.dataset_import_run(dataset=imported)
    assert sorted(imported.items.values_list("judge", flat=True)) == sorted(
        frozen.items.values_list("judge", flat=True)
    )

    direct = _score(alice, frozen, django_capture_on_commit_callbacks)
    again = _score(alice, imported, django_capture_on_commit_callbacks)
    assert again["2afc"]["categories"] == direct["2afc"]["categories"]
    assert again["2afc"]["aggregates"] == direct["2afc"]["aggregates"]
