"""Duel generation on the workers (tasks run eagerly in tests): the pool is scored per metric,
gMAD pairs are selected for every ordered pair, MAD pairs synthesised for differentiable ones,
and the study gets one 2AFC trial per pair plus its sentinels and practice, then `ready`."""

from __future__ import annotations

import numpy as np
import pytest

from common.models import Job
from duels import services
from duels.models import DuelChunk, DuelPair, DuelPoolScore
from studies import services as study_services
from studies.models import Stimulus, Study, Trial
from tests.duels.helpers import duel_image_set, small_design

pytestmark = pytest.mark.django_db


def _create(owner, **overrides):
    design = small_design(**overrides)
    return services.duel_study_create(
        owner=owner, name="L2 vs SSIM", image_set=duel_image_set(owner), **design
    )


def test_selection_generates_one_trial_per_pair_plus_sentinels_and_practice(alice, generate):
    duel = _create(alice)
    study = generate(duel.study, by=alice)
    assert study.status == Study.Status.READY, study.error
    duel.refresh_from_db()
    # One job per metric's pool scoring: the generation fans out.
    chunks = Job.objects.filter(task="duels.tasks.duel_chunk")
    assert sorted(j.args[1] for j in chunks) == ["score:0", "score:1"]
    assert set(DuelChunk.objects.filter(duel=duel).values_list("done", flat=True)) == {True}
    assert DuelPoolScore.objects.filter(duel=duel).count() == 2
    pool = duel.pool
    assert len(pool["refs"]) == 4 and len(pool["columns"]) == 16  # 2 images × 2 patches; 2 × 8
    pairs = list(DuelPair.objects.filter(duel=duel).select_related("trial"))
    # 2 ordered pairs × 2 levels × 2 pairs
    assert len(pairs) == 8
    assert {(p.defender, p.attacker) for p in pairs} == {("l2", "ssim"), ("ssim", "l2")}
    scores = {s.metric: np.asarray(s.values) for s in DuelPoolScore.objects.filter(duel=duel)}
    for pair in pairs:
        trial = pair.trial
        assert trial is not None and trial.kind == "2afc" and trial.split == "val"
        assert (trial.ref_id, trial.p0_id, trial.p1_id) == (pair.ref_id, pair.p0_id, pair.p1_id)
        assert not trial.is_sentinel and trial.judgments_needed == 2
        # The side the attacker prefers is the one it rates closer to the reference.
        a0, a1 = pair.attacker_scores
        assert (a0 <= a1) == (pair.attacker_prefers == "p0")
        # The defender's two distances are two cells of its pool scores (same reference).
        d = scores[pair.defender]
        row = [r for r in range(d.shape[0]) if np.isclose(d[r], pair.defender_scores[0]).any()]
        assert row
        # The attacker's gap is the largest the defender allows: at least as large as the gap
        # of a random feasible pair is not checked here (metrics.duels tests selection).
    regular = Trial.objects.filter(study=study, is_sentinel=False, is_practice=False)
    assert regular.count() == 8
    assert sorted(regular.values_list("index", flat=True)) == list(range(8))
    assert Trial.objects.filter(study=study, is_sentinel=True).exists()
    assert Trial.objects.filter(study=study, is_practice=True).count() == 3
    assert (
        study.generation_done == study.generation_total == Trial.objects.filter(study=study).count()
    )
    # Stimuli keep a provenance that names the source image and the distortion.
    stim = Stimulus.objects.get(pk=pairs[0].p0_id)
    assert stim.provenance["chain"][0]["name"] in ("gaussian_blur", "gaussian_white_noise")


def test_generation_is_deterministic_for_a_seed(alice, generate):
    a = _create(alice)
    b = services.duel_study_create(
        owner=alice, name="again", image_set=a.study.image_set, **small_design()
    )
    generate(a.study, by=alice)
    generate(b.study, by=alice)
    shas = [
        [(p.p0.sha256, p.p1.sha256) for p in DuelPair.objects.filter(duel=d).order_by("id")]
        for d in (a, b)
    ]
    assert shas[0] == shas[1]


def test_back_to_draft_discards_pairs_pool_and_trials(alice, generate):
    duel = _create(alice)
    study = generate(duel.study, by=alice)
    study_services.study_transition(study=study, to=Study.Status.DRAFT, by=alice)
    duel.refresh_from_db()
    assert not DuelPair.objects.filter(duel=duel).exists()
    assert not DuelPoolScore.objects.filter(duel=duel).exists()
    assert not Trial.objects.filter(study=study).exists()
    assert duel.pool == {} and not duel.assembled
    # and it generates again
    assert generate(study, by=alice).status == Study.Status.READY


def test_synthesis_makes_mad_pairs_for_each_ordered_pair(alice, generate):
    duel = _create(
        alice, method="synthesis", levels=1, pairs_per_level=2, synthesis_steps=20, tolerance=0.05
    )
    study = generate(duel.study, by=alice)
    assert study.status == Study.Status.READY, study.error
    pairs = list(DuelPair.objects.filter(duel=duel))
    assert len(pairs) == 4 and {p.method for p in pairs} == {"synthesis"}
    for pair in pairs:
        fixed_start, fixed_max, fixed_min = pair.info["fixed"]
        # The fixed metric (defender) stays within the tolerance of its start value.
        for value in (fixed_max, fixed_min):
            assert abs(value - fixed_start) <= 0.05 * abs(fixed_start) + 1e-6
        _, moved_max, moved_min = pair.info["moved"]
        assert moved_min < moved_max
        a0, a1 = pair.attacker_scores
        assert (a0 <= a1) == (pair.attacker_prefers == "p0")
        assert pair.trial is not None


def test_a_failed_selection_marks_the_study_failed_with_the_reason(alice, generate):
    # One patch, one family of two severities: each level cannot hold a pair.
    duel = _create(
        alice, patches_per_image=1, severity_steps=2, levels=3, distortions=[{"name": "jpeg"}]
    )
    study = generate(duel.study, by=alice)
    assert study.status == Study.Status.FAILED
    assert "gMAD selection" in study.error or "No pair" in study.error


def test_a_retry_after_a_failed_chunk_keeps_the_finished_ones(
    alice, generate, monkeypatch, django_capture_on_commit_callbacks
):
    from duels import generation

    duel = _create(alice)
    real = generation._score

    def flaky(d, name):
        if name == "ssim":
            raise RuntimeError("worker lost its GPU")
        return real(d, name)

    monkeypatch.setattr(generation, "_score", flaky)
    with pytest.raises(RuntimeError, match="lost its GPU"):  # tasks run eagerly in tests
        generate(duel.study, by=alice)
    study = Study.objects.get(pk=duel.study_id)
    assert study.status == Study.Status.FAILED and "lost its GPU" in study.error
    assert list(DuelChunk.objects.filter(duel=duel, done=True).values_list("key", flat=True)) == [
        "score:0"
    ]
    monkeypatch.setattr(generation, "_score", real)
    with django_capture_on_commit_callbacks(execute=True):
        study_services.study_generation_retry(study=study, by=alice)
    study.refresh_from_db()
    assert study.status == Study.Status.READY, study.error
    assert DuelPair.objects.filter(duel=duel, trial__isnull=False).count() == 8
