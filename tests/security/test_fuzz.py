"""Property-based fuzzing of the whole API (Schemathesis) with a researcher's token: every
operation of the OpenAPI schema gets generated valid and invalid requests (bodies, query
strings, path ids: random ones, and ids of the researcher's own objects so the requests reach
the services), derandomized so every run sends the same requests. No response may be a 5xx.

The app runs in-process through Schemathesis' WSGI transport (Django's WSGI handler, in the
test's transaction); each request runs in a savepoint that is kept (the world evolves as a
real one would: deleted objects stay deleted), unless it failed, so a broken request cannot
poison the ones after it.
"""

from __future__ import annotations

import collections
import os
import traceback

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.factories import api_key
from tests.security.schema import Operation, openapi_schema
from tests.security.world import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# A longer hunt: PERCEPTLAB_FUZZ_EXAMPLES=200 (CI keeps 25: about 1,500 requests).
EXAMPLES_PER_OPERATION = int(os.environ.get("PERCEPTLAB_FUZZ_EXAMPLES", "25"))
MIN_REQUESTS = 1_000


@pytest.fixture
def wsgi_app():
    """Django's WSGI app, as the test client runs it: requests must not close the test's
    database connection (Django's handler does at request start and end)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def server_errors():
    """Tracebacks of exceptions that reached Django's handler (each one a 500)."""
    caught: list[str] = []

    def record(sender, request=None, **kwargs):
        caught.append(f"{request.method} {request.get_full_path()}\n{traceback.format_exc()}")

    signals.got_request_exception.connect(record)
    yield caught
    signals.got_request_exception.disconnect(record)


def _own_ids(operation: Operation, world: dict) -> dict:
    """Path parameters naming the researcher's own objects (and a live assignment's token)."""
    values = {}
    for param in operation.path_params:
        kind = operation.kind_of(param) if param in operation.id_params else None
        if kind:
            values[param] = world[kind].pk
        elif param == "token":
            values[param] = world["assignment"].token
    return values


def test_no_request_gets_a_server_error(alice, wsgi_app, server_errors):
    world = build_world(alice)
    # Its own key, not the world's token: a fuzzed revoke or rotate of that one must not lock
    # the fuzzer out.
    headers = {"Authorization": f"Token {api_key(alice, name='fuzzer')}"}
    raw = openapi_schema()
    schema = schemathesis.openapi.from_dict(raw)
    ours = {(op.method, op.path): op for op in _operations(raw)}
    sent: list[tuple[str, int]] = []
    failures: list[str] = []

    # Deletes last: the objects they remove are the ones the other operations are aimed at.
    api_operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: (op.method.lower() == "delete", op.path, op.method),
    )
    for api_operation in api_operations:
        operation = ours[(api_operation.method.lower(), api_operation.path)]
        own = _own_ids(operation, world)
        strategies = [api_operation.as_strategy(mode) for mode in GenerationMode]
        if own:  # two in three requests aimed at the researcher's own objects
            strategies += 2 * [
                api_operation.as_strategy(mode, path_parameters=own) for mode in GenerationMode
            ]

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def fuzz(case):
            with transaction.atomic():
                response = case.call(app=wsgi_app, headers=headers, base_url="http://testserver")
                sent.append((f"{case.method} {case.path}", response.status_code))
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    failures.append(
                        f"{response.status_code} {case.method} {case.formatted_path} "
                        f"path={case.path_parameters} query={case.query} body={case.body!r:.300}"
                    )

        fuzz()

    import json

    by_op = collections.defaultdict(collections.Counter)
    for name, code in sent:
        by_op[name][code] += 1
    print(json.dumps({k: dict(v) for k, v in sorted(by_op.items())}, indent=0))
    print(f"{len(sent)} requests over {len({name for name, _ in sent})} operations")
    assert len(sent) >= MIN_REQUESTS
    assert not failures, "\n".join(failures) + "\n\n" + "\n".join(server_errors[:5])


def _operations(raw):
    from tests.security.schema import operations

    return operations(raw)
