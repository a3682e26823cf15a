"""Nothing a person does depends on Redis being up (issue #12, item 1; DESIGN: the response path
depends on PostgreSQL only). With the cache unreachable: entering a study and answering are still
acknowledged and stored exactly once (the rate limits, whose counters live in the cache, are
skipped and the outage logged), and leaderboard pages still render (the cache only saves work)."""

from __future__ import annotations

import logging
import re
import socket
import uuid

import pytest

from crowd.models import Participant, Response
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    from django.core.cache import cache

    with pytest.raises(Exception, match=r"(?i)connect"):
        cache.get("probe")  # the cache really is unreachable
    import common.cache

    common.cache._last_logged["at"] = -1e9  # log this test's outage whatever came before


def test_entry_and_answers_are_stored_exactly_once_while_redis_is_down(
    client, alice, redis_down, caplog
):
    study = make_live_study(alice, trials=6, sentinels=1, needed=2)
    caplog.set_level(logging.WARNING, logger="common.cache")
    link = f"/s/{study.slug}/?PROLIFIC_PID=P-outage"
    page = client.get(link).content.decode()
    token = re.search(r'name="entry_token" value="([^"]+)"', page).group(1)
    entered = client.post(link, {"consent": "yes", "entry_token": token})
    assert entered.status_code == 302, entered.content
    token = entered["Location"].rstrip("/").rsplit("/", 1)[-1]
    session = client.get(f"/w/{token}/api/session").json()
    sent = []
    for trial in session["trials"]:
        body = {
            "client_uuid": str(uuid.uuid4()),
            "position": trial["position"],
            "answer": "left" if trial["kind"] == "2afc" else "same",
            "rt_ms": 900,
        }
        first = client.post(f"/w/{token}/api/answers", body, content_type="application/json")
        again = client.post(f"/w/{token}/api/answers", body, content_type="application/json")
        assert (first.status_code, again.status_code) == (201, 200), first.content
        assert again.json()["duplicate"] is True
        sent.append(body["client_uuid"])
    participant = Participant.objects.get(external_id="P-outage")
    stored = Response.objects.filter(assignment__participant=participant)
    assert sorted(str(u) for u in stored.values_list("client_uuid", flat=True)) == sorted(sent)
    assert "rate limit" in caplog.text and "unreachable" in caplog.text


@pytest.mark.parametrize("public", [False, True])
def test_leaderboards_render_while_redis_is_down(client, alice, redis_down, public):
    from tests.analysis.boards import make_dataset, score

    dataset = make_dataset(alice, judges={"traditional": [0.0, 0.2, 0.8, 1.0]})
    score(dataset, "agree", lambda category, item: (0.1, 0.9) if item.judge < 0.5 else (0.9, 0.1))
    if public:
        dataset.is_public = True
        dataset.save()
        url = f"/leaderboards/public/{dataset.public_slug}/"
    else:
        client.force_login(alice)
        url = f"/leaderboards/{dataset.pk}/"
    for suffix in ("", "?format=csv", "?format=json"):
        response = client.get(url + suffix)
        assert response.status_code == 200, (suffix, response.content[:300])
