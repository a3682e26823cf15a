"""Pilot mode's page (researchers only): a session made up by allocation's rules, stored nowhere.
The browser run is tests/e2e/test_pilot.py."""

from __future__ import annotations

import json
import re

import pytest

from crowd import selectors
from crowd.models import Assignment, Participant, Response, TrialLoad
from studies import services as study_services
from studies.models import Study
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(alice, bob):
    study = make_live_study(alice, trials=12, sentinels=2, practice=3, assignment_size=10)
    study_services.study_update(study=study, data={"collaborators": [bob]}, by=alice)
    return study


def _config(response) -> dict:
    match = re.search(
        r'<script id="pl-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the pilot page carries no configuration"
    return json.loads(match.group(1))


def _nothing_stored() -> None:
    assert Participant.objects.count() == 0
    assert Assignment.objects.count() == 0
    assert Response.objects.count() == 0


@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_owner_and_collaborator_open_the_pilot_and_nothing_is_stored(
    client, researchers, live, persona
):
    client.force_login(researchers[persona])
    loads_before = list(TrialLoad.objects.values_list("leased_count", "shown_straight"))

    chooser = client.get(f"/admin/crowd/studycollection/{live.pk}/pilot/")
    assert chooser.status_code == 200
    assert "?mode=visual" in chooser.content.decode()
    assert "?mode=data-only" in chooser.content.decode()

    page = client.get(f"/admin/crowd/studycollection/{live.pk}/pilot/?mode=data-only")
    assert page.status_code == 200
    assert "perceptlab/worker.js" in page.content.decode()
    pilot = _config(page)["pilot"]
    assert pilot["mode"] == "data-only"
    session = pilot["session"]
    # As allocation lays out an assignment of 10: 1 sentinel, 8 regular trials and a repeat.
    assert [t["position"] for t in session["trials"]] == list(range(10))
    assert len(session["practice"]) == 3
    assert session["study"]["name"] == live.name
    images = {url for t in session["trials"] + session["practice"] for url in t["images"].values()}
    assert all(re.fullmatch(r"/api/stimuli/\d+/file/", url) for url in images)
    # The researcher can load every image the pilot draws.
    for url in images:
        assert client.get(url).status_code == 200

    _nothing_stored()
    assert list(TrialLoad.objects.values_list("leased_count", "shown_straight")) == loads_before


def test_the_pilot_lays_out_trials_as_allocation_would(live):
    session = selectors.pilot_session(live, seed=3)
    urls = [tuple(t["images"].values()) for t in session["trials"]]
    refs = [u[0] for u in urls]
    # One trial comes back later with its sides swapped (the consistency repeat).
    repeated = [r for r in set(refs) if refs.count(r) == 2]
    assert len(repeated) == 1
    first, second = (urls[i] for i, r in enumerate(refs) if r == repeated[0])
    assert (first[1], first[2]) == (second[2], second[1])
    # The same seed gives the same session; nothing is written either way.
    assert selectors.pilot_session(live, seed=3) == session
    _nothing_stored()


def test_the_pilot_of_a_study_of_both_kinds_runs_the_kind_asked_for(alice):
    study = make_live_study(alice, kind="jnd", trials=4, sentinels=1, practice=2)
    Study.objects.filter(pk=study.pk).update(kind="both")
    study.refresh_from_db()
    assert {t["kind"] for t in selectors.pilot_session(study, kind="jnd")["trials"]} == {"jnd"}


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("?mode=fast", 400, "Unknown pilot mode"),
        ("?mode=visual&kind=jnd", 400, "no &#x27;jnd&#x27; trials"),
    ],
)
def test_bad_pilot_parameters_are_refused_with_a_message(
    client, alice, live, query, status, message
):
    client.force_login(alice)
    response = client.get(f"/admin/crowd/studycollection/{live.pk}/pilot/{query}")
    assert response.status_code == status
    assert message in response.content.decode()
    assert 'id="pl-config"' not in response.content.decode()


def test_a_study_without_trials_says_to_generate_first(client, alice, study):
    client.force_login(alice)
    response = client.get(f"/admin/crowd/studycollection/{study.pk}/pilot/?mode=visual")
    assert response.status_code == 409
    assert "generate its stimuli first" in response.content.decode()


def test_another_researcher_finds_no_pilot(client, charlie, live):
    client.force_login(charlie)
    for query in ("", "?mode=visual", "?mode=data-only"):
        assert (
            client.get(f"/admin/crowd/studycollection/{live.pk}/pilot/{query}").status_code == 404
        )
    missing = Study.objects.order_by("-pk").first().pk + 1
    assert client.get(f"/admin/crowd/studycollection/{missing}/pilot/").status_code == 404


def test_anonymous_is_sent_to_login_and_sees_no_trials(client, live):
    response = client.get(f"/admin/crowd/studycollection/{live.pk}/pilot/?mode=visual")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # Nor the images a pilot would draw.
    stimulus = live.stimuli.first()
    assert client.get(f"/api/stimuli/{stimulus.pk}/file/").status_code in (401, 403)


def test_another_researcher_cannot_load_the_pilots_images(client, charlie, live):
    client.force_login(charlie)
    assert client.get(f"/api/stimuli/{live.stimuli.first().pk}/file/").status_code == 404


def test_the_study_change_page_links_to_the_pilot(client, alice, live):
    client.force_login(alice)
    page = client.get(f"/admin/studies/study/{live.pk}/change/").content.decode()
    assert f"/admin/crowd/studycollection/{live.pk}/pilot/?mode=visual" in page
    assert f"/admin/crowd/studycollection/{live.pk}/pilot/?mode=data-only" in page
