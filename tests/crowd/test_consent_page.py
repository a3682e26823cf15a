"""What the consent page tells a worker before they agree (#13 item 7): time, number of
questions, payment and a contact, set as study settings through the API; and a study restricted
to desktop refuses phones before consent, storing nothing (#13 item 8)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from crowd.models import Participant
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_consent_page_states_time_questions_payment_and_contact(alice):
    study = make_live_study(alice, kind="2afc", trials=10, sentinels=2, practice=3)
    api = Client()
    api.force_login(alice)
    changed = api.patch(
        f"/api/studies/{study.pk}/update/",
        {
            "estimated_minutes": 12,
            "payment": "£2.50",
            "contact": "lab@example.org",
            "desktop_only": True,
        },
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["payment"] == "£2.50" and changed.json()["desktop_only"] is True

    page = _text(Client(HTTP_USER_AGENT=DESKTOP).get(f"/s/{study.slug}/"))
    assert "Time About 12 minutes" in page
    assert f"Questions {study.assignment_size}, after 3 practice rounds" in page
    assert "Payment £2.50" in page
    assert "lab@example.org" in page


def test_without_a_stated_time_the_page_estimates_it_and_names_a_way_to_ask(alice):
    # 13 questions + 3 practice at 4 s, + 2 minutes of reading: 184 s, about 4 minutes.
    study = make_live_study(alice, kind="2afc", trials=10, sentinels=2, practice=3)
    page = _text(Client().get(f"/s/{study.slug}/"))
    assert "Time About 4 minutes" in page
    assert "Payment" not in page
    assert "write to the researcher through the site where you found this study" in page


def test_bad_consent_settings_are_refused_with_a_message(alice):
    study = make_live_study(alice, kind="2afc", trials=4, sentinels=1)
    api = Client()
    api.force_login(alice)
    refused = api.patch(
        f"/api/studies/{study.pk}/update/",
        {"estimated_minutes": 0},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "estimated_minutes" in refused.content.decode()
    study.refresh_from_db()
    assert study.estimated_minutes is None


@pytest.mark.parametrize("agent", [IPHONE, ANDROID_PHONE], ids=["iphone", "android-phone"])
def test_a_desktop_only_study_refuses_phones_before_consent(alice, agent):
    study = make_live_study(alice, trials=4, sentinels=1, desktop_only=True)
    phone = Client(HTTP_USER_AGENT=agent)
    page = phone.get(f"/s/{study.slug}/")
    assert page.status_code == 403
    assert "Please use a computer" in page.content.decode()
    assert "consent-button" not in page.content.decode()
    posted = phone.post(f"/s/{study.slug}/", {"consent": "yes", "entry_token": "x"})
    assert posted.status_code == 403
    assert not Participant.objects.exists()


def test_client_hints_say_phone_too(alice):
    study = make_live_study(alice, trials=4, sentinels=1, desktop_only=True)
    page = Client(HTTP_SEC_CH_UA_MOBILE="?1").get(f"/s/{study.slug}/")
    assert page.status_code == 403


@pytest.mark.parametrize("agent", [DESKTOP, ANDROID_TABLET], ids=["desktop", "tablet"])
def test_a_desktop_only_study_takes_computers_and_tablets(alice, agent):
    study = make_live_study(alice, trials=4, sentinels=1, desktop_only=True)
    assert (
        "consent-button" in Client(HTTP_USER_AGENT=agent).get(f"/s/{study.slug}/").content.decode()
    )


def test_phones_are_welcome_unless_the_study_says_desktop_only(alice):
    study = make_live_study(alice, trials=4, sentinels=1)
    page = Client(HTTP_USER_AGENT=IPHONE).get(f"/s/{study.slug}/")
    assert page.status_code == 200 and "consent-button" in page.content.decode()
