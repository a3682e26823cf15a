"""A new researcher's whole journey in Chromium, by clicking only.

After the login URL the test never types a URL: `page.goto` is replaced by a function that fails
the test, so every page is reached through a visible link or button. The journey: create an
image set by uploading a zip, design a study with a preset, preview, generate, go live, let
simulated participants fill it (bots over the HTTP interface, as a crowd would), freeze from the
collection progress page, fit LPIPS, score metrics, open the leaderboard and download its CSV.

Every admin page reached is checked at 1280×800: nothing scrolls sideways
(`scrollWidth ≤ clientWidth`), no console errors, no failed requests. Tasks run eagerly in the
live server (test settings), so each button's job has finished when its page comes back.

Screenshots: set PERCEPTLAB_GUIDE_IMG=docs/img to refresh the researcher guide's pictures
(docs/researcher-guide.md); otherwise they go to the test's temporary folder.
"""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from analysis import study_steps
from analysis.models import Dataset, FitRun, ScoreRun
from experiments.observers import fill_study, summarise
from studies.models import Study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry"]

NO_SIDEWAYS_SCROLL = (
    "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
)


def _zip_of_photos() -> bytes:
    from skimage import data as skdata

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in PHOTOS:
            image = Image.fromarray(getattr(skdata, name)())
            image.thumbnail((192, 192))  # small: the journey stays fast
            png = io.BytesIO()
            image.save(png, format="PNG")
            archive.writestr(f"photos/{name}.png", png.getvalue())
    return buffer.getvalue()


class Journey:
    """The browser, with the checks every page gets."""

    def __init__(self, page, base_url: str, shots: Path):
        self.page = page
        self.base_url = base_url
        self.shots = shots
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.checked: list[str] = []
        self.timings: list[tuple[str, float]] = []
        page.on(
            "console",
            lambda m: (
                self.console_errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}: {r.failure}"))
        page.on(
            "response",
            lambda r: (
                self.failed.append(f"{r.request.method} {r.url}: {r.status}")
                if r.status >= 400
                else None
            ),
        )

    def forbid_typed_urls(self) -> None:
        def goto(url, *args, **kwargs):
            raise AssertionError(f"the journey typed a URL ({url}): use a visible link or button")

        self.page.goto = goto

    def click(self, locator, *, timeout: float = 15_000) -> None:
        """Click a visible link or button that loads a page, then check the page."""
        assert locator.is_visible(), locator
        started = time.monotonic()
        with self.page.expect_navigation(timeout=timeout):
            locator.click(no_wait_after=True)
        self.check()
        self.timings.append((self.page.url, round(time.monotonic() - started, 1)))

    def link(self, name: str, *, exact: bool = False) -> None:
        self.click(self.page.get_by_role("link", name=name, exact=exact).first)

    def step_link(self, name: str) -> None:
        """A link of the study page's stepper."""
        self.click(self.page.locator("#stepper").get_by_role("link", name=name).first)

    def button(self, name: str, *, timeout: float = 15_000) -> None:
        """A button that loads a page (Fit and Score run their jobs in the request here)."""
        self.click(self.page.get_by_role("button", name=name, exact=True).first, timeout=timeout)

    def check(self) -> None:
        self.page.wait_for_load_state("networkidle")
        url = self.page.url
        if "/admin/" in url:
            scroll, client = self.page.evaluate(NO_SIDEWAYS_SCROLL)
            assert scroll <= client, f"{url} scrolls sideways at 1280 px: {scroll} > {client}"
            self.checked.append(url)
        assert not self.console_errors, self.console_errors
        assert not self.failed, self.failed

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"guide-{name}.png"))

    def messages(self) -> list[str]:
        return self.page.locator("ul.messagelist li").all_inner_texts()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("PERCEPTLAB_GUIDE_IMG") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def journey_settings(settings, monkeypatch):
    settings.PERCEPTLAB_DEFAULT_TRUNK = "random"  # offline: no ImageNet trunk here
    settings.PERCEPTLAB_BASELINE_METRICS = ["l2", "psnr", "lpips-alex"]
    monkeypatch.setattr(study_steps, "FIT_EPOCHS", (1, 1))  # a tiny fit: the pipeline, not quality
    from django.core.cache import cache

    cache.clear()


def test_new_researcher_clicks_from_upload_to_leaderboard(
    page, live_server, django_user_model, journey_settings, shots, tmp_path
):
    django_user_model.objects.create_user("dana", password="pw-dana-4567", is_staff=True)
    journey = Journey(page, live_server.url, shots)

    # --- log in (the only URL typed) -----------------------------------------------------------
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "dana")
    page.fill("#id_password", "pw-dana-4567")
    journey.forbid_typed_urls()
    journey.click(page.get_by_role("button", name="Log in"))
    journey.shot("01-home")

    # --- an image set from a zip ---------------------------------------------------------------
    journey.click(page.locator("a[href$='/admin/studies/imageset/add/']").first)
    page.fill("#id_name", "Sample photographs")
    page.fill("#id_description", "Five scikit-image photographs")
    journey.button("Save")
    archive = tmp_path / "photos.zip"
    archive.write_bytes(_zip_of_photos())
    page.set_input_files("#upload-files", str(archive))
    page.fill("#upload-source", "scikit-image skimage.data")
    page.get_by_role("button", name="Upload", exact=True).click()
    page.get_by_text("Done: 5 image(s) added").wait_for()
    assert page.locator("#upload-results .pl-accepted").all_inner_texts() == [
        "accepted: 5 image(s)"
    ]
    assert page.locator("#upload-progress").evaluate("bar => bar.value === bar.max")
    journey.check()
    journey.shot("02-image-set-upload")
    journey.link("Show the new images")
    assert page.locator(".pl-thumbs img").count() == 5
    assert not [m for m in journey.messages() if "success" in m.lower()]

    # --- a study ------------------------------------------------------------------------------
    journey.click(page.locator("#nav-sidebar a[href$='/admin/studies/study/']"))
    journey.link("Add study")
    page.fill("#id_name", "Journey study")
    page.select_option("#id_image_set", label="Sample photographs")
    page.fill("#id_seed", "11")
    page.fill("#id_judgments_train", "1")
    page.fill("#id_judgments_val", "2")
    page.get_by_text("Presentation, recruitment and quality control").click()  # a collapsed set
    page.fill("#id_assignment_size", "24")
    page.fill("#id_qc_min_sentinel_accuracy", "0.5")
    page.select_option("#id_quotas-0-kind", "2afc")
    page.select_option("#id_quotas-0-split", "train")
    page.fill("#id_quotas-0-count", "16")
    page.locator("#quotas-group .add-row a").click()  # "Add another trial count"
    page.select_option("#id_quotas-1-kind", "2afc")
    page.select_option("#id_quotas-1-split", "val")
    page.fill("#id_quotas-1-count", "8")
    scroll, client = page.evaluate(NO_SIDEWAYS_SCROLL)
    assert scroll <= client, f"the study form scrolls sideways: {scroll} > {client}"
    page.evaluate("window.scrollTo(0, 0)")
    journey.shot("03-study-form")
    journey.button("Save")
    study = Study.objects.get(name="Journey study")
    assert page.locator("#stepper .pl-current").get_attribute("data-step") == "design"
    journey.shot("04-study-page-draft")

    # --- distortions from a preset, then a preview ------------------------------------------------
    journey.step_link("Choose distortions")
    journey.link("The paper's 20 traditional")
    assert page.locator("#picker input[type=checkbox]:checked").count() == 20
    journey.shot("05-distortion-picker")
    journey.button("Save")
    assert journey.messages()[-1] == "Distortions saved: 20 added, 0 changed, 0 removed."
    assert study.distortion_specs.count() == 20
    journey.step_link("Preview")
    assert page.locator("table img").count() >= 3
    journey.shot("06-preview")
    journey.link("Back to the study")

    # --- generate, go live ---------------------------------------------------------------------
    journey.button("Generate", timeout=60_000)
    study.refresh_from_db()
    assert study.status == "ready", study.error
    journey.shot("07-study-page-ready")
    journey.step_link("Trials")  # compact: one row per trial, paginated
    assert page.locator("#result_list tbody tr").count() > 0
    journey.click(page.locator("#nav-sidebar a[href$='/admin/studies/study/']"))
    journey.link("Journey study", exact=True)
    journey.button("Go live")
    assert journey.messages()[-1] == "The study is live."

    # --- simulated participants ----------------------------------------------------------------
    results = fill_study(
        live_server.url,
        study.slug,
        participants=4,
        careless_share=0.0,
        concurrency=1,
        seed=5,
        observer_kwargs={"lapse": 0.0},
    )
    summary = summarise(results)
    assert summary["completed"] >= 2, summary

    # --- close, then collection progress → Freeze -------------------------------------------------
    journey.click(page.locator("#nav-sidebar a[href$='/admin/studies/study/']"))
    journey.link("Journey study", exact=True)
    journey.button("Close")
    assert journey.messages()[-1] == "Collection closed."
    journey.step_link("Collection progress")
    journey.shot("08-collection-progress")
    journey.button("Freeze dataset")
    assert journey.messages()[-1].startswith("Dataset ")
    dataset = Dataset.objects.get(study=study)

    # --- fit and score ---------------------------------------------------------------------------
    journey.button("Fit LPIPS", timeout=120_000)
    assert FitRun.objects.get(dataset=dataset).status == "done"
    journey.button("Score metrics", timeout=120_000)
    runs = ScoreRun.objects.filter(dataset=dataset)
    assert sorted(runs.values_list("status", flat=True)) == ["done"] * 4
    assert page.locator("#stepper .pl-current").get_attribute("data-step") == "leaderboard"
    journey.shot("09-study-page-analysed")

    # --- the leaderboard and its CSV -------------------------------------------------------------
    journey.step_link("Open the leaderboard")
    journey.shot("10-leaderboard")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) >= 5, rows  # a header, the human rows and four metrics
    text = "\n".join(",".join(r) for r in rows)
    for metric in ("l2", "psnr"):
        assert metric in text.lower(), text
    assert len(journey.checked) >= 15, journey.checked
    print("page timings (s):", journey.timings)


def test_study_page_shows_generation_progress_live_and_redraws_when_done(
    page, live_server, alice, study
):
    """The stepper polls its JSON while a job runs: the bar moves without a reload, and the page
    is drawn again (Go live appears) when the job is over."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(alice)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    Study.objects.filter(pk=study.pk).update(
        status="generating", generation_done=2, generation_total=8
    )
    page.goto(f"{live_server.url}/admin/studies/study/{study.pk}/change/")
    bar = page.locator('[data-job="generation"] progress')
    assert bar.evaluate("b => [b.value, b.max]") == [2, 8]
    page.evaluate("window.__sameDocument = true")  # gone if the page is loaded again
    Study.objects.filter(pk=study.pk).update(generation_done=5)
    page.wait_for_function(
        "() => document.querySelector('[data-job=\"generation\"] progress').value === 5"
    )
    assert page.evaluate("window.__sameDocument === true")  # moved in place, no reload
    assert page.locator('[data-job="generation"] .pl-job-count').inner_text() == "5 / 8"
    Study.objects.filter(pk=study.pk).update(status="ready", generation_done=8)
    page.get_by_role("button", name="Go live", exact=True).wait_for()
    assert page.evaluate("window.__sameDocument === undefined")
