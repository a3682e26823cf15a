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
