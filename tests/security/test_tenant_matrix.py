"""The tenant matrix, generated: every object endpoint of the OpenAPI schema (every path with an
id parameter, every method), every page with an id, and the change/delete/history pages of
every model in the admin registry, tried on a researcher's (Alice's) objects by another
researcher, by a logged-in non-researcher and anonymously. All are denied, and nothing is
written:

- another researcher gets exactly what an id that does not exist gets (404: foreign ids look
  missing); a non-researcher and an anonymous caller get 401/403 (pages and admin: the login
  page);
- body fields that name objects (`study`, `image_set`, … by id) or metrics (`fitted:<id>`,
  `uploaded:<id>`) get the answer of a missing id when they name Alice's;
- controls show each request reaches the object: Alice gets past the lookup (not 401/403/404),
  and the other researcher's own reference is not answered as missing.

New endpoints are covered without editing this file; one whose id names a kind that
`tests/security/world.py` does not build fails `test_every_object_endpoint_has_a_fixture_object`.
Requests run inside a savepoint that is rolled back, so each one sees the same world.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import transaction
from django.urls import reverse

from common.admin_mixins import ResearcherScopedAdmin
from tests.security.schema import (
    METRIC_REF_FIELDS,
    MISSING_ID,
    OBJECT_KINDS,
    changed,
    object_operations,
    object_pages,
    openapi_schema,
    snapshot,
)
from tests.security.world import build_world

pytestmark = pytest.mark.django_db

SCHEMA = openapi_schema()
OPERATIONS = object_operations(SCHEMA)
PAGES = object_pages()
PERSONAS = ("other researcher", "non-researcher", "anonymous")


@pytest.fixture
def people(alice, charlie, django_user_model):
    return {
        "owner": alice,
        "other researcher": charlie,
        "non-researcher": django_user_model.objects.create_user("visitor", password="pw-visit-1"),
        "anonymous": None,
    }


@pytest.fixture
def worlds(alice, charlie):
    return {"owner": build_world(alice), "other researcher": build_world(charlie)}


def _login(client, user, *, token: bool):
    """Researchers call the API with their token, everyone else with a session (or nothing)."""
    client.logout()
    client.credentials()
    if user is None:
        return client
    if token and user.is_staff:
        from tests.factories import api_key

        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user, name='matrix')}")
    else:
        client.force_login(user)
    return client


def _ids(target, world, *, missing: bool = False) -> dict:
    values = {}
    for param in target.id_params:
        kind = target.kind_of(param)
        values[param] = MISSING_ID if missing else world[kind].pk
    return values


def _send(client, target, url, **body_overrides):
    if hasattr(target, "example_body"):
        body, fmt = target.example_body(**body_overrides)
        return getattr(client, target.method)(url, body, format=fmt)
    return client.get(url)


def _answer(response) -> tuple[int, object]:
    """What a caller learns: the status and the body (JSON when it is JSON)."""
    if response.get("Content-Type", "").startswith("application/json"):
        return response.status_code, response.json()
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, content


def _rolled_back(send, *args, **kwargs):
    """Run `send(*args, **kwargs)` in a savepoint, return (response, snapshot after it), undo
    its writes."""
    with transaction.atomic():
        response = send(*args, **kwargs)
        after = snapshot()
        transaction.set_rollback(True)
    return response, after


def test_every_object_endpoint_has_a_fixture_object():
    assert len(OPERATIONS) >= 40 and PAGES, "the schema or the URL map lost its object endpoints"
    unknown = [
        f"{target}: no fixture object for {{{param}}}"
        for target in [*OPERATIONS, *PAGES]
        for param in target.id_params
        if target.kind_of(param) is None
    ]
    assert not unknown, "add these kinds to tests/security/world.py:\n" + "\n".join(unknown)


def _blank_ids(answer, ids) -> str:
    """The answer with the ids it echoes blanked ("Study 7 not found." names the id asked)."""
    text = str(answer)
    for value in ids:
        text = re.sub(rf"\b{value}\b", "<id>", text)
    return text


def _targets():
    """API operations, then pages; reads before writes, deletes last (for the controls)."""
    order = {"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}
    return sorted([*OPERATIONS, *PAGES], key=lambda t: (order[getattr(t, "method", "get")], str(t)))


@pytest.mark.parametrize("persona", PERSONAS)
def test_object_endpoints_deny_everyone_but_their_researchers(api, client, people, worlds, persona):
    world = worlds["owner"]
    _login(api, people[persona], token=True)
    if people[persona] is not None:
        client.force_login(people[persona])
    before = snapshot()
    failures = []
    for target in _targets():
        if any(target.kind_of(p) is None for p in target.id_params):
            continue  # reported by test_every_object_endpoint_has_a_fixture_object
        caller = api if target in OPERATIONS else client
        ids = _ids(target, world)
        response, after = _rolled_back(_send, caller, target, target.url(ids))
        if changed(before, after):
            failures.append(f"{target}: wrote {changed(before, after)}")
        if persona == "other researcher":
            missing = _send(caller, target, target.url(_ids(target, world, missing=True)))
            blanked = [*ids.values(), MISSING_ID]
            if response.status_code != 404 or _blank_ids(_answer(response), blanked) != (
                _blank_ids(_answer(missing), blanked)
            ):
                failures.append(
                    f"{target}: {_answer(response)} for Alice's id, {_answer(missing)} for a "
                    "missing one (must be the same 404)"
                )
        elif target in OPERATIONS and response.status_code not in (401, 403):
            failures.append(f"{target}: {response.status_code} (expected 401/403)")
        elif target in PAGES and response.status_code not in (302, 401, 403, 404):
            failures.append(f"{target}: {response.status_code} (expected refusal)")
    assert not failures, f"{persona}:\n" + "\n".join(failures)


def test_the_owner_gets_past_every_lookup(api, client, people, worlds):
    """The control: each request above names a real object its researcher can reach."""
    world = worlds["owner"]
    _login(api, people["owner"], token=True)
    client.force_login(people["owner"])
    failures = []
    for target in _targets():
        caller = api if target in OPERATIONS else client
        response, _ = _rolled_back(_send, caller, target, target.url(_ids(target, world)))
        if response.status_code in (401, 403, 404) or response.status_code >= 500:
            failures.append(f"{target}: {_answer(response)}")
    assert not failures, "\n".join(failures)


def _reference_fields():
    """(operation, field, kind): body fields that name an object or a metric."""
    for op in object_operations(SCHEMA) + [o for o in _all_operations() if not o.id_params]:
        for name in op.body_fields():
            if name in OBJECT_KINDS:
                yield op, name, name
            elif name in METRIC_REF_FIELDS:
                yield op, name, "fit_run"
                yield op, name, "uploaded_metric"


def _all_operations():
    from tests.security.schema import operations

    return operations(SCHEMA)


def _ref(kind: str, obj) -> object:
    if kind == "fit_run":
        return f"fitted:{obj.pk if obj else MISSING_ID}"
    if kind == "uploaded_metric":
        return f"uploaded:{obj.pk if obj else MISSING_ID}"
    return obj.pk if obj else MISSING_ID


def _blank(answer, ref) -> tuple:
    status, body = answer
    return status, str(body).replace(str(ref), "<ref>")


def test_body_references_to_another_researchers_objects_look_missing(api, people, worlds):
    fields = list(_reference_fields())
    assert {(f, k) for _, f, k in fields} >= {
        ("metric", "fit_run"),
        ("metric", "uploaded_metric"),
        ("image_set", "image_set"),
    }, "the schema lost the reference fields this test is known to cover"
    own, foreign = worlds["other researcher"], worlds["owner"]
    client = _login(api, people["other researcher"], token=True)
    before = snapshot()
    failures = []
    for op, name, kind in fields:
        url = op.url(_ids(op, own))
        refs = {"foreign": _ref(kind, foreign[kind]), "missing": _ref(kind, None)}
        answers = {}
        for label, ref in refs.items():
            response, after = _rolled_back(_send, client, op, url, **{name: ref})
            answers[label] = _blank(_answer(response), ref)
            if changed(before, after):
                failures.append(f"{op} {name}={ref}: wrote {changed(before, after)}")
        if answers["foreign"] != answers["missing"] or not 400 <= answers["missing"][0] < 500:
            failures.append(f"{op} {name}: {answers['foreign']} vs missing {answers['missing']}")
        mine = _ref(kind, own[kind])
        response, _ = _rolled_back(_send, client, op, url, **{name: mine})
        if _blank(_answer(response), mine) == answers["missing"]:
            failures.append(f"{op} {name}: his own {mine} is answered as missing (no control)")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# The admin registry
# ---------------------------------------------------------------------------------------------


def _admin_object(model, model_admin, world, request_user):
    """The world's object of `model` (its concrete model for proxies) that the model's admin
    shows to its owner; for models outside the tenant rule (users, groups, tokens), Alice's."""
    concrete = model._meta.concrete_model
    candidates = [obj for obj in world.values() if type(obj)._meta.concrete_model is concrete]
    if isinstance(model_admin, ResearcherScopedAdmin):
        from django.test import RequestFactory

        request = RequestFactory().get("/admin/")
        request.user = request_user
        visible = model_admin.get_queryset(request)
        candidates = [obj for obj in candidates if visible.filter(pk=obj.pk).exists()]
    if not candidates:
        return None
    # As the admin sees it (a proxy may number its objects otherwise: tokens by user id).
    return model._default_manager.get(pk=candidates[0].pk)


def _admin_urls(model, obj) -> dict[str, str]:
    meta = model._meta
    return {
        view: reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])
        for view in ("change", "delete", "history")
    }


# Sample values for the other parameters of custom admin pages (e.g. a stepper button's key).
CUSTOM_PAGE_ARGS = {"key": "generate"}


def _custom_admin_urls(model_admin, obj) -> dict[str, str]:
    """The model admin's own pages of an object (`<int:pk>/…/` in get_urls: the preview, the
    stepper's buttons and JSON, the distortion picker, the uploader, progress, pilot): new ones
    are covered as they land."""
    from django.urls import URLPattern

    urls = {}
    for pattern in model_admin.get_urls():
        route = str(getattr(pattern, "pattern", ""))
        if not isinstance(pattern, URLPattern) or "<int:pk>" not in route or not pattern.name:
            continue
        if pattern.name.endswith(("_change", "_delete", "_history")):
            continue
        kwargs = {"pk": obj.pk}
        for name in pattern.pattern.converters:
            if name != "pk":
                kwargs[name] = CUSTOM_PAGE_ARGS[name]
        urls[pattern.name] = reverse(f"admin:{pattern.name}", kwargs=kwargs)
    return urls


def test_every_registered_model_has_a_fixture_object(people, worlds):
    missing = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if _admin_object(model, model_admin, worlds["owner"], people["owner"]) is None
    ]
    assert not missing, f"add objects of {missing} to tests/security/world.py"


@pytest.mark.parametrize("persona", PERSONAS)
def test_admin_pages_of_alices_objects_are_denied(client, people, worlds, persona):
    if people[persona] is not None:
        client.force_login(people[persona])
    before = snapshot()
    failures = []
    for model, model_admin in admin.site._registry.items():
        obj = _admin_object(model, model_admin, worlds["owner"], people["owner"])
        if obj is None:
            continue  # reported by test_every_registered_model_has_a_fixture_object
        pages = {**_admin_urls(model, obj), **_custom_admin_urls(model_admin, obj)}
        for view, url in pages.items():
            for method, data in (("get", None), ("post", {"post": "yes", "name": "taken"})):
                response, after = _rolled_back(getattr(client, method), url, data)
                where = f"{method.upper()} {url} ({model._meta.label} {view})"
                if changed(before, after):
                    failures.append(f"{where}: wrote {changed(before, after)}")
                if response.status_code == 302:
                    location = response["Location"]
                    if not (location == reverse("admin:index") or "/admin/login/" in location):
                        failures.append(f"{where}: redirected to {location}")
                elif response.status_code not in (403, 404):
                    failures.append(f"{where}: {response.status_code}")
                elif str(obj) in response.content.decode(errors="replace"):
                    failures.append(f"{where}: names the object ({obj})")
    assert not failures, f"{persona}:\n" + "\n".join(failures)


def test_admin_pages_open_for_their_owner(client, people, worlds, admin_user):
    """The control: the same pages open for Alice (for users, groups, tokens: a superuser)."""
    failures = []
    for model, model_admin in admin.site._registry.items():
        obj = _admin_object(model, model_admin, worlds["owner"], people["owner"])
        scoped = isinstance(model_admin, ResearcherScopedAdmin)
        client.force_login(people["owner"] if scoped else admin_user)
        for view, url in _admin_urls(model, obj).items():
            if view == "delete" and not model_admin.has_delete_permission(
                _request(people["owner"] if scoped else admin_user), obj
            ):
                continue  # read-only models: their delete page is 403 for everyone
            response = client.get(url)
            if response.status_code != 200:
                failures.append(f"GET {url} ({model._meta.label} {view}): {response.status_code}")
    assert not failures, "\n".join(failures)


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_the_matrix_covers_custom_admin_pages(people, worlds):
    names = set()
    for model, model_admin in admin.site._registry.items():
        obj = _admin_object(model, model_admin, worlds["owner"], people["owner"])
        if obj is not None:
            names |= set(_custom_admin_urls(model_admin, obj))
    assert {
        "studies_study_preview",
        "studies_study_distortions",
        "studies_study_steps",
        "studies_study_step",
        "studies_imageset_upload",
    } <= names, names
