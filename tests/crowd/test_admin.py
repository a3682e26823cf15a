"""Researcher view: progress page, participants with QC reasons, exclude/reinstate; access rules."""

from __future__ import annotations

import uuid

import pytest

from crowd import services
from crowd.models import Participant, TrialLoad
from studies import services as study_services
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(alice, bob, client):
    study = make_live_study(
        alice, trials=6, sentinels=0, needed=2, assignment_size=6, sentinel_rate=0.0
    )
    study_services.study_update(study=study, data={"collaborators": [bob]}, by=alice)
    assignment = services.participant_enter(study=study, entry=services.Entry("prolific", "P-1"))
    for item in assignment.items.all():
        services.response_record(
            assignment_token=assignment.token,
            client_uuid=uuid.uuid4(),
            position=item.position,
            answer="left",
            rt_ms=800,
            display={},
            timing={},
        )
    return study


@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_owner_and_collaborator_see_progress_and_participants(client, researchers, live, persona):
    client.force_login(researchers[persona])
    page = client.get(f"/admin/crowd/studycollection/{live.pk}/progress/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "6 / 12" in body
    assert "Worker links" in body
    assert f"/s/{live.slug}/" in body
    listing = client.get("/admin/crowd/participant/").content.decode()
    assert str(Participant.objects.get().pseudonym) in listing


def test_other_researcher_sees_nothing(client, charlie, live):
    client.force_login(charlie)
    assert client.get(f"/admin/crowd/studycollection/{live.pk}/progress/").status_code == 404
    assert (
        str(Participant.objects.get().pseudonym)
        not in client.get("/admin/crowd/participant/").content.decode()
    )
    assert live.name not in client.get("/admin/crowd/studycollection/").content.decode()


def test_anonymous_is_sent_to_login(client, live):
    for url in ("/admin/crowd/participant/", f"/admin/crowd/studycollection/{live.pk}/progress/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_exclude_returns_trials_to_the_pool_and_reinstate_restores(client, alice, live):
    client.force_login(alice)
    participant = Participant.objects.get()
    regular = TrialLoad.objects.filter(trial__study=live)
    assert sum(load.valid_count for load in regular) == 6
    client.post(
        "/admin/crowd/participant/",
        {"action": "exclude_participants", "_selected_action": [participant.pk]},
    )
    participant.refresh_from_db()
    assert participant.status == "excluded"
    assert participant.excluded_manually
    assert sum(load.valid_count for load in regular.all()) == 0
    client.post(
        "/admin/crowd/participant/",
        {"action": "reinstate_participants", "_selected_action": [participant.pk]},
    )
    participant.refresh_from_db()
    assert participant.status != "excluded"
    assert sum(load.valid_count for load in regular.all()) == 6
    detail = client.get(f"/admin/crowd/participant/{participant.pk}/change/").content.decode()
    assert "<th>rt ms</th>" in detail
