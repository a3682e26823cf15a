"""Entry, allocation, exactly-once answers, completion, and every bad input of the worker API."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from common.exceptions import ApplicationError
from crowd import services
from crowd.models import Assignment, Participant, Response, TrialLoad
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


def enter(study, pid="P1", recruiter="prolific", **kw):
    # As a recruiter's link does: the id and a per-session id only this person has (entering
    # again with the id alone is refused: tests/crowd/test_resume.py).
    kw.setdefault("session_id", f"session-of-{pid}")
    return services.participant_enter(
        study=study, entry=services.Entry(recruiter=recruiter, external_id=pid, **kw)
    )


def answer_all(client, assignment, side="left", start=0):
    session = client.get(f"/w/{assignment.token}/api/session").json()
    for trial in session["trials"][start:]:
        value = side if trial["kind"] == "2afc" else "different"
        r = client.post(
            f"/w/{assignment.token}/api/answers",
            {
                "client_uuid": str(uuid.uuid4()),
                "position": trial["position"],
                "answer": value,
                "rt_ms": 900,
            },
            content_type="application/json",
        )
        assert r.status_code == 201, r.content


@pytest.fixture
def study(alice):
    return make_live_study(alice, trials=10, sentinels=2, needed=2)


def test_a_participant_gets_a_counterbalanced_assignment_with_sentinels_and_a_repeat(study):
    assignment = enter(study)
    items = list(assignment.items.select_related("trial"))
    assert assignment.total == len(items) == study.assignment_size
    assert sum(i.trial.is_sentinel for i in items) == 2
    assert sum(i.is_repeat for i in items) == 1
    repeat = next(i for i in items if i.is_repeat)
    original = next(i for i in items if i.trial_id == repeat.trial_id and not i.is_repeat)
    assert original.position < repeat.position
    assert original.swapped != repeat.swapped
    assert {load.leased_count for load in TrialLoad.objects.filter(trial__study=study)} == {1}


def test_entering_again_resumes_the_same_assignment(study):
    assert enter(study).pk == enter(study).pk


def test_same_uuid_twice_stores_one_response(client, study):
    assignment = enter(study)
    body = {"client_uuid": str(uuid.uuid4()), "position": 0, "answer": "left", "rt_ms": 700}
    first = client.post(f"/w/{assignment.token}/api/answers", body, content_type="application/json")
    second = client.post(
        f"/w/{assignment.token}/api/answers", body, content_type="application/json"
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["duplicate"] is True
    assert Response.objects.count() == 1
    assert (
        first.json()["progress"]
        == second.json()["progress"]
        == {"answered": 1, "total": assignment.total}
    )


def test_a_second_answer_for_the_same_position_is_409_and_keeps_the_first(client, study):
    assignment = enter(study)
    url = f"/w/{assignment.token}/api/answers"
    client.post(
        url,
        {"client_uuid": str(uuid.uuid4()), "position": 0, "answer": "left", "rt_ms": 700},
        content_type="application/json",
    )
    other = client.post(
        url,
        {"client_uuid": str(uuid.uuid4()), "position": 0, "answer": "right", "rt_ms": 700},
        content_type="application/json",
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "already_answered"
    assert Response.objects.get().side == "left"


def test_choice_undoes_counterbalancing(client, study):
    assignment = enter(study)
    for item in assignment.items.select_related("trial")[:6]:
        client.post(
            f"/w/{assignment.token}/api/answers",
            {
                "client_uuid": str(uuid.uuid4()),
                "position": item.position,
                "answer": "left",
                "rt_ms": 700,
            },
            content_type="application/json",
        )
        response = Response.objects.get(item=item)
        assert response.choice == ("p1" if item.swapped else "p0")


def test_valid_counts_reach_the_quota_exactly_and_then_the_study_is_full(client, alice):
    study = make_live_study(
        alice, trials=4, sentinels=0, needed=2, assignment_size=4, sentinel_rate=0.0
    )
    for pid in ("A", "B"):
        assignment = enter(study, pid=pid)
        answer_all(client, assignment)
        assert client.post(f"/w/{assignment.token}/api/complete").status_code == 200
    loads = TrialLoad.objects.filter(trial__study=study)
    assert loads.count() == 4
    assert {(load.valid_count, load.leased_count) for load in loads} == {(2, 0)}
    with pytest.raises(Exception, match="All trials of this study have been taken"):
        enter(study, pid="C")


def test_one_person_never_sees_a_trial_twice_and_respects_the_assignment_limit(client, alice):
    study = make_live_study(
        alice,
        trials=8,
        sentinels=0,
        needed=3,
        assignment_size=4,
        sentinel_rate=0.0,
        max_assignments_per_participant=2,
    )
    seen = []
    for _ in range(2):
        assignment = enter(study, pid="same-person")
        seen += list(assignment.items.filter(is_repeat=False).values_list("trial_id", flat=True))
        answer_all(client, assignment)
        client.post(f"/w/{assignment.token}/api/complete")
    assert len(seen) == len(set(seen)) == 8
    with pytest.raises(Exception, match="already completed the work available"):
        enter(study, pid="same-person")


def test_expired_leases_are_reclaimed_and_their_trials_reallocated(client, study):
    assignment = enter(study, pid="leaver")
    client.post(
        f"/w/{assignment.token}/api/answers",
        {
            "client_uuid": str(uuid.uuid4()),
            "position": 0,
            "answer": "left",
            "rt_ms": 700,
        },
        content_type="application/json",
    )
    later = timezone.now() + timedelta(minutes=study.lease_minutes + 1)
    assert services.assignments_expire(study=study, now=later) == 1
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.EXPIRED
    loads = TrialLoad.objects.filter(trial__study=study)
    assert sum(load.leased_count for load in loads) == 0
    # The answer given before expiry still counts (unless it was a sentinel or the repeat).
    answered = Response.objects.get().item
    assert sum(load.valid_count for load in loads) == (1 if answered.counts else 0)
    late = client.post(
        f"/w/{assignment.token}/api/answers",
        {
            "client_uuid": str(uuid.uuid4()),
            "position": 1,
            "answer": "left",
            "rt_ms": 700,
        },
        content_type="application/json",
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "assignment_closed"
    newcomer = services.participant_enter(
        study=study, entry=services.Entry("prolific", "newcomer"), now=later
    )
    # Every regular trial still needs a judgment (quota 2), so the newcomer gets all 10 again.
    assert newcomer.items.filter(counts=True).count() == 10


def test_completion_is_released_only_when_every_answer_is_stored(client, alice):
    study = make_live_study(
        alice,
        trials=4,
        sentinels=1,
        needed=1,
        assignment_size=5,
        completion_url="https://app.prolific.com/submissions/complete?cc={code}",
    )
    assignment = enter(study)
    early = client.post(f"/w/{assignment.token}/api/complete")
    assert early.status_code == 409
    assert early.json()["error"]["fields"]["missing_positions"] == list(range(assignment.total))
    answer_all(client, assignment)
    done = client.post(f"/w/{assignment.token}/api/complete").json()
    assert (
        done["redirect_url"]
        == f"https://app.prolific.com/submissions/complete?cc={done['completion_code']}"
    )
    assert client.post(f"/w/{assignment.token}/api/complete").json() == done  # idempotent


BAD_ANSWERS = {
    "position not in the assignment": ({"position": 999}, 400, "not part of this assignment"),
    "answer of the wrong kind": ({"answer": "same"}, 400, "answer must be one of"),
    "unknown answer": ({"answer": "up"}, 400, "answer"),
    "negative rt": ({"rt_ms": -5}, 400, "rt_ms"),
    "malformed uuid": ({"client_uuid": "not-a-uuid"}, 400, "client_uuid"),
    "missing position": ({"position": None}, 400, "position"),
    "huge display blob": ({"display": {"x": "y" * 5000}}, 400, "display"),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_bad_answers_are_refused_with_a_clear_message_and_store_nothing(client, study, case):
    assignment = enter(study)
    body = {"client_uuid": str(uuid.uuid4()), "position": 0, "answer": "left", "rt_ms": 700}
    change, status, message = BAD_ANSWERS[case]
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(
        f"/w/{assignment.token}/api/answers", body, content_type="application/json"
    )
    assert response.status_code == status, response.content
    assert message in response.json()["error"]["message"] + str(response.json()["error"]["fields"])
    assert Response.objects.count() == 0


def test_answers_after_completion_and_unknown_tokens_are_refused(client, alice):
    study = make_live_study(
        alice, trials=3, sentinels=0, needed=1, assignment_size=3, sentinel_rate=0.0
    )
    assignment = enter(study)
    answer_all(client, assignment)
    client.post(f"/w/{assignment.token}/api/complete")
    after = client.post(
        f"/w/{assignment.token}/api/answers",
        {"client_uuid": str(uuid.uuid4()), "position": 0, "answer": "left", "rt_ms": 1},
        content_type="application/json",
    )
    assert after.status_code == 409
    assert "completed" in after.json()["error"]["message"]
    assert client.get("/w/nope/api/session").status_code == 404
    assert (
        client.post(
            "/w/nope/api/answers",
            {"client_uuid": str(uuid.uuid4()), "position": 0, "answer": "left", "rt_ms": 1},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert Response.objects.count() == 3


def test_answer_rate_limit(client, study, settings):
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"crowd_answer": "3/minute", "crowd_entry": "3/minute"},
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    previous = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        assignment = enter(study)
        codes = [
            client.post(
                f"/w/{assignment.token}/api/answers",
                {"client_uuid": str(uuid.uuid4()), "position": n, "answer": "left", "rt_ms": 700},
                content_type="application/json",
            ).status_code
            for n in range(4)
        ]
        assert codes[-1] == 429
        assert Response.objects.count() == codes.count(201)
    finally:
        SimpleRateThrottle.THROTTLE_RATES = previous
        cache.clear()


def test_the_browser_sees_no_answers_categories_or_names(client, study):
    assignment = enter(study)
    text = client.get(f"/w/{assignment.token}/api/session").content.decode()
    # The assignment's random token is in every URL of the answer; "p0" can occur in it by chance
    # (about once in a hundred tokens), which is no leak.
    text = text.replace(assignment.token, "<token>")
    for secret in (
        "expected",
        "sentinel",
        "traditional",
        "category",
        "split",
        "p0",
        "p1",
        "provenance",
        "stimulus",
        "/media/",
    ):
        assert secret not in text, secret
    # Practice answers are allowed (feedback), in screen terms only.
    assert '"answer": "left"' in text or '"answer":"left"' in text


def test_images_are_scoped_to_the_assignment(client, study):
    assignment = enter(study, pid="one")
    other = enter(study, pid="two")
    ok = client.get(f"/w/{assignment.token}/img/0/ref")
    assert ok.status_code == 200
    assert ok["Content-Type"] == "image/png"
    assert client.get(f"/w/{assignment.token}/img/0/first").status_code == 404  # not a 2AFC slot
    assert client.get(f"/w/{assignment.token}/img/{assignment.total}/ref").status_code == 404
    assert client.get(f"/w/{other.token}/img/0/ref").status_code == 200
    assert client.get("/w/forged-token/img/0/ref").status_code == 404
    assert client.get(f"/w/{assignment.token}/practice/0/left").status_code == 200
    assert client.get(f"/w/{assignment.token}/practice/99/left").status_code == 404


def test_assignment_tokens_are_long_and_random(alice):
    study = make_live_study(alice, trials=10, sentinels=2, needed=5)
    tokens = {enter(study, pid=f"p{n}").token for n in range(5)}
    assert len(tokens) == 5
    assert all(len(t) >= 40 for t in tokens)
    assert Participant.objects.filter(study=study).count() == 5


def test_overlong_recruiter_ids_are_refused_not_cut(study):
    with pytest.raises(
        ApplicationError, match=r"The link.s session_id is longer than 128 characters\."
    ):
        enter(study, pid="long", session_id="s" * 129)
    assert not Assignment.objects.exists()


def test_the_first_viewer_of_each_trial_gets_random_sides_not_p0_on_the_left(alice):
    """Counterbalancing: the first participant of a fresh study used to see every regular trial
    unswapped (p0 left), so a careful worker who preferred p0 throughout looked side-biased."""
    study = make_live_study(alice, trials=30, sentinels=2, needed=2, assignment_size=33, seed=7)
    assignment = enter(study)
    regular = [i for i in assignment.items.select_related("trial") if i.counts]
    swapped = sum(i.swapped for i in regular)
    assert 0.25 * len(regular) <= swapped <= 0.75 * len(regular), (swapped, len(regular))
    # The next participant balances each trial: seen one way, shown the other way now.
    second = enter(study, pid="P2")
    first_sides = {i.trial_id: i.swapped for i in regular}
    for item in second.items.filter(counts=True):
        if item.trial_id in first_sides:
            assert item.swapped != first_sides[item.trial_id]
