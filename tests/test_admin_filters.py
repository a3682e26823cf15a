"""Admin filter sidebars list only what the researcher may see: Django's related-field filter
takes its choices from the whole related table, which leaked other researchers' study and image
set names (and ids) on the changelists of trials, participants, trial loads and images."""

from __future__ import annotations

import pytest

from tests.factories import make_live_study

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/crowd/participant/",
    "/admin/crowd/trialload/",
    "/admin/studies/trial/",
    "/admin/studies/referenceimage/",
]


@pytest.mark.parametrize("page", PAGES)
def test_filters_do_not_name_another_researchers_objects(client, alice, charlie, page):
    from studies.models import ImageSet, Study

    secret = make_live_study(alice, trials=2, sentinels=1, practice=0)
    Study.objects.filter(pk=secret.pk).update(name="ALICE-SECRET-STUDY")
    image_set = ImageSet.objects.create(owner=alice, name="ALICE-SECRET-SET")
    make_live_study(charlie, trials=2, sentinels=1, practice=0)
    client.force_login(charlie)
    response = client.get(page)
    assert response.status_code == 200
    body = response.content.decode()
    assert "ALICE-SECRET" not in body
    client.force_login(alice)
    assert client.get(page).status_code == 200
    assert image_set.pk
