"""Rate limits key on the client's address, which a client cannot choose (issue #12, item 6).

With the default NUM_PROXIES=0 a forged X-Forwarded-For header is ignored; with NUM_PROXIES=1 the
address the one trusted proxy appended is used, and anything the client wrote before it is not.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


def _ident(**meta) -> str:
    request = Request(RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", **meta))
    return SimpleRateThrottle.get_ident(SimpleRateThrottle.__new__(SimpleRateThrottle), request)


def test_default_ignores_a_forged_forwarded_for_header():
    assert _ident() == "10.0.0.9"
    assert _ident(HTTP_X_FORWARDED_FOR="1.2.3.4") == "10.0.0.9"
    assert len({_ident(HTTP_X_FORWARDED_FOR=f"1.2.3.{i}") for i in range(40)}) == 1


@pytest.mark.parametrize("forged", ["", "6.6.6.6, ", "6.6.6.6, 7.7.7.7, "])
def test_one_trusted_proxy_uses_the_address_it_appended(settings, forged):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert _ident(HTTP_X_FORWARDED_FOR=f"{forged}203.0.113.5") == "203.0.113.5"
