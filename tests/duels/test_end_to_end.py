"""End to end: a duel study of L2, SSIM and PSNR generates (tasks run eagerly), goes live, is
answered through the HTTP interface by simulated participants whose judgments follow L2 (the
mean squared error) plus noise, and its results declare L2 the winner against SSIM with an
interval excluding chance, and no decisive winner between L2 and PSNR (which ranks every pair of
one reference exactly as L2 does)."""

from __future__ import annotations

import csv
import io
import math

import pytest

from duels import services
from experiments.observers import BotError, Observer, mse, run_participant
from studies import services as study_services
from studies.models import Study
from tests.duels.helpers import duel_image_set, small_design

# Sequences reset: participants get the same ids in every run, so the allocation (seeded by the
# study's seed and the participant's id) and with it every vote is the same from run to run; with
# ids left to the database the verdicts varied between runs (the intervals come from 24 pairs).
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, reset_sequences=True)]

BOTS = 12
NOISE = 0.01  # decision noise of the simulated people, in L2 units (RMSE of [0, 1] pixels)
# No undistorted candidates (severity 0): their MSE of 0 would make L2 and PSNR pairs trivial.
FAMILIES = [
    {"name": name, "severity_min": 0.1, "severity_max": 1.0}
    for name in ("gaussian_blur", "gaussian_white_noise", "lightness_shift")
]


def l2(a, b) -> float:
    """The people's metric: the L2 distance (root mean squared error)."""
    return math.sqrt(mse(a, b))


def _results_by_pair(results: dict) -> dict[frozenset, dict]:
    return {frozenset((m["a"], m["b"])): m for m in results["matchups"]}


def test_people_who_judge_by_l2_make_l2_win_against_ssim_and_tie_with_psnr(
    live_server, alice, client, django_capture_on_commit_callbacks
):
    duel = services.duel_study_create(
        owner=alice,
        name="L2 vs SSIM vs PSNR",
        image_set=duel_image_set(alice, images=2),
        **small_design(
            metrics=["l2", "ssim", "psnr"],
            distortions=FAMILIES,
            levels=2,
            pairs_per_level=6,
            tolerance=0.005,
            severity_steps=32,
            patches_per_image=3,
            judgments_val=2,
            assignment_size=40,
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        study_services.study_transition(study=duel.study, to=Study.Status.GENERATING, by=alice)
    study = Study.objects.get(pk=duel.study_id)
    assert study.status == Study.Status.READY, study.error
    study_services.study_transition(study=study, to=Study.Status.LIVE, by=alice)
    completed, full = 0, ""
    for i in range(BOTS):
        try:
            bot = run_participant(
                live_server.url,
                study.slug,
                f"bot-{i}",
                Observer(metric=l2, noise=NOISE, lapse=0.0, seed=i),
            )
        except BotError as exc:  # every judgment slot is taken: the study is full
            full = str(exc)
            break
        assert bot.completion["outcome"] == "ok"
        completed += 1
    assert completed >= 3 and (not full or "taken" in full), full

    client.force_login(alice)
    results = client.get(f"/api/duels/{study.pk}/results/").json()
    matchups = _results_by_pair(results)
    detail = {k: (v["share_a"], v["ci"], v["votes"]) for k, v in matchups.items()}
    print("matchups (share of the first, interval, votes):", detail)  # shown with -s
    l2_ssim = matchups[frozenset(("l2", "ssim"))]
    assert l2_ssim["winner"] == "l2", detail
    share_l2 = l2_ssim["share_a"] if l2_ssim["a"] == "l2" else 1 - l2_ssim["share_a"]
    low_l2 = l2_ssim["ci"][0] if l2_ssim["a"] == "l2" else 1 - l2_ssim["ci"][1]
    assert share_l2 > 0.5 and low_l2 > 0.5, detail
    l2_psnr = matchups[frozenset(("l2", "psnr"))]
    assert l2_psnr["winner"] is None and l2_psnr["ci"][0] <= 0.5 <= l2_psnr["ci"][1], detail
    assert results["votes"] == 6 * 12 * 2
    # Every ordered duel has votes and an interval; the ranking has all three metrics.
    assert all(d["votes"] > 0 for d in results["duels"])
    assert {r["metric"] for r in results["ranking"]} == {"l2", "ssim", "psnr"}
    ssim = next(g for g in results["gmad"] if g["metric"] == "ssim")
    assert ssim["resistance"]["share"] < 0.5  # people do not side with SSIM when L2 attacks it

    # The results page, with its verdicts, examples at 1:1 and downloads.
    page = client.get(f"/duels/{study.pk}/results/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "l2 wins" in html and "no decisive winner" in html
    assert 'id="duel-chart"' in html and "perceptlab/duels.js" in html
    assert html.count('class="pair"') == len(results["examples"]) == 72
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/duels/{study.pk}/results/?format=csv").content.decode())
        )
    )
    assert {r["table"] for r in rows} >= {"duel", "matchup", "bradley_terry", "pair"}
    assert client.get(f"/duels/{study.pk}/results/?format=json").json()["votes"] == results["votes"]
    assert client.get(f"/duels/{study.pk}/results/?format=xml").status_code == 400
