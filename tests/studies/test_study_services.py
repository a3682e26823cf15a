"""Study creation rules and status transitions."""

import pytest

from common.exceptions import ApplicationError, ConflictError
from studies import services
from studies.models import Study, StudyStatusChange
from tests.conftest import make_png

pytestmark = pytest.mark.django_db


def test_defaults_follow_the_paper(alice, image_set):
    study = services.study_create(owner=alice, name="Defaults", image_set=image_set)
    assert (study.patch_size, study.judgments_train, study.judgments_val, study.judgments_jnd) == (
        64,
        2,
        5,
        3,
    )
    assert (study.jnd_first_ms, study.jnd_gap_ms, study.jnd_second_ms) == (1000, 250, 1000)
    assert study.status == Study.Status.DRAFT
    assert study.slug == "defaults"
    assert services.study_create(owner=alice, name="Defaults").slug == "defaults-2"


def test_the_full_lifecycle_is_recorded(alice, study, generate):
    generate(study, by=alice)  # draft → generating → ready (by the generation task)
    for target in ["live", "closed", "live"]:
        services.study_transition(study=study, to=target, by=alice)
    study.refresh_from_db()
    assert study.status == "live"
    assert [c.to_status for c in StudyStatusChange.objects.filter(study=study)] == [
        "generating",
        "ready",
        "live",
        "closed",
        "live",
    ]


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "live"),
        ([], "ready"),
        ([], "closed"),
        (["ready", "live"], "draft"),
        (["ready", "live"], "generating"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(alice, study, generate, path, target):
    if path:
        generate(study, by=alice)
    for step in path[1:]:
        services.study_transition(study=study, to=step, by=alice)
    before = StudyStatusChange.objects.count()
    with pytest.raises(ConflictError, match=f"Cannot move study from .* to {target}; allowed"):
        services.study_transition(study=study, to=target, by=alice)
    study.refresh_from_db()
    assert study.status == (path[-1] if path else "draft")
    assert StudyStatusChange.objects.count() == before


def test_unknown_status_and_missing_image_set(alice):
    study = services.study_create(owner=alice, name="No images")
    with pytest.raises(ApplicationError, match="Unknown status 'done'"):
        services.study_transition(study=study, to="done")
    with pytest.raises(ApplicationError, match="Choose an image set"):
        services.study_transition(study=study, to="generating")


def test_design_is_frozen_after_draft(alice, study):
    services.study_transition(study=study, to="generating", by=alice)
    with pytest.raises(ConflictError, match="only change while it is a draft"):
        services.study_update(study=study, data={"patch_size": 32})
    services.study_update(study=study, data={"name": "Renamed", "instructions": "New words"})
    study.refresh_from_db()
    assert (study.name, study.patch_size) == ("Renamed", 64)


def test_patch_size_must_fit_the_images(alice):
    image_set = services.image_set_create(owner=alice, name="small", min_side=32)
    services.reference_images_upload(image_set=image_set, data=make_png(40, 40), name="s.png")
    with pytest.raises(ApplicationError, match="patch_size 64 is larger than 1 image"):
        services.study_create(owner=alice, name="Too big", image_set=image_set)
    assert not Study.objects.filter(name="Too big").exists()


def test_markdown_instructions_are_rendered_safely():
    from common.markdown import render_markdown

    html = render_markdown(
        "**bold** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    assert "<strong>bold</strong>" in html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
