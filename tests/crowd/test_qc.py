"""Quality control: the pure rules, and bots answering through the real HTTP interface."""

from __future__ import annotations

import pytest

from crowd.models import Participant, Response, TrialLoad
from crowd.qc import Answer, Thresholds, evaluate
from experiments.observers import BotError, Observer, run_participant
from tests.factories import make_live_study


def _answers(correct: int, wrong: int, regular: int = 0, rt: int = 900, side: str | None = None):
    out = [
        Answer(
            trial_id=i, is_sentinel=True, correct=i < correct, rt_ms=rt, side="left", choice="p0"
        )
        for i in range(correct + wrong)
    ]
    for n in range(regular):
        out.append(
            Answer(
                trial_id=1000 + n,
                is_sentinel=False,
                correct=None,
                rt_ms=rt,
                side=side or ("left" if n % 2 else "right"),
                choice="p0",
            )
        )
    return out


def test_fourteen_of_fifteen_passes_thirteen_fails():
    assert evaluate(_answers(14, 1), Thresholds(), sentinels_planned=15, final=True).status == "ok"
    verdict = evaluate(_answers(13, 2), Thresholds(), sentinels_planned=15, final=True)
    assert verdict.status == "excluded"
    assert "failed sentinels: 13/15" in verdict.reasons[0]


def test_exclusion_waits_until_the_threshold_is_out_of_reach():
    assert evaluate(_answers(0, 1), Thresholds(), sentinels_planned=15, final=False).status == "ok"
    assert (
        evaluate(_answers(3, 2), Thresholds(), sentinels_planned=15, final=False).status
        == "excluded"
    )


def test_fast_answers_side_bias_and_inconsistent_repeats_flag():
    fast = evaluate(
        _answers(15, 0, regular=30, rt=100), Thresholds(), sentinels_planned=15, final=True
    )
    assert fast.status == "flagged"
    assert any("too fast" in r for r in fast.reasons)
    biased = evaluate(
        _answers(15, 0, regular=40, side="left"), Thresholds(), sentinels_planned=15, final=True
    )
    assert any("side bias" in r for r in biased.reasons)
    repeat = [
        Answer(1, False, None, 900, "left", "p0"),
        Answer(1, False, None, 900, "left", "p1", is_repeat=True),
    ]
    assert (
        "inconsistent on 1 of 1"
        in evaluate(repeat, Thresholds(), sentinels_planned=0, final=True).reasons[0]
    )


@pytest.fixture
def qc_study(alice):
    # 15 sentinels per assignment, as in the paper's 2AFC rule (pass at least 14 of 15).
    return make_live_study(
        alice,
        trials=20,
        sentinels=15,
        needed=5,
        assignment_size=36,
        sentinel_rate=15 / 36,
        seed=20261206,  # the draws of sides and sentinels are reproducible
    )


@pytest.mark.django_db(transaction=True)
def test_a_careful_bot_passes_and_a_random_bot_is_excluded(live_server, qc_study):
    careful = run_participant(
        live_server.url, qc_study.slug, "careful", Observer(seed=1, lapse=0.0)
    )
    assert careful.completion["outcome"] == "ok"
    assert careful.completion["completion_code"] == qc_study.completion_code
    random_bot = run_participant(
        live_server.url, qc_study.slug, "random", Observer(careless=True, seed=2)
    )
    assert random_bot.completion["outcome"] == "failed_qc"
    assert random_bot.completion["completion_code"] == qc_study.completion_code_failed
    statuses = dict(Participant.objects.values_list("external_id", "status"))
    assert statuses == {"careful": "ok", "random": "excluded"}
    # The excluded bot's judgments do not count: each trial holds only the careful bot's one.
    loads = TrialLoad.objects.filter(trial__study=qc_study)
    assert {load.valid_count for load in loads} == {1}
    assert Response.objects.filter(participant__external_id="random").count() == 36


@pytest.mark.django_db(transaction=True)
def test_a_bot_cannot_enter_a_closed_study(live_server, qc_study):
    from studies.models import Study

    Study.objects.filter(pk=qc_study.pk).update(status=Study.Status.CLOSED)
    with pytest.raises(BotError, match="entry page answered 409"):
        run_participant(live_server.url, qc_study.slug, "late")
