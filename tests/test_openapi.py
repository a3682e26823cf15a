"""The OpenAPI schema generates without warnings and validates (drf-spectacular --validate)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/studies/{id}/transition/" in schema["paths"]


@pytest.mark.django_db
def test_docs_pages_are_served_to_researchers(client, alice):
    client.force_login(alice)
    assert client.get("/api/schema/").status_code == 200
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert "swagger-ui" in page.content.decode().lower()
    assert "cdn" not in page.content.decode().lower()


@pytest.mark.django_db
def test_schema_and_docs_are_not_public_by_default(client, django_user_model):
    """PERCEPTLAB_PUBLIC_API_DOCS defaults to false: anonymous users and non-staff accounts get
    no schema (it lists every endpoint and field)."""
    for path in ("/api/schema/", "/api/docs/"):
        assert client.get(path).status_code in (401, 403), path
    client.force_login(django_user_model.objects.create_user("worker", password="pw-worker-1"))
    for path in ("/api/schema/", "/api/docs/"):
        assert client.get(path).status_code == 403, path
