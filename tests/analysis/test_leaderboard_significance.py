"""Leaderboard significance: computed and stored by a worker, only read by requests.

A GET of a board (page, downloads, API) never runs the paired bootstrap; a board whose runs
changed since the stored result says "pending" until `board_significance_refresh` runs; the
refresh gives exactly the numbers the former inline code gave on the same runs."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

import numpy as np
import pytest
from django.core.cache import cache

from analysis.board_models import BoardSignificance
from analysis.leaderboard import compute, selectors, services
from analysis.leaderboard.tasks import board_significance_refresh as refresh_task
from analysis.models import ScoreRun
from common.exceptions import NotFoundError
from tests.analysis.boards import make_dataset, score

pytestmark = pytest.mark.django_db

RNG = np.random.default_rng(11)
JUDGES = {
    "traditional": RNG.choice([0.0, 0.25, 0.5, 0.75, 1.0], 40).tolist(),
    "cnn": RNG.choice([0.0, 0.25, 0.5, 0.75, 1.0], 30).tolist(),
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def agree(category, item):
    return (0.1, 0.9) if item.judge < 0.5 else (0.9, 0.1)


def disagree(category, item):
    return (0.9, 0.1) if item.judge < 0.5 else (0.1, 0.9)


def noisy(category, item):
    return disagree(category, item) if item.index % 3 == 0 else agree(category, item)


def half(category, item):
    return disagree(category, item) if item.index % 2 == 0 else agree(category, item)


@pytest.fixture
def dataset(alice, bob):
    dataset = make_dataset(alice, judges=JUDGES, collaborators=[bob])
    score(dataset, "agree", agree)
    score(dataset, "noisy", noisy)
    score(dataset, "disagree", disagree)
    return dataset


@pytest.fixture
def no_bootstrap(monkeypatch):
    """Make every way into the bootstrap fail loudly."""

    def boom(*args, **kwargs):
        raise AssertionError("the bootstrap ran")

    for name in ("paired_bootstrap_credits", "paired", "significance"):
        monkeypatch.setattr(compute, name, boom)


def _cell(board, metric, column="all"):
    return next(r for r in board["rows"] if r["metric"] == metric)["cells"][column]


# -- Former inline code, kept verbatim as the oracle (analysis/leaderboard.py before the split) --


def _old_credits(run):
    with run.credits.open("rb") as handle:
        rows = json.load(handle)
    out = defaultdict(dict)
    for row in rows:
        if "credit" in row:
            out[row["category"]][int(row["item"])] = float(row["credit"])
    return out


def _old_paired(best, other, categories, *, n_resamples, confidence, seed):
    from metrics.scoring import paired_bootstrap_credits

    parts_a, parts_b = [], []
    for category in categories:
        common = sorted(set(best.get(category, {})) & set(other.get(category, {})))
        if not common:
            return None
        parts_a.append(np.array([best[category][i] for i in common]))
        parts_b.append(np.array([other[category][i] for i in common]))
    total = sum(p.size for p in parts_a)
    weights = [total / (len(parts_a) * p.size) for p in parts_a]
    a = np.concatenate([p * w for p, w in zip(parts_a, weights, strict=True)])
    b = np.concatenate([p * w for p, w in zip(parts_b, weights, strict=True)])
    test = paired_bootstrap_credits(b, a, n_resamples=n_resamples, confidence=confidence, seed=seed)
    alpha = 1.0 - confidence
    return {
        "difference": test.difference,
        "ci_low": test.ci_low,
        "ci_high": test.ci_high,
        "p_value": test.p_value,
        "n": test.n,
        "significant": test.p_value < alpha,
    }


def _old_significance(rows, credits, columns, *, n_resamples, confidence, seed):
    for column in columns:
        scored = [r for r in rows if r["cells"].get(column)]
        if not scored:
            continue
        best = max(scored, key=lambda r: r["cells"][column]["score"])
        for row in scored:
            cell = row["cells"][column]
            cell["best"] = row is best
            cell["vs_best"] = None
            if row is best or credits.get(row["key"]) is None or credits.get(best["key"]) is None:
                continue
            cell["vs_best"] = _old_paired(
                credits[best["key"]],
                credits[row["key"]],
                cell["categories"],
                n_resamples=n_resamples,
                confidence=confidence,
                seed=seed,
            )


# -------------------------------------------------------------------------------------------


def test_refresh_gives_the_numbers_of_the_former_inline_code(dataset):
    score(dataset, "agree-copy", agree)
    score(dataset, "half", half, options={"version": "0.0"})
    board = selectors.board_data(dataset=dataset)
    assert board["significance"] == {
        "status": "ready",
        "computed_at": BoardSignificance.objects.get(dataset=dataset).computed_at.isoformat(),
        "pending_columns": [],
    }

    runs = {r.pk: r for r in ScoreRun.objects.filter(dataset=dataset)}
    rows = [
        {"key": r["key"], "cells": {c: dict(v) for c, v in r["cells"].items()}}
        for r in board["rows"]
        if r["kind"] == "metric"
    ]
    credits = {r["key"]: _old_credits(runs[int(r["key"][4:])]) for r in rows}
    _old_significance(
        rows,
        credits,
        [c["key"] for c in board["columns"]],
        n_resamples=1000,
        confidence=0.95,
        seed=0,
    )
    compared = 0
    for expected, got in zip(
        rows, [r for r in board["rows"] if r["kind"] == "metric"], strict=True
    ):
        for column, cell in expected["cells"].items():
            assert got["cells"][column]["best"] is cell["best"]
            assert got["cells"][column]["vs_best"] == cell["vs_best"]  # exact, not approx
            assert got["cells"][column]["pending"] is False
            compared += cell["vs_best"] is not None
    assert compared == 4 * len(board["columns"])  # 5 metrics: 4 tests per column


@pytest.mark.parametrize("fmt", ["", "?format=csv", "?format=json", "?format=md"])
def test_a_get_of_the_board_never_runs_the_bootstrap(client, dataset, alice, no_bootstrap, fmt):
    stored = BoardSignificance.objects.get(dataset=dataset, split="val").columns
    client.force_login(alice)
    response = client.get(f"/leaderboards/{dataset.pk}/{fmt}")
    assert response.status_code == 200
    if fmt == "?format=json":
        board = json.loads(response.content)
        assert board["significance"]["status"] == "ready"
        noisy_row = next(r for r in board["rows"] if r["metric"] == "noisy")
        assert noisy_row["cells"]["all"]["vs_best"] == stored["all"]["vs_best"][noisy_row["key"]]
    if fmt == "?format=csv":
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        noisy_run = ScoreRun.objects.get(dataset=dataset, metric="noisy")
        p_value = stored["all"]["vs_best"][f"run-{noisy_run.pk}"]["p_value"]
        assert next(r for r in rows if r["row"] == "noisy")["p_vs_best_all"] == f"{p_value:.4g}"


def test_a_board_without_a_stored_result_is_pending_not_computed(
    client, dataset, alice, no_bootstrap
):
    BoardSignificance.objects.all().delete()  # e.g. runs scored before significance was stored
    client.force_login(alice)
    response = client.get(f"/leaderboards/{dataset.pk}/?format=json")
    assert response.status_code == 200
    board = json.loads(response.content)
    assert board["significance"] == {
        "status": "pending",
        "computed_at": None,
        "pending_columns": ["traditional", "cnn", "all_distortions", "all"],
    }
    assert _cell(board, "agree")["best"] is True and _cell(board, "noisy")["pending"] is True


def test_the_api_and_the_public_board_never_run_the_bootstrap(
    client, api, dataset, alice, no_bootstrap
):
    dataset.is_public = True
    dataset.save()
    assert client.get(f"/leaderboards/public/{dataset.public_slug}/?format=json").status_code == 200
    api.as_user(alice)
    response = api.get(f"/api/datasets/{dataset.pk}/leaderboard/")
    assert response.status_code == 200 and response.json()["significance"]["status"] == "ready"


def test_a_new_score_run_makes_the_board_pending_until_refreshed(client, dataset, alice):
    before = selectors.board_data(dataset=dataset)
    new = score(dataset, "half", half, refresh=False)  # stored, not yet refreshed by a worker

    client.force_login(alice)
    board = json.loads(client.get(f"/leaderboards/{dataset.pk}/?format=json").content)
    assert board["significance"]["status"] == "pending"
    assert board["significance"]["pending_columns"] == [
        "traditional",
        "cnn",
        "all_distortions",
        "all",
    ]
    assert _cell(board, "agree")["best"] is True and _cell(board, "agree")["pending"] is False
    for metric in ("noisy", "disagree", "half"):
        assert _cell(board, metric)["pending"] is True and _cell(board, metric)["vs_best"] is None
    for metric in ("agree", "noisy", "disagree"):  # scores never wait for the worker
        assert _cell(board, metric)["score"] == _cell(before, metric)["score"]
    page = client.get(f"/leaderboards/{dataset.pk}/").content.decode()
    assert 'id="significance-pending"' in page and ">pending<" in page
    as_csv = list(
        csv.DictReader(
            io.StringIO(client.get(f"/leaderboards/{dataset.pk}/?format=csv").content.decode())
        )
    )
    assert {r["row"]: r["p_vs_best_all"] for r in as_csv}["half"] == "pending"
    assert "‡" in client.get(f"/leaderboards/{dataset.pk}/?format=md").content.decode()

    result = refresh_task(dataset_id=dataset.pk, split="val")  # what the worker runs
    assert new.pk in result["runs"] and len(result["runs"]) == 4
    board = json.loads(client.get(f"/leaderboards/{dataset.pk}/?format=json").content)
    assert board["significance"]["status"] == "ready"  # the cached board got the new result
    assert _cell(board, "half")["vs_best"]["significant"] is True
    assert _cell(board, "noisy")["vs_best"] == _cell(before, "noisy")["vs_best"]
    assert (
        'id="significance-pending"'
        not in client.get(f"/leaderboards/{dataset.pk}/").content.decode()
    )


def test_a_stale_board_asks_a_worker_once_after_commit(
    client, dataset, alice, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks() as fresh:
        client.get(f"/leaderboards/{dataset.pk}/")
    assert fresh == []  # nothing to refresh
    score(dataset, "half", half, refresh=False)
    with django_capture_on_commit_callbacks() as asked:
        client.get(f"/leaderboards/{dataset.pk}/")
        client.get(f"/leaderboards/{dataset.pk}/?format=csv")
    assert len(asked) == 1  # the second read finds it asked for already
    asked[0]()  # the broker delivers it (tests run tasks eagerly)
    assert selectors.board_data(dataset=dataset)["significance"]["status"] == "ready"


def test_a_replaced_run_makes_only_its_board_stale(dataset):
    other = make_dataset(dataset.owner, judges=JUDGES, name="other")
    score(other, "agree", agree)
    score(other, "noisy", noisy)
    score(dataset, "noisy", agree, refresh=False)  # a newer run of the same metric
    assert selectors.board_data(dataset=dataset)["significance"]["status"] == "pending"
    assert selectors.board_data(dataset=other)["significance"]["status"] == "ready"


def test_refresh_is_idempotent(dataset, monkeypatch):
    row = BoardSignificance.objects.get(dataset=dataset, split="val")
    monkeypatch.setattr(compute, "significance", pytest.fail)
    again = services.board_significance_refresh(dataset_id=dataset.pk, split="val")
    assert again.pk == row.pk and again.updated_at == row.updated_at
    assert BoardSignificance.objects.count() == 1


def test_refresh_starts_again_when_runs_change_while_it_computes(dataset, monkeypatch):
    real = compute.significance
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # a score run finishes during the first bootstrap
            score(dataset, "half", half, refresh=False)
        return real(*args, **kwargs)

    score(dataset, "agree-copy", agree, refresh=False)
    monkeypatch.setattr(compute, "significance", racing)
    row = services.board_significance_refresh(dataset_id=dataset.pk, split="val")
    assert len(calls) == 2
    assert set(row.runs) == {str(pk) for pk in ScoreRun.objects.values_list("pk", flat=True)}
    assert selectors.board_data(dataset=dataset)["significance"]["status"] == "ready"


def test_a_failed_refresh_is_recorded_and_leaves_the_board_pending(dataset, monkeypatch):
    score(dataset, "half", half, refresh=False)

    def broken(*args, **kwargs):
        raise RuntimeError("credits unreadable")

    monkeypatch.setattr(compute, "significance", broken)
    with pytest.raises(RuntimeError):
        refresh_task(dataset_id=dataset.pk, split="val")
    row = BoardSignificance.objects.get(dataset=dataset, split="val")
    assert row.error == "RuntimeError: credits unreadable"
    assert selectors.board_data(dataset=dataset)["significance"]["status"] == "pending"


def test_refresh_of_a_deleted_dataset_is_skipped(alice):
    assert refresh_task(dataset_id=987654, split="val") == {
        "skipped": "Dataset 987654 does not exist."
    }
    assert not BoardSignificance.objects.exists()


def test_a_board_without_runs_or_with_one_needs_no_refresh(alice):
    dataset = make_dataset(alice, judges=JUDGES)
    assert selectors.board_data(dataset=dataset)["significance"]["status"] == "ready"
    score(dataset, "agree", agree, refresh=False)
    board = selectors.board_data(dataset=dataset)
    assert board["significance"]["status"] == "ready" and _cell(board, "agree")["best"] is True


@pytest.mark.parametrize(
    ("persona", "visible"), [("alice", True), ("bob", True), ("charlie", False), (None, False)]
)
def test_board_for_user_follows_the_access_rule(dataset, researchers, persona, visible):
    from django.contrib.auth.models import AnonymousUser

    user = researchers[persona] if persona else AnonymousUser()
    if visible:
        board = selectors.board_for_user(user=user, dataset_id=dataset.pk)
        assert board["dataset"]["id"] == dataset.pk
    else:
        with pytest.raises(NotFoundError):
            selectors.board_for_user(user=user, dataset_id=dataset.pk)
    with pytest.raises(NotFoundError):  # a missing id reads the same
        selectors.board_for_user(user=user, dataset_id=dataset.pk + 1000)


def test_board_for_public_needs_the_slug_of_a_published_dataset(dataset):
    with pytest.raises(NotFoundError):
        selectors.board_for_public(slug=dataset.public_slug)
    dataset.is_public = True
    dataset.save()
    assert selectors.board_for_public(slug=dataset.public_slug, split="val")["split"] == "val"
    with pytest.raises(NotFoundError):
        selectors.board_for_public(slug="not-a-slug")
