"""One failure policy for generation: a failed step marks the study `failed` with the error
(admin and API show it), and a retry (API endpoint or admin action, one service) finishes the
work, keeping the trials already made."""

from __future__ import annotations

import ast
import html
from pathlib import Path

import pytest

from common.exceptions import ApplicationError, ConflictError
from studies import generation, services, tasks
from studies.models import Study, StudyStatusChange, Trial

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def failing_second_chunk(monkeypatch):
    """`generation_run_chunk` fails on its second call (the first chunk's trials are stored)."""
    real = generation.generation_run_chunk
    calls = []

    def run(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("worker ran out of disk")
        return real(**kwargs)

    monkeypatch.setattr(generation, "generation_run_chunk", run)
    return monkeypatch


def _fail(study, generate):
    with pytest.raises(RuntimeError, match="out of disk"):  # tasks run eagerly in tests
        generate(study)
    study.refresh_from_db()
    return study


def test_a_failed_chunk_marks_the_study_failed_visibly(
    api, client, alice, study, generate, failing_second_chunk
):
    study = _fail(study, generate)
    assert study.status == Study.Status.FAILED
    assert study.error == "RuntimeError: worker ran out of disk"
    body = api.as_user(alice).get(f"/api/studies/{study.pk}/").json()
    assert (body["status"], body["error"], body["generation_error"]) == (
        "failed",
        study.error,
        study.error,
    )
    assert body["allowed_transitions"] == ["generating", "draft"]
    client.force_login(alice)
    page = html.unescape(client.get(f"/admin/studies/study/{study.pk}/change/").content.decode())
    assert "Failed: RuntimeError: worker ran out of disk" in page
    assert "Generation failed" in page


@pytest.mark.parametrize("via", ["api", "admin"])
def test_retry_finishes_and_keeps_the_trials_made(
    api,
    client,
    alice,
    study,
    generate,
    failing_second_chunk,
    django_capture_on_commit_callbacks,
    via,
):
    study = _fail(study, generate)
    kept = dict(Trial.objects.filter(study=study).values_list("index", "pk"))
    assert kept and len(kept) < study.generation_total
    failing_second_chunk.undo()
    with django_capture_on_commit_callbacks(execute=True):
        if via == "api":
            response = api.as_user(alice).post(f"/api/studies/{study.pk}/generation/retry/")
            assert response.status_code == 200, response.content
            assert response.json()["status"] == "generating"
        else:
            client.force_login(alice)
            client.post(
                "/admin/studies/study/",
                {"action": "retry_generation", "_selected_action": [study.pk]},
            )
    study.refresh_from_db()
    assert (study.status, study.error) == ("ready", "")
    after = dict(Trial.objects.filter(study=study).values_list("index", "pk"))
    assert len(after) == study.generation_total
    assert {i: after[i] for i in kept} == kept
    assert [c.to_status for c in StudyStatusChange.objects.filter(study=study)] == [
        "generating",
        "generating",
        "ready",
    ]


def test_retry_is_refused_where_there_is_nothing_to_retry(api, client, alice, study):
    response = api.as_user(alice).post(f"/api/studies/{study.pk}/generation/retry/")
    assert response.status_code == 409
    message = response.json()["error"]["message"]
    assert message == (
        "Only a failed or generating study's generation can be retried (this one is draft)."
    )
    client.force_login(alice)
    page = client.post(
        "/admin/studies/study/",
        {"action": "retry_generation", "_selected_action": [study.pk]},
        follow=True,
    ).content.decode()
    assert f"{study}: {message}" in html.unescape(page)
    with pytest.raises(ConflictError):
        services.study_generation_retry(study=study)


def test_a_domain_error_in_preparation_is_recorded_without_raising(study, generate, monkeypatch):
    def refuse(**kwargs):
        raise ApplicationError("The study's image set has no images.")

    monkeypatch.setattr(generation, "generation_prepare", refuse)
    study = generate(study)
    assert (study.status, study.error) == ("failed", "The study's image set has no images.")


def test_a_failure_after_the_study_moved_on_changes_nothing(study, generate, monkeypatch):
    def moved_then_failed(**kwargs):
        services.study_transition(study=kwargs["study"], to="draft")
        raise RuntimeError("late")

    monkeypatch.setattr(generation, "generation_run_chunk", moved_then_failed)
    with pytest.raises(RuntimeError, match="late"):
        generate(study)
    study.refresh_from_db()
    assert (study.status, study.error) == ("draft", "")


def test_a_skipped_task_does_nothing_for_a_study_not_generating(study):
    assert tasks.generate_chunk(study.pk, 0, 10) == {"skipped": "study is draft"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
            names |= {f"{'.' * node.level}{node.module or ''}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_generation_does_not_import_the_services():
    imported = _imports(ROOT / "platform/studies/generation.py")
    assert not {n for n in imported if "services" in n}, imported


def test_studies_never_imports_crowd_or_analysis_and_crowd_never_imports_analysis():
    for app, forbidden in (("studies", ("crowd", "analysis")), ("crowd", ("analysis",))):
        for path in (ROOT / "platform" / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            bad = {n for n in _imports(path) if n.split(".")[0] in forbidden}
            assert not bad, (path, bad)
