"""The researcher's analysis pages in Chromium at 1280×800: a fit run with its training curves,
the leaderboard inside the admin, the triplet explorer and the collection monitor (which
refreshes itself from its JSON). Each page: no sideways scroll, no console error, no failed
request, and its charts drawn."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from analysis.models import FitRun, RunStatus
from crowd import services as crowd_services
from tests.analysis.boards import make_dataset, score
from tests.conftest import make_png
from tests.e2e.test_leaderboard import INK, JUDGES, SAME, _log_in, flipping
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HISTORY = [
    {"epoch": 0, "val_2afc": 0.61},
    {"epoch": 1, "lr": 1e-4, "loss": 0.69, "train_2afc": 0.60, "val_2afc": 0.65},
    {"epoch": 2, "lr": 1e-4, "loss": 0.64, "train_2afc": 0.66, "val_2afc": 0.69},
    {"epoch": 3, "lr": 1.9999999999999995e-05, "loss": 0.61, "train_2afc": 0.70, "val_2afc": 0.71},
]


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def watched(page):
    """The page, with console errors and failed requests recorded (not the browser's own ask
    for /favicon.ico, which no page of ours links)."""
    problems: list[str] = []

    def console(message):
        if message.type == "error" and "favicon.ico" not in (message.location or {}).get("url", ""):
            problems.append(f"console: {message.text}")

    page.on("console", console)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status}: {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.problems = problems
    return page


def _fits_the_width(page) -> None:
    page.wait_for_load_state("networkidle")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"
    assert not page.problems, page.problems


@pytest.fixture
def board(alice):
    dataset = make_dataset(alice, judges=JUDGES, same=SAME, name="e2e pages")
    for item in dataset.items.all():
        for slot in ("ref", "p0", "p1"):
            name = getattr(item, slot)
            if name and not default_storage.exists(name):
                default_storage.save(name, ContentFile(make_png(64, 64, seed=2)))
    long = "lpips-alex"
    score(dataset, long, flipping(set(), {0, 1}), options={"trunk_weights": None},
          jnd_distances=lambda c, i: 1 - i.judge)  # fmt: skip
    score(dataset, "ssim", flipping({0, 1, 2}, set()), options={"preset": "lpips-baseline"},
          jnd_distances=lambda c, i: i.judge)  # fmt: skip
    score(dataset, "l2", flipping({0}, {0}), jnd_distances=lambda c, i: 0.5)
    return dataset


def test_fit_leaderboard_triplets_and_monitor_fit_1280_px(watched, live_server, board, alice):
    page = watched
    fit = FitRun.objects.create(
        dataset=board,
        created_by=alice,
        status=RunStatus.DONE,
        epochs=2,
        epochs_decay=1,
        trunk_weights="random",
        history=HISTORY,
        result={"val_2afc": 0.71, "lin_sha256": "ab" * 32},
    )
    _log_in(page, live_server, alice)

    page.goto(f"{live_server.url}/admin/analysis/fitrun/{fit.pk}/change/")
    page.wait_for_selector("#fit-curves[data-rendered='true']")
    assert page.locator("#fit-curves").evaluate(INK) > 500
    assert "done: 3/3 epochs" in page.content()
    _fits_the_width(page)

    page.goto(f"{live_server.url}/leaderboards/{board.pk}/")
    page.wait_for_selector("#scatter[data-rendered='true']")
    assert "LPIPS alex (random trunk)" in page.locator("#board").inner_text()
    assert page.locator(".breadcrumbs a").first.get_attribute("href") == "/admin/"
    for n in range(page.locator("canvas").count()):
        assert page.locator("canvas").nth(n).evaluate(INK) > 500
    _fits_the_width(page)

    # The Table-5 preset, inside the admin too; back to the board by its breadcrumb.
    page.get_by_role("link", name="Table 5 (Zhang et al. 2018)").click()
    page.wait_for_selector("#table5")
    low = page.locator('tbody[data-group="Low-level"]').inner_text()
    assert "not the paper's computation" in low  # the RGB l2 is an extra line, noted
    _fits_the_width(page)
    fits = "b => b.scrollWidth <= b.clientWidth"  # the table fits beside the admin's sidebar
    assert page.locator(".pl-scroll:has(#table5)").evaluate(fits)
    page.locator(".breadcrumbs").get_by_role("link", name="Leaderboard").click()
    page.wait_for_selector("#scatter[data-rendered='true']")

    page.click("#triplets-link")
    page.wait_for_selector("#triplets")
    image = page.locator("#triplets img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("img => [img.naturalWidth, img.width]") == [64, 64]  # 1:1
    _fits_the_width(page)


def test_the_monitor_refreshes_itself(watched, live_server, alice):
    page = watched
    study = make_live_study(
        alice, trials=6, sentinels=0, needed=2, assignment_size=6, sentinel_rate=0.0
    )
    first = crowd_services.participant_enter(
        study=study, entry=crowd_services.Entry("prolific", "P-1")
    )
    items = list(first.items.all())

    def answer(item):
        crowd_services.response_record(
            assignment_token=first.token,
            client_uuid=uuid.uuid4(),
            position=item.position,
            answer="left",
            rt_ms=800,
            display={},
            timing={},
        )

    for item in items[:3]:
        answer(item)
    _log_in(page, live_server, alice)
    page.goto(f"{live_server.url}/admin/crowd/studycollection/{study.pk}/progress/")
    page.click("#monitor-link")
    page.wait_for_selector("#monitor[data-rendered='true']")
    assert page.locator("[data-field='valid']").inner_text() == "3 / 12 (25%)"
    for canvas in ("#monitor-timeline", "#monitor-qc"):
        assert page.locator(canvas).evaluate(INK) > 500
    _fits_the_width(page)

    page.evaluate("document.getElementById('monitor').dataset.every = '1'")  # no 15 s wait
    for item in items[3:]:
        answer(item)
    page.wait_for_function(
        "() => document.querySelector(\"[data-field='valid']\").textContent === '6 / 12 (50%)'",
        timeout=30_000,
    )
    assert not page.problems, page.problems
