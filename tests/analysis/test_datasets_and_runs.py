"""Dataset freeze and import, score runs and fit runs, with their bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import datasets, services
from analysis.models import Dataset, DatasetItem, FitRun, ScoreRun
from common.exceptions import ApplicationError, ConflictError
from crowd.models import Participant
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


def _prefers_p0(item):
    # p0 is the faint distortion in the factory's triplets; answer so that p0 is chosen.
    if item.trial.kind == "jnd":
        return "same" if item.trial.expected == "same" else "different"
    return "right" if item.swapped else "left"


@pytest.fixture
def judged_study(alice):
    study = make_live_study(alice, trials=6, sentinels=2, needed=2, assignment_size=9)
    collect(study, 2, _prefers_p0)
    return study


def test_freeze_counts_valid_judgments_only(alice, judged_study):
    dataset = datasets.dataset_freeze(study=judged_study, by=alice)
    assert dataset.status == "ready" and dataset.version == 1
    items = list(dataset.items.all())
    assert len(items) == 6  # sentinels and practice trials stay out
    assert {(i.judge, i.n_judgments) for i in items} == {(0.0, 2)}
    assert dataset.counts == {"2afc": {"val": {"traditional": 6}}}
    files = dataset.manifest["files"]
    assert all(len(sha) == 64 for sha in files.values()) and len(files) == 18
    # Excluding a participant removes their judgments from the next version.
    from crowd.services import participant_set_excluded

    participant_set_excluded(participant=Participant.objects.first(), excluded=True)
    second = datasets.dataset_freeze(study=judged_study, by=alice)
    assert second.version == 2
    assert {i.n_judgments for i in second.items.all()} == {1}
    assert dataset.items.count() == 6  # the first release did not change


def test_freeze_without_judgments_is_refused(alice):
    study = make_live_study(alice, trials=3, sentinels=0)
    with pytest.raises(ConflictError, match="no valid judgments"):
        datasets.dataset_freeze(study=study, by=alice)
    assert not Dataset.objects.exists()


def _bapps_folder(root, *, n=4, jnd_only=False):
    from metrics.bapps import write_2afc, write_jnd

    rng = np.random.default_rng(0)

    def img():
        return rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)

    if not jnd_only:
        write_2afc(
            root,
            "val",
            "traditional",
            [(img(), img(), img(), float(j)) for j in rng.random(n).round(1)],
        )
    write_jnd(
        root, "val", "traditional", [(img(), img(), float(s)) for s in (0, 1 / 3, 2 / 3, 1)[:n]]
    )
    return root


def test_import_reads_a_bapps_folder(alice, tmp_path):
    folder = _bapps_folder(tmp_path / "bapps")
    dataset = datasets.dataset_import_create(owner=alice, name="imported", path=str(folder))
    datasets.dataset_import_run(dataset=dataset)
    dataset.refresh_from_db()
    assert dataset.status == "ready"
    assert dataset.counts == {
        "2afc": {"val": {"traditional": 4}},
        "jnd": {"val": {"traditional": 4}},
    }
    item = dataset.items.get(kind="2afc", index=0)
    assert datasets.read_png(item.ref).shape == (64, 64, 3)


def test_import_of_a_folder_with_missing_files_keeps_nothing(
    alice, tmp_path, django_capture_on_commit_callbacks
):
    folder = _bapps_folder(tmp_path / "bapps")
    (folder / "2afc" / "val" / "traditional" / "judge" / "000002.npy").unlink()
    with django_capture_on_commit_callbacks(execute=True):  # the queued import runs (eagerly)
        dataset = datasets.dataset_import_create(owner=alice, name="broken", path=str(folder))
    dataset.refresh_from_db()
    assert dataset.status == "failed" and "000002" in dataset.error
    assert not DatasetItem.objects.filter(dataset=dataset).exists()
    with pytest.raises(ApplicationError, match="000002"):
        datasets.dataset_import_run(dataset=dataset)
    # A missing folder is found out by the worker (the web tier never looks: no probing).
    missing = datasets.dataset_import_create(
        owner=alice, name="nowhere", path=str(tmp_path / "missing")
    )
    with pytest.raises(ApplicationError, match="no folder of that name under the import root"):
        datasets.dataset_import_run(dataset=missing)


def test_score_run_computes_2afc_with_ci_and_human_ceiling(
    alice, judged_study, django_capture_on_commit_callbacks
):
    dataset = datasets.dataset_freeze(study=judged_study, by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.score_run_create(dataset=dataset, metric="l2", by=alice)
    run.refresh_from_db()
    assert run.status == "done", run.error
    report = run.result["2afc"]
    assert "traditional" in str(report)
    # Everyone preferred the faint distortion p0, and L2 agrees on every triplet: score 1.
    from metrics.scoring import ScoreReport

    rows = ScoreReport.from_dict(report)
    assert rows.categories["traditional"].score == pytest.approx(1.0)
    assert run.credits.name


@pytest.mark.parametrize(
    ("metric", "split", "message"),
    [
        ("no-such-metric", "val", "Unknown metric 'no-such-metric'"),
        ("fitted:999", "val", "not available"),
        ("l2", "train", "has no 'train' split"),
    ],
)
def test_bad_score_requests_are_refused(alice, judged_study, metric, split, message):
    dataset = datasets.dataset_freeze(study=judged_study, by=alice)
    with pytest.raises(ApplicationError, match=message):
        services.score_run_create(dataset=dataset, metric=metric, split=split, by=alice)
    assert not ScoreRun.objects.exists()


def test_fit_on_a_jnd_only_dataset_is_refused(alice, tmp_path):
    dataset = datasets.dataset_import_create(
        owner=alice, name="jnd", path=str(_bapps_folder(tmp_path, jnd_only=True))
    )
    datasets.dataset_import_run(dataset=dataset)
    with pytest.raises(ApplicationError, match="needs 2AFC judgments in a train split"):
        services.fit_run_create(dataset=dataset, by=alice)
    assert not FitRun.objects.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bogus": 1}, "got unknown option.s. bogus"),
        ({"range_check": "nope"}, "option range_check='nope' is not one of"),
    ],
)
def test_bad_metric_options_are_refused_before_queueing(alice, judged_study, options, message):
    dataset = datasets.dataset_freeze(study=judged_study, by=alice)
    with pytest.raises(ApplicationError, match=message) as caught:
        services.score_run_create(dataset=dataset, metric="l2", by=alice, options=options)
    assert caught.value.fields == {"options": ["invalid"]}
    assert not ScoreRun.objects.exists()


@pytest.mark.parametrize("seed", [2**31, 2**64 + 1, 2**70, -1])
def test_a_fit_seed_out_of_range_is_a_clear_400_and_stores_nothing(api, alice, judged_study, seed):
    """Seeds beyond the stored 32-bit column answered 500 (DataError/OverflowError) (#12 item 8)."""
    dataset = datasets.dataset_freeze(study=judged_study, by=alice)
    response = api.as_user(alice).post(
        f"/api/datasets/{dataset.pk}/fit/", {"seed": seed}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "seed" in response.json()["error"]["message"]
    with pytest.raises(ApplicationError, match="seed must be a whole number from 0 to 2147483647"):
        services.fit_run_create(dataset=dataset, by=alice, seed=seed)
    assert not FitRun.objects.exists()
