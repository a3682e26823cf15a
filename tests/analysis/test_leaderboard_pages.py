"""Leaderboard pages: who sees which board, downloads (CSV/JSON/Markdown) and bad parameters."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.cache import cache

from analysis import leaderboard
from tests.analysis.boards import make_dataset, score

pytestmark = pytest.mark.django_db

JUDGES = {"traditional": [0.0, 0.2, 0.8, 1.0, 0.4, 0.6], "cnn": [0.0, 1.0, 0.2, 0.8]}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def agree(category, item):
    return (0.1, 0.9) if item.judge < 0.5 else (0.9, 0.1)


def disagree(category, item):
    return (0.9, 0.1) if item.judge < 0.5 else (0.1, 0.9)


@pytest.fixture
def dataset(alice, bob):
    dataset = make_dataset(alice, judges=JUDGES, collaborators=[bob])
    score(dataset, "agree", agree)
    score(dataset, "disagree", disagree)
    return dataset


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw-root-123")


def _get(client, user, url):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client.get(url)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 200),
        ("bob", 200),
        ("root", 200),
        ("charlie", 404),
        ("anonymous", 302),
    ],
)
def test_private_board_is_seen_by_its_researchers_only(
    client, dataset, researchers, superuser, persona, status
):
    user = {**researchers, "root": superuser, "anonymous": None}[persona]
    response = _get(client, user, f"/leaderboards/{dataset.pk}/")
    assert response.status_code == status
    if status == 200:
        assert b"Human" in response.content and b"agree" in response.content
        assert b"Private" in response.content
    if status == 302:  # an anonymous visitor is asked to log in, then comes back
        assert response["Location"] == f"/admin/login/?next=/leaderboards/{dataset.pk}/"


@pytest.mark.parametrize("persona", ["alice", "charlie", "anonymous"])
def test_public_url_of_a_private_board_is_404_for_everyone(client, dataset, researchers, persona):
    response = _get(
        client, researchers.get(persona), f"/leaderboards/public/{dataset.public_slug}/"
    )
    assert response.status_code == 404


def test_a_published_board_is_public_by_slug_only(client, dataset, researchers):
    dataset.is_public = True
    dataset.save()
    public = _get(client, None, f"/leaderboards/public/{dataset.public_slug}/")
    assert public.status_code == 200 and b"Human" in public.content
    assert b"Private" not in public.content and b"Exports" not in public.content
    # The id's page stays private: a login first, and only its researchers after that.
    assert _get(client, None, f"/leaderboards/{dataset.pk}/").status_code == 302
    assert _get(client, researchers["charlie"], f"/leaderboards/{dataset.pk}/").status_code == 404
    assert _get(client, None, "/leaderboards/public/not-a-slug/").status_code == 404
    owner_view = _get(client, researchers["alice"], f"/leaderboards/{dataset.pk}/")
    assert f"/leaderboards/public/{dataset.public_slug}/".encode() in owner_view.content


def test_page_embeds_the_board_for_the_charts(client, dataset, alice):
    response = _get(client, alice, f"/leaderboards/{dataset.pk}/")
    assert b'id="pl-board"' in response.content and b"perceptlab/leaderboard.js" in response.content
    assert response.content.count(b"<canvas data-column=") == 4  # Trad, CNN, All-distortions, All
    assert b'data-sort="2afc:0"' in response.content


@pytest.mark.parametrize("public", [False, True])
def test_downloads_in_three_formats(client, dataset, alice, public):
    if public:
        dataset.is_public = True
        dataset.save()
    url = (
        f"/leaderboards/public/{dataset.public_slug}/" if public else f"/leaderboards/{dataset.pk}/"
    )
    user = None if public else alice
    board = leaderboard.board_data(dataset=dataset)

    as_csv = _get(client, user, url + "?format=csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    assert "attachment" in as_csv["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert [r["row"] for r in rows] == ["Human", "agree", "disagree"]
    assert float(rows[1]["2afc_all"]) == round(100 * board["rows"][1]["cells"]["all"]["score"], 1)

    as_json = _get(client, user, url + "?format=json")
    data = json.loads(as_json.content)
    assert data["rows"][0]["kind"] == "human" and len(data["rows"]) == 3
    assert (
        data["rows"][1]["cells"]["traditional"]["score"]
        == board["rows"][1]["cells"]["traditional"]["score"]
    )

    as_md = _get(client, user, url + "?format=md")
    assert as_md["Content-Type"].startswith("text/markdown")
    text = as_md.content.decode()
    assert "| method | Trad | CNN | All-distortions | All |" in text and "| Human |" in text


@pytest.mark.parametrize(
    ("query", "code"), [("?format=xlsx", "unknown_format"), ("?split=nope", "unknown_split")]
)
def test_bad_parameters_get_a_400_in_the_error_shape(client, dataset, alice, query, code):
    response = _get(client, alice, f"/leaderboards/{dataset.pk}/{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_bad_parameters_on_a_private_board_are_still_404_for_strangers(client, dataset, charlie):
    assert _get(client, charlie, f"/leaderboards/{dataset.pk}/?format=xlsx").status_code == 404
