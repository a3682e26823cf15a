"""Every worker screen at 1280×800 and 768×1024 (a tablet, answered by tapping), at
devicePixelRatio 1 and 1.5: axe-core finds no serious or critical accessibility violation, nothing
overflows sideways, patches are drawn at an integer scale 1:1 in device pixels (checked on the
pixels of a device-scale screenshot), and practice feedback moves nothing.

Screenshots go to a temporary folder, or to PERCEPTLAB_SCREENSHOT_DIR when it is set
(`PERCEPTLAB_SCREENSHOT_DIR=docs/img/worker` makes the pictures of docs/recruiting.md).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crowd.models import Assignment
from tests.e2e.conftest import FRONTEND, Worker
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = FRONTEND / "node_modules" / "axe-core" / "axe.min.js"
PROLIFIC_DONE = "https://app.prolific.com/submissions/complete?cc={code}"

CONFIGS = {
    "desktop-dpr1": ({"width": 1280, "height": 800}, 1, False),
    "desktop-dpr1.5": ({"width": 1280, "height": 800}, 1.5, False),
    "tablet-dpr1": ({"width": 768, "height": 1024}, 1, True),
    "tablet-dpr1.5": ({"width": 768, "height": 1024}, 1.5, True),
}


@pytest.fixture
def shots_dir(tmp_path) -> Path:
    folder = Path(os.environ.get("PERCEPTLAB_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Screens:
    """Checks and photographs each screen a worker sees."""

    def __init__(self, page, name: str, folder: Path, dpr: float):
        self.page, self.name, self.folder, self.dpr = page, name, folder, dpr
        self.seen: list[str] = []

    def axe(self, context: str = "document", rules: list[str] | None = None) -> list[dict]:
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        options = {"runOnly": rules} if rules else {"resultTypes": ["violations"]}
        result = self.page.evaluate(
            "([context, options]) => axe.run(context === 'document' ? document : "
            "document.querySelector(context), options)",
            [context, options],
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    def check(self, screen: str) -> None:
        violations = self.axe()
        assert violations == [], f"{screen}: {violations}"
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{screen}: the page is {overflow} px wider than the window"
        self.page.screenshot(path=str(self.folder / f"{screen}-{self.name}.png"))
        self.seen.append(screen)

    def patches(self) -> list[dict]:
        """Each patch canvas: its box must be whole device pixels, on a device pixel, one device
        pixel per backing pixel, and the patch an integer multiple of the study's patch size."""
        boxes = self.page.evaluate(
            """() => [...document.querySelectorAll('canvas.pl-patch')].map(c => {
                 const r = c.getBoundingClientRect();
                 return {x: r.left, y: r.top, w: r.width, backing: c.width,
                         patch: Number(c.dataset.devicePx)};
               })"""
        )
        assert boxes
        for box in boxes:
            for key in ("x", "y", "w"):
                device = box[key] * self.dpr
                assert abs(device - round(device)) < 1e-3, (key, box, self.dpr)
            assert round(box["w"] * self.dpr) == box["backing"], box
            assert box["patch"] % 64 == 0, box  # patch_size 64 × an integer scale
        return boxes

    def pixels_match(self, box: dict, served: bytes) -> None:
        """The screen shows the served image upscaled by nearest neighbour, 1:1 in device pixels."""
        shot = np.asarray(
            Image.open(io.BytesIO(self.page.screenshot(scale="device"))).convert("RGB")
        )
        size = box["patch"]
        x = round(box["x"] * self.dpr) + (box["backing"] - size) // 2
        y = round(box["y"] * self.dpr) + (box["backing"] - size) // 2
        expected = np.asarray(
            Image.open(io.BytesIO(served)).convert("RGB").resize((size, size), Image.NEAREST)
        )
        assert np.array_equal(shot[y : y + size, x : x + size], expected), (
            f"{self.name}: the patch is not the image upscaled 1:1 in device pixels"
        )


@pytest.fixture(params=sorted(CONFIGS))
def screens(request, browser, live_server, shots_dir):
    viewport, dpr, touch = CONFIGS[request.param]
    context = browser.new_context(
        viewport=viewport, device_scale_factor=dpr, has_touch=touch, is_mobile=False
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield Screens(page, request.param, shots_dir, dpr), Worker(page, live_server.url), touch
    context.close()
    assert not errors, errors


def test_every_worker_screen_is_accessible_fits_and_draws_patches_one_to_one(screens, alice):
    shots, worker, touch = screens
    page = worker.page
    study = make_live_study(
        alice,
        kind="2afc",
        trials=2,
        sentinels=0,
        practice=1,
        assignment_size=2,
        break_every=1,
        completion_url=PROLIFIC_DONE,
    )
    answer = (lambda side: page.tap(f'.pl-choice[data-answer="{side}"]')) if touch else None

    def respond(key: str, side: str) -> None:
        stage = page.wait_for_selector('.pl-trial[data-phase="respond"]')
        if touch:
            answer(side)
        else:
            page.keyboard.press(key)
        page.wait_for_function("stage => stage.dataset.phase !== 'respond'", arg=stage)

    # Pages before the app: a mistyped link, MTurk's preview, the consent page.
    page.goto(f"{worker.base_url}/s/no-such-study/")
    shots.check("not-found")
    page.goto(
        f"{worker.base_url}/s/{study.slug}/mturk/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H"
    )
    shots.check("mturk-preview")
    page.goto(f"{worker.base_url}/s/{study.slug}/")
    shots.check("consent")
    page.click("#consent-button")
    page.wait_for_url("**/w/*/")
    page.wait_for_load_state("networkidle")
    worker.token = page.url.rstrip("/").rsplit("/", 1)[-1]

    page.get_by_role("heading", name="How it works").wait_for()
    text = page.inner_text("#jspsych-target")
    assert "looks more like the middle one" in text and "Same or different" not in text
    assert worker.progress() == ""  # no "Trial k of N" on the instructions
    shots.check("instructions")
    worker.click("Continue")
    page.get_by_role("heading", name="Screen check").wait_for()
    assert "zoom" not in page.inner_text("#jspsych-target")
    shots.check("screen-check")
    worker.click("Continue")
    page.get_by_role("button", name="Start practice").wait_for()
    shots.check("practice-intro")
    worker.click("Start practice")

    page.wait_for_selector('.pl-trial[data-phase="respond"]')
    assert worker.progress() == "Practice 1 of 1"
    before = shots.patches()
    shots.check("practice-trial")
    respond("ArrowRight", "right")  # practice expects p0: right or wrong, feedback either way
    page.wait_for_selector(".pl-feedback span")
    assert shots.patches() == before, "the practice feedback moved the patches"
    assert shots.axe(".pl-trial", ["color-contrast"]) == []
    page.screenshot(path=str(shots.folder / f"practice-feedback-{shots.name}.png"))
    page.get_by_role("button", name="Start", exact=True).wait_for()
    shots.check("practice-done")
    worker.click("Start")

    page.wait_for_selector('.pl-trial[data-phase="respond"]')
    assert worker.progress() == "Trial 1 of 2"
    boxes = shots.patches()
    served = page.request.get(f"{worker.base_url}/w/{worker.token}/img/0/left").body()
    shots.pixels_match(boxes[0], served)  # the first canvas is the left patch
    shots.check("trial-2afc")
    respond("ArrowLeft", "left")
    page.get_by_role("heading", name="Break").wait_for()
    assert worker.progress() == ""
    shots.check("break")
    worker.click("Continue")
    respond("ArrowLeft", "left")

    # A plain link is not a Prolific entry: the code is shown, the page stays here (#13 item 5).
    code = page.locator(".pl-code")
    code.wait_for()
    assert code.inner_text() == Assignment.objects.get(token=worker.token).completion_code
    assert page.url.startswith(worker.base_url)
    assert "prolific" not in page.inner_text("body").lower()
    shots.check("completion-code")


def test_the_jnd_screens_are_accessible_and_one_to_one(screens, alice):
    shots, worker, touch = screens
    page = worker.page
    study = make_live_study(
        alice, kind="jnd", trials=1, sentinels=0, practice=1, assignment_size=1, break_every=0
    )
    worker.enter(study)
    text = page.inner_text("#jspsych-target")
    assert "Same or different?" in text and "looks more like" not in text
    worker.click("Continue")
    worker.click("Continue")
    worker.click("Start practice")
    stage = page.wait_for_selector('.pl-trial[data-phase="respond"]')
    shots.patches()
    shots.check("practice-trial-jnd")
    if touch:
        page.tap('[data-answer="different"]')
    else:
        page.keyboard.press("d")
    page.wait_for_function("stage => stage.dataset.phase !== 'respond'", arg=stage)
    worker.click("Start")
    page.wait_for_selector('.pl-trial[data-phase="present"] canvas')
    page.wait_for_timeout(300)  # the first patch is on
    boxes = shots.patches()
    served = page.request.get(f"{worker.base_url}/w/{worker.token}/img/0/first").body()
    shots.pixels_match(boxes[0], served)
    page.wait_for_selector('.pl-trial[data-phase="respond"]')
    shots.check("trial-jnd")


def test_the_return_and_dead_end_screens_are_accessible_and_fit(screens, alice):
    """The screens a worker meets coming back or hitting a dead end: welcome back (the same
    browser, mid-assignment), an expired assignment, a study that is not open, a full one,
    an id already started elsewhere, a phone on a desktop-only study."""
    from studies.models import Study

    shots, worker, _touch = screens
    page = worker.page
    study = make_live_study(
        alice, kind="2afc", trials=3, sentinels=0, practice=0, assignment_size=2, break_every=0
    )
    worker.enter(study, prolific_pid="P-RETURNING")
    worker.start()
    worker.answer("ArrowLeft")
    worker.wait_sent()
    page.reload()
    page.get_by_role("heading", name="Welcome back").wait_for()
    shots.check("welcome-back")

    Assignment.objects.filter(token=worker.token).update(status=Assignment.Status.EXPIRED)
    page.reload()
    page.get_by_role("heading", name="This assignment has expired").wait_for()
    shots.check("expired")

    # Another browser (nothing kept) with the same Prolific id and no session id: refused.
    page.evaluate("localStorage.clear()")
    page.goto(f"{worker.base_url}/s/{study.slug}/?PROLIFIC_PID=P-RETURNING&STUDY_ID=S1")
    page.click("#consent-button")
    page.get_by_role("heading", name="Already started elsewhere").wait_for()
    shots.check("already-started")

    full = make_live_study(alice, kind="2afc", trials=1, sentinels=0, needed=0)
    page.goto(f"{worker.base_url}/s/{full.slug}/")
    page.click("#consent-button")
    page.get_by_role("heading", name="Sorry").wait_for()
    assert "taken" in page.inner_text("main")
    shots.check("study-full")

    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    page.goto(f"{worker.base_url}/s/{study.slug}/")
    page.get_by_role("heading", name="Not open").wait_for()
    shots.check("not-open")

    desktop = make_live_study(alice, kind="2afc", trials=1, sentinels=0, desktop_only=True)
    page.set_extra_http_headers({"Sec-CH-UA-Mobile": "?1"})
    page.goto(f"{worker.base_url}/s/{desktop.slug}/")
    page.get_by_role("heading", name="Please use a computer").wait_for()
    shots.check("phone-refused")
