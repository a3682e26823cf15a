"""Browser tests: the built worker app (frontend/) in Debian's Chromium against a live server.

Each test enters a small live study through its real entry link and consent form, then drives the
jsPsych timeline with the keyboard. `Worker` wraps the page; trials expose `data-phase` on their
`.pl-trial` element ("present" → "respond" → "done"), which is how a test knows a key will count.

The live server shares the test database (in-memory SQLite) with the test. SQLite reports a
concurrent read and write on it as "table is locked" instead of waiting, so tests read the
database when the page is quiet (after network idle, an empty outbox, or the end page).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

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


# ---- a stand-in recruiter site on another origin ---------------------------------------------

SUBMITTED = "Stand-in MTurk: HIT submitted"


class StandInMturk:
    """`GET /?hit=<link>` frames the link as MTurk's worker site does; `POST
    /mturk/externalSubmit` records the form it receives (what MTurk would accept the HIT with)."""

    def __init__(self):
        self.submissions: list[dict[str, list[str]]] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _send(self, html: str) -> None:
                body = html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                hit = parse_qs(urlsplit(self.path).query).get("hit", [""])[0]
                self._send(
                    '<!doctype html><title>Stand-in MTurk</title><iframe id="hit" src="'
                    + hit.replace('"', "%22")
                    + '" style="width:1240px;height:780px;border:0"></iframe>'
                )

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                if urlsplit(self.path).path == "/mturk/externalSubmit":
                    stand_in.submissions.append(form)
                self._send(f"<!doctype html><title>Submitted</title><p>{SUBMITTED}</p>")

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def framing(self, link: str) -> str:
        return f"{self.origin}/?hit={quote(link, safe='')}"


@pytest.fixture
def mturk(settings, live_server):
    """A stand-in MTurk (any recruiter that frames the task) on another site than the live
    server (http://127.0.0.1:<port> against http://localhost:<port>), allowed to frame the worker
    pages and to receive `externalSubmit`."""
    stand_in = StandInMturk()
    settings.PERCEPTLAB_FRAME_ANCESTORS = [stand_in.origin]
    settings.PERCEPTLAB_TURK_SUBMIT_TEST_ORIGINS = [stand_in.origin]
    assert live_server.url.startswith("http://localhost:")  # another site than the stand-in
    yield stand_in
    stand_in.server.shutdown()
