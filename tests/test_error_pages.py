"""Friendly pages for dead ends when DEBUG is off (issue #13 item 10): never Django's debug or
bare error pages for a mistyped link or a server error."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/s/no-such-study/x/", "/nothing-here/", "/w/"])
def test_a_mistyped_link_gets_the_friendly_404(client, settings, path):
    settings.DEBUG = False
    response = client.get(path)
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and "check" in body
    assert "Traceback" not in body and "URLconf" not in body


def test_a_server_error_gets_the_friendly_500():
    response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert (
        "Something went wrong on our side" in body and "answers you already gave are saved" in body
    )
