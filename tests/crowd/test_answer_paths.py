"""The answer endpoint's fast paths (issue #12, performance) behave exactly as the slow ones.

Reception: an answer POSTed as the worker page sends it (JSON, a plainly valid body) is handled
without DRF's request wrapping (`AnswerApi.dispatch`); anything else goes through DRF. Both must
give the same statuses, bodies and headers.

Storage on PostgreSQL: a regular answer is one prepared statement in autocommit, an answer at a
QC checkpoint that statement and QC in one transaction; everything else (errors, retries) and
every answer on SQLite takes the ORM transaction. The rest of tests/crowd runs through whichever
path the database gives; the tests here pin what only the PostgreSQL statement could get wrong:
one round trip, rows locked before they are read, exactly once under concurrent requests.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from common.exceptions import ConflictError, DomainError
from crowd import apis, services
from crowd.models import Participant, Response, TrialLoad
from tests.factories import make_live_study

pytestmark = pytest.mark.django_db


def enter(study, pid):
    return services.participant_enter(
        study=study, entry=services.Entry("prolific", pid, session_id=f"session-of-{pid}")
    )


def body(position, answer="left", client_uuid=None, **extra):
    return {
        "client_uuid": client_uuid or str(uuid.uuid4()),
        "position": position,
        "answer": answer,
        "rt_ms": 800,
        **extra,
    }


def post(client, token, data, **headers):
    payload = data if isinstance(data, str) else json.dumps(data)
    return client.post(
        f"/w/{token}/api/answers", payload, content_type="application/json", **headers
    )


def seen(response) -> tuple:
    return (
        response.status_code,
        re.sub(rb"Position \d+", b"Position N", response.content),  # layouts differ
        response["Content-Type"],
        response.get("Allow"),
        response.get("Vary"),
    )


def scenario(client, study, pid, **headers) -> list[tuple]:
    """Every outcome of an answer, on a fresh assignment of `study`."""
    assignment = enter(study, pid)
    items = list(assignment.items.select_related("trial").order_by("position"))
    regular = [i for i in items if not (i.trial.is_sentinel or i.is_repeat)]
    sentinel = next(i for i in items if i.trial.is_sentinel)
    first = body(regular[0].position)
    return [
        seen(post(client, assignment.token, first, **headers)),  # stored
        seen(post(client, assignment.token, first, **headers)),  # a retry
        seen(post(client, assignment.token, body(regular[0].position), **headers)),  # taken
        seen(post(client, assignment.token, body(999), **headers)),  # no such position
        seen(post(client, assignment.token, body(regular[1].position, "same"), **headers)),
        seen(post(client, assignment.token, body(sentinel.position), **headers)),  # checkpoint
        seen(post(client, "no-such-token", body(0), **headers)),
        seen(post(client, assignment.token, body(regular[1].position), **headers)),
    ]


def test_the_direct_path_and_drf_answer_alike(client, alice, monkeypatch):
    study = make_live_study(alice, trials=8, sentinels=2, needed=3)
    # An Accept header the direct path leaves to DRF's content negotiation.
    through_drf = scenario(client, study, "P-drf", HTTP_ACCEPT="application/json, */*")

    def not_here(*args, **kwargs):
        raise AssertionError("the answer went through DRF")

    monkeypatch.setattr(apis.AnswerApi, "post", not_here)
    direct = scenario(client, study, "P-direct")
    assert [s[0] for s in direct] == [201, 200, 409, 400, 400, 201, 404, 201]
    assert direct == through_drf


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ('{"client_uuid": "%s", "position": 0, "answer": "left", "rt_ms": NaN}', 400),
        ('{"client_uuid": "%s", "position": 0, "answer": "left", "rt_ms": 1, '
         '"display": {"x": Infinity}}', 400),
        ('{"client_uuid": "%s", "position": true, "answer": "left", "rt_ms": 1}', 400),
        ('{"client_uuid": "%s", "position": 0, "answer": "left", "rt_ms": 1, "display": null}', 400),
        ('["%s"]', 400),
        ('{"client_uuid": "%s", "position": "0", "answer": "left", "rt_ms": "900"}', 201),
        ('{"client_uuid": "%s", "position": 0.0, "answer": "left", "rt_ms": 900}', 201),
    ],
)  # fmt: skip
def test_bodies_the_direct_path_leaves_to_drf_get_drfs_answers(client, alice, payload, status):
    study = make_live_study(alice, trials=4, sentinels=0, needed=2, sentinel_rate=0.0)
    assignment = enter(study, "P1")
    response = post(client, assignment.token, payload % uuid.uuid4())
    assert response.status_code == status, response.content
    assert Response.objects.count() == (1 if status == 201 else 0)
    if status == 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


# ---------------------------------------------------------------------------------------------
# The PostgreSQL statement
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement answer is PostgreSQL's (CI sets DATABASE_URL)")


def record(assignment, position, answer="left", client_uuid=None):
    return services.response_record(
        assignment_token=assignment.token,
        client_uuid=client_uuid or uuid.uuid4(),
        position=position,
        answer=answer,
        rt_ms=700,
        display={"dpr": 2},
        timing={},
    )


def _parallel(fn, n: int) -> list:
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return fn(i)
        except DomainError as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.postgres
def test_a_regular_answer_is_one_statement_and_a_checkpoint_one_transaction(alice):
    study = make_live_study(alice, trials=6, sentinels=1, needed=2)
    assignment = enter(study, "P1")
    items = list(assignment.items.select_related("trial").order_by("position"))
    regular = [i for i in items if not (i.trial.is_sentinel or i.is_repeat)]
    record(assignment, regular[0].position)  # prepares the statement on this connection
    with CaptureQueriesContext(connection) as queries:
        result = record(assignment, regular[1].position)
    assert [q["sql"].split()[0] for q in queries] == ["EXECUTE"]
    assert (result.duplicate, result.answered) == (False, 2)
    stored = Response.objects.get(pk=result.response.pk)
    assert (stored.item_id, stored.choice, stored.rt_ms, stored.display) == (
        regular[1].pk,
        "p1" if regular[1].swapped else "p0",
        700,
        {"dpr": 2},
    )
    sentinel = next(i for i in items if i.trial.is_sentinel)
    right = "right" if sentinel.swapped else "left"  # its expected p0 (a miss would exclude)
    with CaptureQueriesContext(connection) as queries:
        record(assignment, sentinel.position, right)
    # The statement that stores nothing at a checkpoint, then the transaction: the statement,
    # the participant's lock, their answers, their QC state.
    statements = [q["sql"].split()[0] for q in queries]
    statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]  # the test's
    assert statements == ["EXECUTE", "EXECUTE", "SELECT", "SELECT", "UPDATE"]
    participant = Participant.objects.get(pk=assignment.participant_id)
    assert participant.qc_stats["answers"] == 3


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.parametrize("same_uuid", [True, False])
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_answers_to_one_item_store_one(alice, same_uuid):
    study = make_live_study(
        alice, trials=5, sentinels=0, needed=1, assignment_size=5, sentinel_rate=0.0
    )
    assignment = enter(study, "P1")
    shared = uuid.uuid4()
    results = _parallel(
        lambda i: record(assignment, 0, client_uuid=shared if same_uuid else None).duplicate, 8
    )
    stored = [r for r in results if r is False]
    assert len(stored) == 1
    if same_uuid:
        assert results.count(True) == 7
    else:
        assert [e.code for e in results if isinstance(e, ConflictError)] == ["already_answered"] * 7
    assert Response.objects.count() == 1
    load = TrialLoad.objects.get(pk=assignment.items.get(position=0).trial_id)
    assert (load.valid_count, load.leased_count) == (1, 0)
    assignment.refresh_from_db()
    assert assignment.answered == 1


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_answers_to_every_item_of_one_assignment_each_count_once(alice):
    study = make_live_study(
        alice, trials=6, sentinels=0, needed=1, assignment_size=6, sentinel_rate=0.0
    )
    assignment = enter(study, "P1")
    results = _parallel(lambda i: record(assignment, i).answered, 6)
    assert sorted(results) == [1, 2, 3, 4, 5, 6]  # serialised by the assignment's lock
    assignment.refresh_from_db()
    assert assignment.answered == 6
    loads = TrialLoad.objects.filter(trial__study=study)
    assert {(load.valid_count, load.leased_count) for load in loads} == {(1, 0)}


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_an_answer_waiting_for_an_exclusion_reads_the_item_after_it(alice):
    """The statement's snapshot predates the exclusion it waits for; the item, locked, is read
    again after the exclusion committed, so its answer no longer counts."""
    study = make_live_study(
        alice, trials=6, sentinels=0, needed=1, assignment_size=6, sentinel_rate=0.0
    )
    assignment = enter(study, "P1")
    participant = Participant.objects.get(pk=assignment.participant_id)
    trial_id = assignment.items.get(position=0).trial_id
    excluding = threading.Event()
    answered = {}

    def exclude():
        try:
            with transaction.atomic():
                services.participant_set_excluded(participant=participant, excluded=True)
                excluding.set()
                # Commit only once the answer waits for the assignment's lock.
                deadline = time.monotonic() + 10
                with connections["default"].cursor() as cursor:
                    while time.monotonic() < deadline:
                        cursor.execute(
                            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                            "ON a.pid = l.pid WHERE NOT l.granted AND a.query LIKE 'EXECUTE%%'"
                        )
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.02)
        finally:
            connections.close_all()

    def answer():
        excluding.wait(10)
        try:
            answered["result"] = record(assignment, 0)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=exclude), threading.Thread(target=answer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answered["result"].duplicate is False  # stored: an excluded person's answers are kept
    load = TrialLoad.objects.get(pk=trial_id)
    assert (load.valid_count, load.leased_count) == (0, 0), "the answer counted after exclusion"


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_checkpoint_aborted_by_a_deadlock_is_tried_again(alice, monkeypatch):
    study = make_live_study(
        alice, trials=3, sentinels=0, needed=1, assignment_size=3, sentinel_rate=0.0
    )
    assignment = enter(study, "P1")
    record(assignment, 0)
    record(assignment, 1)
    qc_update, calls = services._qc_update, []

    def deadlocked_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:  # PostgreSQL aborting this transaction to break a deadlock
            with connection.cursor() as cursor:
                cursor.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = 'deadlock_detected'; "
                    "END $$"
                )
        return qc_update(**kwargs)

    monkeypatch.setattr(services, "_qc_update", deadlocked_once)
    result = record(assignment, 2)  # the last item: a checkpoint
    assert len(calls) == 2
    assert (result.duplicate, result.answered) == (False, 3)
    assert Response.objects.filter(assignment=assignment).count() == 3
    assert Participant.objects.get(pk=assignment.participant_id).qc_stats["answers"] == 3
    assert TrialLoad.objects.filter(trial__study=study, valid_count=1).count() == 3


@pytest.mark.usefixtures("_postgres_only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_session_that_lost_the_prepared_statement_prepares_it_again(alice):
    study = make_live_study(
        alice, trials=4, sentinels=0, needed=1, assignment_size=4, sentinel_rate=0.0
    )
    assignment = enter(study, "P1")
    record(assignment, 0)  # prepared on this connection
    # Lost before a regular answer (autocommit) and before the last one (a transaction).
    for position, lost in ((1, True), (2, False), (3, True)):
        if lost:
            with connection.cursor() as cursor:
                cursor.execute("DEALLOCATE ALL")  # as a pooler's reset would
        assert record(assignment, position).duplicate is False
    assert Response.objects.filter(assignment=assignment).count() == 4
    assert Participant.objects.get(pk=assignment.participant_id).qc_stats["answers"] == 4
