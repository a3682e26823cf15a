"""Browser tests: the built worker app (frontend/) in Debian's Chromium against a live server.

Each test enters a small live study through its real entry link and consent form, then drives the
jsPsych timeline with the keyboard. `Worker` wraps the page; trials expose `data-phase` on their
`.pl-trial` element ("present" → "respond" → "done"), which is how a test knows a key will count.

The live server shares the test database (in-memory SQLite) with the test. SQLite reports a
concurrent read and write on it as "table is locked" instead of waiting, so tests read the
database when the page is quiet (after network idle, an empty outbox, or the end page).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def worker_bundle() -> Path:
    """Builds the worker app from the current source once per session (esbuild: under a second)."""
    if not (FRONTEND / "node_modules").is_dir():
        pytest.fail("frontend/node_modules is missing: run `make frontend` first")
    subprocess.run(["npm", "run", "--silent", "build"], cwd=FRONTEND, check=True)
    return FRONTEND / "dist"


@pytest.fixture(autouse=True)
def _serve_bundle(settings, worker_bundle):
    # Settings list frontend/dist only if it existed when they were imported.
    if worker_bundle not in settings.STATICFILES_DIRS:
        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, worker_bundle]


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an asyncio loop running in this thread, and Django's ORM refuses
    # to run in a thread with a running loop. Nothing else uses that loop, so the ORM calls of the
    # tests (and the transactional flush after each) are safe: allow them while the browser runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


class Worker:
    """A participant in the browser."""

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.token = ""

    def enter(self, study, *, prolific_pid: str | None = None) -> str:
        query = f"?PROLIFIC_PID={prolific_pid}&STUDY_ID=S1&SESSION_ID=X1" if prolific_pid else ""
        self.page.goto(f"{self.base_url}/s/{study.slug}/{query}")
        self.page.click("#consent-button")
        self.page.wait_for_url("**/w/*/")
        self.page.wait_for_load_state("networkidle")  # session and images loaded: the DB is free
        self.token = self.page.url.rstrip("/").rsplit("/", 1)[-1]
        return self.token

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def start(self, *, practice_key: str | None = None) -> None:
        """Instructions, screen check and, on a first visit, one practice trial."""
        self.click("Continue")
        self.start_after_check(practice_key=practice_key)

    def start_after_check(self, *, practice_key: str | None = None) -> None:
        """From the screen check on: continue, and on a first visit one practice trial."""
        self.page.get_by_role("heading", name="Screen check").wait_for()
        self.click("Continue")
        if practice_key:
            self.click("Start practice")
            self.answer(practice_key)
            self.click("Start")

    def answer(self, key: str) -> None:
        """Waits until the trial takes answers, presses `key`, waits until it is taken."""
        stage = self.page.wait_for_selector('.pl-trial[data-phase="respond"]')
        self.page.keyboard.press(key)
        # This stage, not any: the next trial's stage may reach "respond" two frames later.
        self.page.wait_for_function("stage => stage.dataset.phase !== 'respond'", arg=stage)

    def progress(self) -> str:
        return self.page.inner_text("#jspsych-progressbar-container span")

    def outbox(self) -> list[dict]:
        return self.page.evaluate(
            f"JSON.parse(localStorage.getItem('perceptlab-outbox-{self.token}') || '[]')"
        )

    def wait_sent(self) -> None:
        """Waits until the outbox is empty: the server has acknowledged every answer given so far."""
        self.page.wait_for_function(
            f"localStorage.getItem('perceptlab-outbox-{self.token}') === null"
        )


@pytest.fixture
def worker(page, live_server) -> Worker:
    return Worker(page, live_server.url)
