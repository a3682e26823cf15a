"""Display: patches drawn 1:1 in device pixels with nearest-neighbour upscaling, a smaller integer
scale in a small window, and the image preload's error path."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from crowd.models import Assignment, Response
from tests.e2e.conftest import Worker
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(alice):
    return make_live_study(alice, kind="2afc", trials=2, sentinels=0, practice=1, assignment_size=2)


def test_patches_are_drawn_one_to_one_in_device_pixels_on_a_hidpi_screen(
    browser, live_server, study
):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=2)
    try:
        worker = Worker(context.new_page(), live_server.url)
        worker.enter(study)
        worker.start(practice_key="ArrowLeft")
        worker.page.wait_for_selector('.pl-trial[data-phase="respond"]')
        session = worker.page.request.get(f"{live_server.url}/w/{worker.token}/api/session").json()
        canvases = worker.page.locator(".pl-trial canvas")
        for canvas, slot in zip(canvases.all(), ("left", "ref", "right"), strict=True):
            assert canvas.evaluate("c => [c.width, c.height, c.style.width]") == [256, 256, "128px"]
            shot = np.asarray(
                Image.open(io.BytesIO(canvas.screenshot(scale="device"))).convert("RGB")
            )
            served = worker.page.request.get(
                live_server.url + session["trials"][0]["images"][slot]
            ).body()
            expected = np.asarray(
                Image.open(io.BytesIO(served)).convert("RGB").resize((256, 256), Image.NEAREST)
            )
            # The layout box may start at a fractional device pixel (the content is centred); the
            # browser snaps the canvas to whole device pixels, so look for it within that margin.
            assert shot.shape[0] - 256 in (0, 1, 2) and shot.shape[1] - 256 in (0, 1, 2), shot.shape
            offsets = [
                (dy, dx) for dy in range(shot.shape[0] - 255) for dx in range(shot.shape[1] - 255)
            ]
            assert any(
                np.array_equal(shot[dy : dy + 256, dx : dx + 256], expected) for dy, dx in offsets
            ), (
                f"{slot}: the screen is not the image upscaled by nearest neighbour, 1:1 in device pixels"
            )
        worker.answer("ArrowLeft")
        worker.wait_sent()
        response = Response.objects.get(assignment__token=worker.token, item__position=0)
        assert response.display == {
            "dpr": 2,
            "window": [1280, 800],
            "scale": 4,
            "css_px": 128,
            "device_px": 256,
            "exact": True,
        }
    finally:
        context.close()


def test_a_small_window_gets_a_smaller_integer_scale_and_advice(browser, live_server, study):
    context = browser.new_context(viewport={"width": 700, "height": 600})
    try:
        worker = Worker(context.new_page(), live_server.url)
        worker.enter(study)
        worker.click("Continue")
        worker.page.get_by_text("Your browser window is too small").wait_for()
        assert "scale 3 of 4" in worker.page.inner_text("body")
        assert "zoom" not in worker.page.inner_text("body")
        worker.click("Continue")
        worker.click("Start practice")
        worker.answer("ArrowRight")
        worker.click("Start")
        worker.answer("ArrowRight")
        worker.wait_sent()
        response = Response.objects.get(assignment__token=worker.token, item__position=0)
        assert response.display == {
            "dpr": 1,
            "window": [700, 600],
            "scale": 3,
            "css_px": 192,
            "device_px": 192,
            "exact": True,
        }
    finally:
        context.close()


def test_images_that_fail_to_load_stop_the_start_until_a_retry_succeeds(worker, study):
    failing = "**/img/1/right"
    worker.page.route(failing, lambda route: route.fulfill(status=503, body="busy"))
    worker.enter(study)
    worker.click("Continue")
    worker.click("Continue")
    worker.page.get_by_text(
        "1 of 9 images could not be loaded"
    ).wait_for()  # 3 practice + 2 trials × 3
    assert worker.page.locator(".pl-trial").count() == 0

    worker.page.unroute(failing)
    worker.click("Try again")
    worker.click("Start practice")
    worker.answer("ArrowLeft")
    worker.click("Start")
    worker.answer("ArrowLeft")
    worker.answer("ArrowLeft")
    worker.page.locator(".pl-code").wait_for()
    assert Assignment.objects.get(token=worker.token).status == Assignment.Status.COMPLETED


@pytest.mark.parametrize("dpr", [1.25, 2.5, 3])
def test_every_os_scaling_draws_the_study_scale_one_to_one_without_asking(
    browser, live_server, study, dpr
):
    # 125 %, 250 % and 300 % OS scaling (1, 1.5 and 2 are in test_worker_screens and above): the
    # requested scale 4, pixel-exact on screen, and nothing for the worker to fix.
    from tests.e2e.test_worker_screens import Screens

    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=dpr)
    try:
        worker = Worker(context.new_page(), live_server.url)
        worker.enter(study)
        worker.click("Continue")
        worker.page.get_by_text("Your screen is ready").wait_for()
        worker.start_after_check(practice_key="ArrowLeft")
        worker.page.wait_for_selector('.pl-trial[data-phase="respond"]')
        shots = Screens(worker.page, f"dpr{dpr}", None, dpr)
        boxes = shots.patches()
        assert [b["patch"] for b in boxes] == [256, 256, 256]
        served = worker.page.request.get(f"{live_server.url}/w/{worker.token}/img/0/left").body()
        shots.pixels_match(boxes[0], served)
        worker.answer("ArrowLeft")
        worker.wait_sent()
        response = Response.objects.get(assignment__token=worker.token, item__position=0)
        assert (response.display["scale"], response.display["device_px"]) == (4, 256)
        assert response.display["exact"] is True
    finally:
        context.close()
