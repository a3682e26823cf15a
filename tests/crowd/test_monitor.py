"""The collection monitor: its page (figures, charts' data, a link from the progress page), its
JSON (judgments over time, ETA, QC outcomes, participants answering now), and who may see it."""

from __future__ import annotations

import json
import uuid

import pytest
from django.urls import reverse

from crowd import selectors, services
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(alice):
    study = make_live_study(
        alice, trials=6, sentinels=0, needed=2, assignment_size=6, sentinel_rate=0.0
    )
    first = services.participant_enter(study=study, entry=services.Entry("prolific", "P-1"))
    for item in first.items.all():
        services.response_record(
            assignment_token=first.token,
            client_uuid=uuid.uuid4(),
            position=item.position,
            answer="left",
            rt_ms=800,
            display={},
            timing={},
        )
    services.participant_enter(study=study, entry=services.Entry("prolific", "P-2"))  # answering
    return study


def _urls(study) -> dict[str, str]:
    return {
        "page": reverse("admin:crowd_studycollection_monitor", args=[study.pk]),
        "data": reverse("admin:crowd_studycollection_monitor_data", args=[study.pk]),
    }


def test_the_data_counts_judgments_over_time_and_participants(live):
    data = selectors.study_monitor(live)
    assert data["valid"] == 6 and data["needed"] == 12 and data["percent"] == 50
    assert data["timeline"][0] == {"hours": 0.0, "valid": 0}
    assert max(p["valid"] for p in data["timeline"]) == 6
    assert [p["hours"] for p in data["timeline"]] == sorted(p["hours"] for p in data["timeline"])
    assert data["judgments_last_hour"] == 6 and data["eta_hours"] == pytest.approx(1.0)
    assert data["active_participants"] == 2  # both hold an unexpired lease
    assert {q["label"]: q["count"] for q in data["qc"]}["ok"] == 2
    json.dumps(data)  # the page polls it as JSON


def test_the_page_draws_from_the_data_and_polls_it(client, alice, live):
    client.force_login(alice)
    urls = _urls(live)
    page = client.get(urls["page"])
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="pl-monitor"' in body and "perceptlab/analysis.js" in body
    assert f'data-url="{urls["data"]}"' in body
    assert 'id="monitor-timeline"' in body and 'id="monitor-qc"' in body
    assert "6 / 12" in body
    data = client.get(urls["data"])
    assert data.status_code == 200 and data.json()["valid"] == 6
    assert "no-store" in data["Cache-Control"]
    progress = client.get(reverse("admin:crowd_studycollection_progress", args=[live.pk]))
    assert urls["page"] in progress.content.decode()  # linked from the collection page


def test_another_researcher_gets_what_a_missing_id_gets(client, charlie, live):
    client.force_login(charlie)
    for url in _urls(live).values():
        missing = url.replace(f"/{live.pk}/", "/999999/")
        assert client.get(url).status_code == client.get(missing).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login(client, live):
    for url in _urls(live).values():
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
