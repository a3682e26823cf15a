"""No answer lost, none stored twice: reloads, a cut network, lost acknowledgements, and a
completion redirect that waits for the server to hold every answer."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qs, urlparse

import pytest

from crowd.models import Assignment, Response
from tests.factories import make_live_study

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANSWERS = "**/api/answers"
OFFLINE = "You are offline — your answers are saved and will be sent when the connection returns."


def stored_positions(assignment) -> list[int]:
    return sorted(
        Response.objects.filter(assignment=assignment).values_list("item__position", flat=True)
    )


@pytest.fixture
def study(alice):
    return make_live_study(alice, kind="2afc", trials=6, sentinels=1, practice=1, break_every=0)


def test_a_reload_resumes_after_the_answers_on_the_server_and_in_the_outbox(worker, study):
    worker.enter(study)
    assignment = Assignment.objects.get(token=worker.token)
    total = assignment.total
    worker.start(practice_key="ArrowLeft")
    worker.answer("ArrowLeft")
    worker.answer("ArrowRight")
    worker.wait_sent()
    assert stored_positions(assignment) == [0, 1]

    worker.page.route(ANSWERS, lambda route: route.abort())
    worker.answer("ArrowLeft")
    worker.answer("ArrowLeft")
    worker.page.get_by_text(OFFLINE).wait_for()
    assert [e["position"] for e in worker.outbox()] == [2, 3]

    # Unsent answers make the page ask before unloading; the participant reloads anyway.
    worker.page.on("dialog", lambda dialog: dialog.accept())
    worker.page.reload()
    worker.page.get_by_role("heading", name="Welcome back").wait_for()
    assert f"You have done 4 of {total} trials" in worker.page.inner_text("body")
    assert [e["position"] for e in worker.outbox()] == [2, 3], "the outbox survives the reload"
    worker.click("Continue")
    worker.click("Continue")  # screen check; no practice on a return visit
    worker.page.wait_for_selector('.pl-trial[data-phase="respond"]')
    assert worker.progress() == f"Trial 5 of {total}"

    worker.page.unroute(ANSWERS)
    for _ in range(4, total):
        worker.answer("ArrowRight")
    worker.page.locator(".pl-code").wait_for()
    assert stored_positions(assignment) == list(range(total))
    assert worker.outbox() == []
    assert not worker.page.get_by_text(OFFLINE).is_visible()


def test_answers_given_while_the_network_fails_are_stored_exactly_once(worker, study):
    """Three answers meet a dead network; two more are stored but their acknowledgement is lost,
    so the browser retries them with the same UUID. The server must end with one row each."""
    posts = Counter()  # position -> POSTs the browser made
    lost_acks = Counter()

    def flaky(route):
        position = route.request.post_data_json["position"]
        posts[position] += 1
        if position in (1, 2, 3) and posts[position] <= 3:
            route.abort()  # never reached the server
        elif position in (4, 5) and posts[position] == 1:
            route.fetch()  # reached the server and was stored…
            lost_acks[position] += 1
            route.abort("connectionreset")  # …but the browser never hears back
        else:
            route.continue_()

    worker.enter(study)
    assignment = Assignment.objects.get(token=worker.token)
    worker.page.route(ANSWERS, flaky)
    worker.start(practice_key="ArrowLeft")
    for position in range(assignment.total):
        worker.answer("ArrowLeft" if position % 2 else "ArrowRight")
        if position == 1:
            worker.page.get_by_text(OFFLINE).wait_for()
    worker.page.locator(".pl-code").wait_for()

    responses = list(Response.objects.filter(assignment=assignment).select_related("item"))
    assert Counter(r.item.position for r in responses) == Counter(range(assignment.total))
    assert all(posts[p] >= 4 for p in (1, 2, 3)), posts
    assert lost_acks == {4: 1, 5: 1} and all(posts[p] >= 2 for p in (4, 5)), posts
    assert worker.outbox() == []
    assert not worker.page.get_by_text(OFFLINE).is_visible()


def test_the_prolific_redirect_comes_only_after_every_answer_is_stored(worker, alice):
    study = make_live_study(
        alice,
        kind="2afc",
        trials=6,
        sentinels=1,
        practice=1,
        break_every=0,
        completion_url="https://app.prolific.com/submissions/complete?cc={code}",
    )
    redirects = []  # (url, answers stored at that moment)

    def prolific(route):
        redirects.append(
            (route.request.url, Response.objects.filter(assignment=assignment).count())
        )
        route.fulfill(status=200, content_type="text/html", body="<h1>Prolific</h1>")

    last_posts = Counter()

    def slow_last_answer(route):
        # The final answer fails four times, so the finish page is reached with it still unsent.
        if route.request.post_data_json["position"] == assignment.total - 1:
            last_posts["tries"] += 1
            if last_posts["tries"] <= 4:
                route.abort()
                return
        route.continue_()

    worker.enter(study, prolific_pid="PID123")
    assignment = Assignment.objects.get(token=worker.token)
    worker.page.context.route("https://app.prolific.com/**", prolific)
    worker.page.route(ANSWERS, slow_last_answer)
    worker.start(practice_key="ArrowLeft")
    for _ in range(assignment.total):
        worker.answer("ArrowLeft")
    worker.page.get_by_role("heading", name="Saving your answers…").wait_for()
    assert redirects == []

    worker.page.wait_for_url("https://app.prolific.com/**")
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.COMPLETED
    assert len(redirects) == 1
    url, stored_then = redirects[0]
    assert stored_then == assignment.total
    assert parse_qs(urlparse(url).query)["cc"] == [assignment.completion_code]
    assert last_posts["tries"] == 5
