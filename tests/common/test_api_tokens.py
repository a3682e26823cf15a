"""Researchers' API tokens: made, shown once, rotated and revoked in the admin and the API; a
key works on every researcher endpoint (driven by the OpenAPI schema, downloads and pages
included) until it is rotated or revoked; nobody sees or touches another researcher's tokens."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse

from analysis.models import Export
from common import tokens
from common.models import ApiToken
from tests.security.schema import object_pages, openapi_schema, operations
from tests.security.world import build_world

pytestmark = pytest.mark.django_db

SCHEMA = openapi_schema()
# Researcher GETs: not the public ones (health, a worker's session, published boards), which
# answer anyone whatever the header says.
GETS = [
    op
    for op in operations(SCHEMA)
    if op.method == "get" and {} not in op.operation.get("security", [{}])
]


def _auth(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def _values(target, world) -> dict:
    values = {}
    for param in target.path_params if hasattr(target, "path_params") else target.id_params:
        kind = target.kind_of(param)
        values[param] = world[kind].pk if kind else None
    return values


def _ready_export(world) -> Export:
    export = Export.objects.create(
        dataset=world["dataset"], kind=Export.Kind.CSV, status=Export.Status.READY, size=4
    )
    export.file.save("tokens.csv", ContentFile(b"a,b\n"))
    return export


def _answers(client, world, key: str) -> dict[str, int]:
    """Status of every GET of the schema (with the researcher's own ids) and of every page with
    an id, plus the downloads, called with `key`."""
    out = {}
    for op in GETS:
        out[str(op)] = client.get(op.url(_values(op, world)), **_auth(key)).status_code
    for page in object_pages():
        out[str(page)] = client.get(page.url(_values(page, world)), **_auth(key)).status_code
    export = _ready_export(world)
    download = client.get(reverse("analysis-export-download", args=[export.pk]), **_auth(key))
    out["export download"] = download.status_code
    board = f"/leaderboards/{world['dataset'].pk}/?format=csv"
    out["leaderboard csv"] = client.get(board, **_auth(key)).status_code
    return out


def test_a_key_works_everywhere_until_rotated_or_revoked(client, alice):
    world = build_world(alice)
    token, key = tokens.api_token_create(user=alice, name="laptop")
    answers = _answers(client, world, key)
    assert len(answers) >= 25
    refused = {k: v for k, v in answers.items() if v in (401, 403, 404) or v >= 500}
    assert not refused, refused
    assert answers["export download"] == 200 and answers["leaderboard csv"] == 200

    _token, new_key = tokens.api_token_rotate(token=token)
    old = _answers(client, world, key)
    assert set(old.values()) == {401}, {k: v for k, v in old.items() if v != 401}
    assert client.get("/api/datasets/", **_auth(new_key)).status_code == 200

    tokens.api_token_revoke(token=token)
    assert set(_answers(client, world, new_key).values()) == {401}


def test_only_the_hash_is_stored(alice):
    token, key = tokens.api_token_create(user=alice, name="laptop")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in str(row) and row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith("pl_") and len(key) > 40 and row["prefix"] == key[:10]


def test_the_api_creates_lists_rotates_and_revokes_own_tokens(api, alice):
    api.as_user(alice)
    made = api.post("/api/tokens/", {"name": "CI"}, format="json")
    assert made.status_code == 201 and made.json()["key"].startswith("pl_")
    listed = api.get("/api/tokens/").json()
    assert [t["name"] for t in listed] == ["CI"] and "key" not in listed[0]
    rotated = api.post(f"/api/tokens/{made.json()['id']}/rotate/")
    assert rotated.status_code == 200 and rotated.json()["key"] != made.json()["key"]
    revoked = api.post(f"/api/tokens/{made.json()['id']}/revoke/")
    assert revoked.json()["active"] is False and revoked.json()["revoked_at"]
    again = api.post(f"/api/tokens/{made.json()['id']}/rotate/")
    assert again.status_code == 409 and "revoked" in again.json()["error"]["message"]


def test_a_blank_name_is_refused_and_nothing_written(api, alice):
    response = api.as_user(alice).post("/api/tokens/", {"name": "  "}, format="json")
    assert response.status_code == 400 and "name" in response.json()["error"]["fields"]
    assert not ApiToken.objects.exists()


def test_another_researchers_tokens_are_invisible_in_the_api(api, alice, charlie):
    token, key = tokens.api_token_create(user=alice, name="alice's laptop")
    api.as_user(charlie)
    assert api.get("/api/tokens/").json() == []
    for action in ("rotate", "revoke"):
        response = api.post(f"/api/tokens/{token.pk}/{action}/")
        missing = api.post(f"/api/tokens/999999/{action}/")
        assert response.status_code == missing.status_code == 404
    token.refresh_from_db()
    assert token.is_active and tokens.api_token_for_key(key) is not None


def test_the_admin_shows_a_new_key_once(client, alice):
    client.force_login(alice)
    page = client.post(reverse("admin:common_apitoken_add"), {"name": "laptop"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    token = ApiToken.objects.get(user=alice)
    key = page.context["key"]
    assert key.encode() in page.content and tokens.api_token_for_key(key) == token
    change = client.get(reverse("admin:common_apitoken_change", args=[token.pk]))
    assert change.status_code == 200 and key.encode() not in change.content
    assert token.prefix.encode() in change.content  # recognisable, not usable

    rotated = client.post(reverse("admin:common_apitoken_rotate", args=[token.pk]))
    new_key = rotated.context["key"]
    assert new_key != key and tokens.api_token_for_key(key) is None
    client.post(reverse("admin:common_apitoken_revoke", args=[token.pk]))
    assert tokens.api_token_for_key(new_key) is None
    listing = client.get(reverse("admin:common_apitoken_changelist")).content.decode()
    assert "laptop" in listing and "revoked" in listing


def test_the_admin_hides_another_researchers_tokens(client, alice, charlie, admin_user):
    token, key = tokens.api_token_create(user=alice, name="alice's laptop")
    for user in (charlie, admin_user):  # superusers too: a token is its owner's alone
        client.force_login(user)
        assert (
            b"alice's laptop" not in client.get(reverse("admin:common_apitoken_changelist")).content
        )
        assert client.get(reverse("admin:common_apitoken_change", args=[token.pk])).status_code in (
            302,
            404,
        )
        for action in ("rotate", "revoke"):
            url = reverse(f"admin:common_apitoken_{action}", args=[token.pk])
            assert client.post(url).status_code == 404
    assert tokens.api_token_for_key(key) == token


def test_anonymous_admin_token_pages_ask_for_a_login(client):
    response = client.get(reverse("admin:common_apitoken_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("command", ["create_api_token", "drf_create_token"])
def test_the_command_prints_a_working_key(command, alice, capsys):
    call_command(command, "alice")
    key = capsys.readouterr().out.split()[2]
    assert tokens.api_token_for_key(key).user == alice
    call_command(command, "alice", "-r")
    newer = capsys.readouterr().out.split()[2]
    assert tokens.api_token_for_key(key) is None and tokens.api_token_for_key(newer)


def test_the_command_names_an_unknown_user():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_token", "nobody")


def test_the_schema_lists_allowed_values_and_examples():
    schemas = SCHEMA["components"]["schemas"]
    assert schemas["ExportKindEnum"]["enum"] == ["bapps", "csv", "parquet", "datasheet"]
    export = SCHEMA["paths"]["/api/datasets/{id}/exports/"]["post"]["requestBody"]["content"]
    assert export["application/json"]["examples"]
    download = SCHEMA["paths"]["/api/exports/{id}/download/"]["get"]
    assert {"tokenAuth": []} in download["security"]
    created = SCHEMA["paths"]["/api/tokens/"]["post"]["responses"]["201"]["content"]
    assert "key" in str(created["application/json"]["examples"])


def test_keys_made_by_drfs_authtoken_keep_working_after_the_migration(alice):
    """`common.0002_api_tokens` copies DRF's clear keys as hashes (the table is left behind)."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("common.migrations.0002_api_tokens")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, "
            "created timestamp with time zone)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            ["9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", alice.pk, "2026-01-02T03:04:05Z"],
        )
    # Only the editor's connection is used (SQLite refuses a schema editor inside a transaction).
    migration.adopt_drf_tokens(apps, SimpleNamespace(connection=connection))
    token = tokens.api_token_for_key("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b")
    assert token.user == alice and token.name == "drf authtoken"
    assert token.created_at.year == 2026 and token.created_at.month == 1
