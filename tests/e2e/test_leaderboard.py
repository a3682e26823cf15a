"""The leaderboard page in Chromium: the human row and three metrics, Chart.js canvases that
actually draw, click-to-sort on the table, and the private/public rule seen from a browser."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from tests.analysis.boards import make_dataset, score

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JUDGES = {
    "traditional": [0.0, 0.2, 0.8, 1.0, 0.4, 0.6, 0.0, 1.0],
    "cnn": [0.0, 1.0, 0.2, 0.8, 0.6, 0.4],
}
SAME = {"traditional": [0.0, 1 / 3, 2 / 3, 1.0], "cnn": [1.0, 0.0, 1 / 3, 2 / 3]}


def flipping(trad: set[int], cnn: set[int]):
    """Distances that agree with the human majority except on the given item indices.

    Scores with these judges (×100): alpha Trad 85.0 / CNN 26.7 / All 55.8; beta 42.5 / 80.0 /
    61.3; gamma 65.0 / 63.3 / 64.2, so each column ranks the three differently."""

    def distances(category, item):
        flip = item.index in (trad if category == "traditional" else cnn)
        return (0.1, 0.9) if (item.judge < 0.5) != flip else (0.9, 0.1)

    return distances


# Non-blank pixels of a canvas: Chart.js has drawn into it.
INK = """canvas => {
  const {width, height} = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let ink = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
  return ink;
}"""


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def board(alice):
    dataset = make_dataset(alice, judges=JUDGES, same=SAME, name="e2e board")
    score(dataset, "alpha", flipping(set(), {0, 1, 2, 3}), jnd_distances=lambda c, i: 1 - i.judge)
    score(dataset, "beta", flipping({0, 1, 2, 3, 4}, set()), jnd_distances=lambda c, i: i.judge)
    score(dataset, "gamma", flipping({0, 1}, {0}), jnd_distances=lambda c, i: 0.5 + 0.01 * i.index)
    return dataset


def _log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def _labels(page) -> list[str]:
    return page.locator("#board tbody.metrics td.label").all_inner_texts()


def test_board_renders_charts_and_sorts(page, live_server, board, alice):
    _log_in(page, live_server, alice)
    page.goto(f"{live_server.url}/leaderboards/{board.pk}/")
    rows = page.locator("#board tbody tr")
    assert rows.nth(0).locator("td.label").inner_text() == "Human"
    assert _labels(page) == ["gamma", "beta", "alpha"]  # server order: All, best first

    canvases = page.locator("canvas")
    assert canvases.count() == 5  # Trad, CNN, All-distortions, All, and the 2AFC-vs-JND scatter
    page.wait_for_selector("#scatter[data-rendered='true']")
    for n in range(canvases.count()):
        canvas = canvases.nth(n)
        assert canvas.get_attribute("data-rendered") == "true"
        assert canvas.bounding_box()["height"] > 100
        assert canvas.evaluate(INK) > 500, canvas.get_attribute("data-column")

    page.click("#board thead th[data-sort='label']")
    assert _labels(page) == ["alpha", "beta", "gamma"]
    assert page.get_attribute("#board thead th[data-sort='label']", "aria-sort") == "ascending"
    page.click("#board thead th[data-column='traditional']")
    assert _labels(page) == ["alpha", "gamma", "beta"]
    cnn = "#board thead th[data-column='cnn']"
    page.click(cnn)
    assert _labels(page) == ["beta", "gamma", "alpha"]
    assert page.get_attribute(cnn, "aria-sort") == "descending"
    page.click(cnn)
    assert _labels(page) == ["alpha", "gamma", "beta"]
    assert page.get_attribute(cnn, "aria-sort") == "ascending"
    assert rows.nth(0).locator("td.label").inner_text() == "Human"  # the reference row stays on top


def test_private_board_asks_a_visitor_to_log_in_and_is_public_once_published(
    page, live_server, board
):
    page.goto(f"{live_server.url}/leaderboards/{board.pk}/")
    assert page.url == f"{live_server.url}/admin/login/?next=/leaderboards/{board.pk}/"
    assert page.goto(f"{live_server.url}/leaderboards/public/{board.public_slug}/").status == 404
    board.is_public = True
    board.save()
    response = page.goto(f"{live_server.url}/leaderboards/public/{board.public_slug}/")
    assert response.status == 200
    page.wait_for_selector("#scatter[data-rendered='true']")
    assert page.locator("#board tbody tr").nth(0).locator("td.label").inner_text() == "Human"
    assert len(_labels(page)) == 3


def test_the_network_zoo_chart_draws_each_network_against_its_imagenet_top1(
    page, live_server, alice
):
    dataset = make_dataset(alice, judges=JUDGES, name="zoo board")
    score(dataset, "deep-alexnet", flipping({0, 1}, {0}))
    score(dataset, "deep-resnet18", flipping({0}, set()))
    score(dataset, "deep-vit_b_16", flipping({0, 1, 2}, {0, 1}))
    score(dataset, "l2", flipping(set(), {0, 1, 2, 3}))
    _log_in(page, live_server, alice)
    page.goto(f"{live_server.url}/leaderboards/{dataset.pk}/")
    page.wait_for_selector("#zoo-chart[data-rendered='true']")
    chart = page.locator("#zoo-chart")
    assert chart.bounding_box()["height"] > 100
    assert chart.evaluate(INK) > 500
    points = [p[:2] for p in json.loads(chart.get_attribute("data-points"))]
    assert sorted(points) == [
        ["deep-alexnet", 56.522],
        ["deep-resnet18", 69.758],
        ["deep-vit_b_16", 81.072],
    ]  # l2 is not a network of the zoo
