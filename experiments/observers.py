"""Simulated participants that take part through the real HTTP interface.

A bot enters a study like a person (entry link, consent form with its entry token), loads its
assignment, fetches every image through the assignment's scoped URLs, answers each trial with a
noisy metric, and asks for its completion code. Used by tests (QC, exactly-once), by `make demo`
to fill the demo study, for load tests, and for planning how many judgments a study needs.

Decision model (a Thurstonian observer with lapses):
- 2AFC: with d_l = metric(ref, left) and d_r = metric(ref, right), the bot answers "left" with
  probability Φ((d_r − d_l) / noise); with probability `lapse` it answers at random instead.
- JND: with d = metric(first, second), it answers "same" with probability Φ((threshold − d) / noise).
- A careless bot answers every trial at random with a fast response time.

Only the standard library, NumPy and Pillow are used: no Django, no torch.
"""

from __future__ import annotations

import io
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin
from urllib.request import HTTPCookieProcessor, Request, build_opener

import numpy as np
from PIL import Image

Metric = Callable[[np.ndarray, np.ndarray], float]


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error of two uint8 images, on the [0, 1] scale."""
    return float(np.mean((a.astype(np.float64) / 255.0 - b.astype(np.float64) / 255.0) ** 2))


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass
class Observer:
    """How a simulated participant answers.

    Args:
        metric: distance between two uint8 H×W×3 images (lower = more similar).
        noise: standard deviation of the decision noise, in metric units.
        lapse: probability of answering a trial at random.
        careless: answer everything at random (and fast).
        jnd_threshold: metric distance at which "same" and "different" are equally likely.
        rt_ms: (low, high) of the uniform response-time distribution.
        seed: makes the bot's choices reproducible.
    """

    metric: Metric = mse
    noise: float = 1e-4
    lapse: float = 0.02
    careless: bool = False
    jnd_threshold: float = 2e-3
    rt_ms: tuple[int, int] = (600, 2500)
    seed: int = 0
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.noise <= 0:
            raise ValueError(f"noise must be positive, got {self.noise}")
        if not 0.0 <= self.lapse <= 1.0:
            raise ValueError(f"lapse must be in [0, 1], got {self.lapse}")
        self.rng = np.random.default_rng(self.seed)

    def response_time(self) -> int:
        if self.careless:
            return int(self.rng.integers(80, 300))
        return int(self.rng.integers(*self.rt_ms))

    def answer_2afc(self, ref: np.ndarray, left: np.ndarray, right: np.ndarray) -> str:
        if self.careless or self.rng.random() < self.lapse:
            return "left" if self.rng.random() < 0.5 else "right"
        p_left = _phi((self.metric(ref, right) - self.metric(ref, left)) / self.noise)
        return "left" if self.rng.random() < p_left else "right"

    def answer_jnd(self, first: np.ndarray, second: np.ndarray) -> str:
        if self.careless or self.rng.random() < self.lapse:
            return "same" if self.rng.random() < 0.5 else "different"
        p_same = _phi((self.jnd_threshold - self.metric(first, second)) / self.noise)
        return "same" if self.rng.random() < p_same else "different"


class BotError(RuntimeError):
    """The platform refused the bot (study not live, full, quota reached, …)."""


@dataclass
class BotResult:
    participant_id: str
    answered: int
    completion: dict


class _Session:
    def __init__(self, base_url: str, timeout: float) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar))

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict | None = None,
        retries: int = 5,
    ):
        url = urljoin(self.base_url, path.lstrip("/"))
        for attempt in range(retries):
            try:
                # base_url is checked to be http(s) in __init__
                request = Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
                with self.opener.open(request, timeout=self.timeout) as response:
                    return response.status, response.geturl(), response.read()
            except HTTPError as exc:
                if exc.code == 429 and attempt + 1 < retries:
                    time.sleep(0.5 * 2**attempt)
                    continue
                return exc.code, url, exc.read()
        raise BotError(f"{method} {path}: gave up after {retries} tries")

    def json(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(payload).encode() if payload is not None else None
        status, _, body = self.request(
            method, path, data=data, headers={"Content-Type": "application/json"}
        )
        return status, (json.loads(body) if body else {})


def _entry_token(html: str) -> str:
    match = re.search(r'name="entry_token" value="([^"]+)"', html)
    if not match:
        raise BotError("the consent page has no entry token")
    return match.group(1)


def run_participant(
    base_url: str,
    study_slug: str,
    participant_id: str,
    observer: Observer | None = None,
    *,
    recruiter: str = "prolific",
    timeout: float = 30.0,
) -> BotResult:
    """Take part in a study once, through the HTTP interface, and return the completion."""
    observer = observer or Observer()
    http = _Session(base_url, timeout)
    if recruiter == "prolific":
        entry = f"/s/{study_slug}/?" + urlencode(
            {"PROLIFIC_PID": participant_id, "STUDY_ID": "sim", "SESSION_ID": uuid.uuid4().hex}
        )
    else:
        entry = f"/s/{study_slug}/"
    status, _, body = http.request("GET", entry)
    if status != 200:
        raise BotError(f"entry page answered {status}: {body[:200]!r}")
    form = urlencode({"entry_token": _entry_token(body.decode()), "consent": "yes"}).encode()
    status, final_url, body = http.request(
        "POST",
        entry,
        data=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": urljoin(http.base_url, entry),
        },
    )
    match = re.search(r"/w/([^/]+)/", final_url)
    if status != 200 or not match:
        message = re.search(r'<p id="message">(.*?)</p>', body.decode(errors="replace"))
        raise BotError(message.group(1) if message else f"entry POST answered {status}")
    api = f"/w/{match.group(1)}/api/"
    _, session = http.json("GET", api + "session")
    answered = 0
    for trial in session["trials"]:
        if trial["answered"]:
            continue
        images = {slot: _fetch_image(http, url) for slot, url in trial["images"].items()}
        if trial["kind"] == "2afc":
            answer = observer.answer_2afc(images["ref"], images["left"], images["right"])
        else:
            answer = observer.answer_jnd(images["first"], images["second"])
        status, reply = http.json(
            "POST",
            api + "answers",
            {
                "client_uuid": str(uuid.uuid4()),
                "position": trial["position"],
                "answer": answer,
                "rt_ms": observer.response_time(),
                "display": {"bot": True, "dpr": 1, "exact": True},
                "timing": {},
            },
        )
        if status not in (200, 201):
            raise BotError(f"answer for position {trial['position']} refused ({status}): {reply}")
        answered += 1
    status, completion = http.json("POST", api + "complete")
    if status != 200:
        raise BotError(f"completion refused ({status}): {completion}")
    return BotResult(participant_id=participant_id, answered=answered, completion=completion)


def _fetch_image(http: _Session, url: str) -> np.ndarray:
    status, _, body = http.request("GET", url)
    if status != 200:
        raise BotError(f"image {url} answered {status}")
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))


def fill_study(
    base_url: str,
    study_slug: str,
    *,
    participants: int,
    careless_share: float = 0.1,
    seed: int = 0,
    concurrency: int = 4,
    observer_kwargs: dict | None = None,
    progress: Callable[[BotResult | BotError], None] | None = None,
) -> list[BotResult | BotError]:
    """Send `participants` bots (a `careless_share` of them careless) until done or the study is full."""
    rng = np.random.default_rng(seed)
    careless = rng.random(participants) < careless_share

    def one(i: int) -> BotResult | BotError:
        observer = Observer(
            careless=bool(careless[i]), seed=seed * 100_003 + i, **(observer_kwargs or {})
        )
        try:
            result: BotResult | BotError = run_participant(
                base_url, study_slug, f"bot-{seed}-{i}", observer
            )
        except BotError as exc:
            result = exc
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, range(participants)))


def summarise(results: Iterable[BotResult | BotError]) -> dict:
    results = list(results)
    done = [r for r in results if isinstance(r, BotResult)]
    return {
        "participants": len(results),
        "completed": len(done),
        "failed_qc": sum(1 for r in done if r.completion.get("outcome") == "failed_qc"),
        "refused": [str(r) for r in results if isinstance(r, BotError)][:5],
        "answers": sum(r.answered for r in done),
    }
