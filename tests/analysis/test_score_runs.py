"""Score runs: one metrics call computes every distance (the same loop as `bapps_distances`),
and every stored score records how it was computed (`computed_with`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metrics
from analysis import services
from metrics.training import evaluation
from tests.analysis.studydata import frozen_dataset

pytestmark = pytest.mark.django_db


def _run(alice, dataset, capture, metric="l2", **options):
    with capture(execute=True):
        run = services.score_run_create(dataset=dataset, metric=metric, by=alice, options=options)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


def test_a_score_run_is_one_call_of_item_set_distances(
    alice, monkeypatch, django_capture_on_commit_callbacks
):
    dataset = frozen_dataset(alice)
    calls = []
    real = evaluation.item_set_distances

    def spy(metric, sets, **kwargs):
        calls.append({kind: sorted(by_cat) for kind, by_cat in sets.items()})
        return real(metric, sets, **kwargs)

    monkeypatch.setattr(evaluation, "item_set_distances", spy)
    run = _run(alice, dataset, django_capture_on_commit_callbacks)
    assert calls == [{"2afc": ["traditional"], "jnd": []}]
    assert run.progress == {"kind": "2afc", "category": "traditional", "done": 6, "of": 6}


def test_in_memory_sets_score_exactly_as_a_bapps_folder(tmp_path):
    from metrics.bapps import write_2afc, write_jnd

    rng = np.random.default_rng(4)

    def images(n):
        return rng.integers(0, 255, (n, 64, 64, 3), dtype=np.uint8)

    ref, p0, p1, a, b = images(7), images(7), images(7), images(5), images(5)
    judge, same = rng.random(7).round(2), rng.random(5).round(2)
    write_2afc(tmp_path, "val", "cnn", zip(ref, p0, p1, judge, strict=True))
    write_jnd(tmp_path, "val", "cnn", zip(a, b, same, strict=True))
    metric = metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu")
    sets = {"2afc": {"cnn": (ref, p0, p1)}, "jnd": {"cnn": (a, b)}}
    ours = evaluation.item_set_distances(metric, sets, batch_size=3)
    folder = evaluation.bapps_distances(metric, tmp_path, batch_size=3)
    for kind in ("2afc", "jnd"):
        *distances, _judged = folder[kind]["cnn"]
        assert len(ours[kind]["cnn"]) == len(distances)
        for x, y in zip(ours[kind]["cnn"], distances, strict=True):
            assert x.dtype == np.float64 and np.array_equal(x, y)
    assert np.allclose(folder["2afc"]["cnn"][2], judge)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"3afc": {}}, "unknown item-set kind"),
        ({"2afc": {"x": (np.zeros((2, 8, 8, 3), np.uint8),) * 2}}, "expected 3 arrays"),
        ({"jnd": {"x": (np.zeros((2, 8, 8, 3)), np.zeros((2, 8, 8, 3)))}}, "expected uint8"),
        (
            {"jnd": {"x": (np.zeros((2, 8, 8, 3), np.uint8), np.zeros((3, 8, 8, 3), np.uint8))}},
            "different lengths",
        ),
    ],
)
def test_item_set_distances_names_bad_input(sets, message):
    metric = metrics.create_metric("l2")
    with pytest.raises(ValueError, match=message):
        evaluation.item_set_distances(metric, sets)


def test_a_score_run_records_how_it_was_computed(api, alice, django_capture_on_commit_callbacks):
    dataset = frozen_dataset(alice)
    run = _run(alice, dataset, django_capture_on_commit_callbacks, device="cpu")
    assert run.computed_with["torch"] == torch.__version__
    assert run.computed_with["device"] == "cpu"
    body = api.as_user(alice).get(f"/api/score-runs/{run.pk}/").json()
    assert body["computed_with"] == run.computed_with


def test_a_metric_with_provenance_is_recorded_as_it_says(
    client, alice, monkeypatch, django_capture_on_commit_callbacks
):
    real = metrics.create_metric
    said = {"metric": "l2", "torch": "x.y", "device": "cpu", "dtype": "float32"}

    def create(name, **options):
        metric = real(name, **options)
        metric.provenance = lambda: dict(said)
        return metric

    monkeypatch.setattr(metrics, "create_metric", create)
    run = _run(alice, frozen_dataset(alice), django_capture_on_commit_callbacks)
    assert run.computed_with == said
    client.force_login(alice)
    assert "float32" in client.get(f"/admin/analysis/scorerun/{run.pk}/change/").text
