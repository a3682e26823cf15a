"""The fixed-window rate limit behind the worker endpoints: N requests a window, then 429 with
the seconds to wait, a fresh count in the next window, one cache entry per client and window."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIRequestFactory

from common.throttling import DegradingRateThrottle


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class ThreePerMinute(DegradingRateThrottle):
    scope = "test"
    rate = "3/minute"

    def get_cache_key(self, request, view):
        return f"throttle_test_{request.META['REMOTE_ADDR']}"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def _allowed(clock: Clock, address: str = "10.0.0.1") -> tuple[bool, float]:
    throttle = ThreePerMinute()
    throttle.timer = clock
    request = APIRequestFactory().get("/", REMOTE_ADDR=address)
    return throttle.allow_request(request, None), throttle.wait()


def test_n_requests_per_window_then_refused_with_the_time_to_wait():
    clock = Clock(6000.0 + 10)  # 10 s into a minute window
    assert [_allowed(clock)[0] for _ in range(3)] == [True, True, True]
    allowed, wait = _allowed(clock)
    assert not allowed
    assert wait == pytest.approx(50.0)
    assert _allowed(clock, "10.0.0.2")[0], "another client has its own count"
    clock.now += 50  # the next window
    assert _allowed(clock)[0]


def test_one_small_counter_per_client_and_window():
    clock = Clock(6000.0)
    for _ in range(3):
        _allowed(clock)
    assert cache.get("throttle_test_10.0.0.1:100") == 3


@pytest.fixture
def redis_cache(settings):
    """Django's Redis cache on the test Redis (REDIS_URL, as CI sets it), under a key prefix of
    this test's own, so no counter is shared."""
    import os
    import uuid

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    from django.core.cache import caches

    backend = caches["default"]
    try:
        backend.get("probe")
    except Exception as exc:  # any failure to reach it
        pytest.skip(f"no Redis at {url}: {exc}")
    yield backend
    backend.delete_many([f"throttle_test_10.0.0.1:{w}" for w in (100, 101)])


def test_on_redis_a_request_is_one_round_trip_and_its_count_expires_after_the_window(
    redis_cache, monkeypatch
):
    from redis.connection import Connection

    sent = []
    original = Connection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    clock = Clock(6000.0 + 10)
    assert [_allowed(clock)[0] for _ in range(4)] == [True, True, True, False]
    assert len(sent) == 4, "one round trip to Redis per request"
    monkeypatch.setattr(Connection, "send_packed_command", original)
    assert redis_cache.get("throttle_test_10.0.0.1:100") == 4
    client = redis_cache._cache.get_client()
    ttl = client.ttl(redis_cache.make_and_validate_key("throttle_test_10.0.0.1:100"))
    assert 0 < ttl <= 61
