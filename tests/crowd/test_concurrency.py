"""50 participants arriving at once never over-allocate a trial (PostgreSQL row locks)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from common.exceptions import DomainError
from crowd import services
from crowd.models import AssignmentItem, Response, TrialLoad
from tests.factories import make_live_study

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock concurrency is tested on PostgreSQL (CI sets DATABASE_URL)")


def _parallel(fn, n: int) -> list:
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()  # release every thread at the same moment
        try:
            return fn(i)
        except DomainError as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_fifty_concurrent_arrivals_never_over_allocate(alice):
    study = make_live_study(
        alice, trials=30, sentinels=0, needed=2, assignment_size=10, sentinel_rate=0.0
    )
    results = _parallel(
        lambda i: (
            services.participant_enter(
                study=study, entry=services.Entry("prolific", f"worker-{i}")
            ).pk
        ),
        50,
    )
    assignments = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert {e.code for e in refused} <= {"study_full"}
    assert len(assignments) + len(refused) == 50
    loads = TrialLoad.objects.filter(trial__study=study).select_related("trial")
    assert loads.count() == 30
    for load in loads:
        items = AssignmentItem.objects.filter(trial=load.trial, counts=True).count()
        assert load.leased_count == items <= load.trial.judgments_needed, load
    # Every slot was handed out exactly once: 30 trials × 2 judgments.
    assert AssignmentItem.objects.filter(trial__study=study, counts=True).count() == 60


def test_concurrent_retries_of_one_answer_store_it_once(alice):
    study = make_live_study(
        alice, trials=5, sentinels=0, needed=1, assignment_size=5, sentinel_rate=0.0
    )
    assignment = services.participant_enter(study=study, entry=services.Entry("prolific", "p"))
    client_uuid = uuid.uuid4()
    results = _parallel(
        lambda i: (
            services.response_record(
                assignment_token=assignment.token,
                client_uuid=client_uuid,
                position=0,
                answer="left",
                rt_ms=500,
                display={},
                timing={},
            ).duplicate
        ),
        8,
    )
    assert sorted(results) == [False] + [True] * 7
    assert Response.objects.count() == 1
    assert TrialLoad.objects.get(pk=assignment.items.get(position=0).trial_id).valid_count == 1
