"""Every admin write goes through the service the API uses: each write is done once through the
API and once through the admin (the test client posting the admin's forms), and both give the
same rows and, on bad input, the same message with nothing saved."""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studies import services
from studies.models import DistortionSpec, ImageSet, ReferenceImage, Study, TrialQuota
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

SPEC_FIELDS = ["name", "family", "category", "severity_min", "severity_max", "weight"]
QUOTA_FIELDS = ["kind", "split", "category", "count"]


# ---------------------------------------------------------------------------------------------
# Helpers: the admin's forms as a browser posts them
# ---------------------------------------------------------------------------------------------


def _formset(prefix: str, rows: list[dict], initial: int) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": initial}
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{k}": v for k, v in row.items() if v is not None})
    return data


def _spec_rows(study) -> list[dict]:
    return [
        {
            "id": s.pk,
            "name": s.name,
            "category": s.category,
            "severity_min": s.severity_min,
            "severity_max": s.severity_max,
            "weight": s.weight,
        }
        for s in study.distortion_specs.order_by("id")
    ]


def _quota_rows(study) -> list[dict]:
    return [
        {"id": q.pk, "kind": q.kind, "split": q.split, "category": q.category, "count": q.count}
        for q in study.quotas.order_by("id")
    ]


def study_form(study: Study | None = None, *, specs=None, quotas=None, **fields) -> dict:
    """The study add/change form: the study's current values, `fields` changed, and the inline
    rows (`specs`/`quotas`: the existing rows, edited, plus new ones)."""
    data = {}
    if study is not None:
        for name in services.STUDY_DESIGN_FIELDS:
            data[name] = study.image_set_id or "" if name == "image_set" else getattr(study, name)
        data["collaborators"] = [u.pk for u in study.collaborators.all()]
        if study.status != Study.Status.DRAFT:
            for name in services.STUDY_FROZEN_FIELDS:
                data.pop(name)
    data.update(fields)
    existing_specs = study.distortion_specs.count() if study else 0
    existing_quotas = study.quotas.count() if study else 0
    specs = _spec_rows(study) if specs is None and study else (specs or [])
    quotas = _quota_rows(study) if quotas is None and study else (quotas or [])
    data.update(_formset("distortion_specs", specs, existing_specs))
    data.update(_formset("quotas", quotas, existing_quotas))
    return {k: v for k, v in data.items() if v is not None}


def admin_post(client, url: str, data: dict) -> tuple[int, str]:
    """Post an admin form; returns (status of the post, text of the page shown after it)."""
    response = client.post(url, data, follow=True)
    return response.redirect_chain[0][1] if response.redirect_chain else 200, html.unescape(
        response.content.decode()
    )


def api_message(response) -> str:
    return response.json()["error"]["message"]


def shown(message: str, page: str) -> bool:
    """The message is on the admin page (its message list capitalises the first letter)."""
    return message in page or message[:1].upper() + message[1:] in page


def picker_form(study, **rows) -> dict:
    """The distortion picker's form: the study's current choices ticked, then `rows`
    (name → {"use": bool, "min": ..., "max": ..., "weight": ...}) changed."""
    data = {}
    for spec in study.distortion_specs.all():
        data.update(
            {
                f"use-{spec.name}": "on",
                f"min-{spec.name}": spec.severity_min,
                f"max-{spec.name}": spec.severity_max,
                f"weight-{spec.name}": spec.weight,
            }
        )
    for name, row in rows.items():
        if not row.get("use", True):
            data.pop(f"use-{name}", None)
            continue
        data[f"use-{name}"] = "on"
        for key in ("min", "max", "weight"):
            if key in row:
                data[f"{key}-{name}"] = row[key]
            else:
                data.setdefault(f"{key}-{name}", {"min": 0.0, "max": 1.0, "weight": 1.0}[key])
    return data


def spec_values(study) -> list[tuple]:
    return list(study.distortion_specs.order_by("id").values_list(*SPEC_FIELDS))


def quota_values(study) -> list[tuple]:
    return list(study.quotas.order_by("kind", "split", "category").values_list(*QUOTA_FIELDS))


@pytest.fixture
def pair(alice, bob, image_set):
    """Two identical draft studies: one is changed through the API, the other in the admin."""

    def make(name):
        study = services.study_create(
            owner=alice, name=name, image_set=image_set, collaborators=[bob], seed=3
        )
        services.distortion_spec_add(study=study, name="jpeg", category="traditional")
        services.trial_quota_set(
            study=study, kind="2afc", split="val", category="traditional", count=4
        )
        return study

    return make("Via API"), make("Via admin")


@pytest.fixture
def as_alice(api, client, alice):
    api.as_user(alice)
    client.force_login(alice)
    return api, client


# ---------------------------------------------------------------------------------------------
# Image sets and images
# ---------------------------------------------------------------------------------------------


def _image_set_form(image_set: ImageSet | None = None, **fields) -> dict:
    data = {"name": "", "description": "", "min_side": 64}
    if image_set is not None:
        data = {
            "name": image_set.name,
            "description": image_set.description,
            "min_side": image_set.min_side,
            "collaborators": [u.pk for u in image_set.collaborators.all()],
        }
        data.update(
            _formset(
                "images",
                [{"id": i.pk, "image_set": image_set.pk} for i in image_set.images.all()],
                image_set.images.count(),
            )
        )
    else:
        data.update(_formset("images", [], 0))
    data.update(fields)
    return data


def test_image_set_create(as_alice, bob):
    api, client = as_alice
    made = api.post(
        "/api/image-sets/create/",
        {"name": "set", "description": "d", "min_side": 32, "collaborators": ["bob"]},
        format="json",
    )
    assert made.status_code == 201
    admin_post(
        client,
        "/admin/studies/imageset/add/",
        _image_set_form(name="set", description="d", min_side=32, collaborators=[bob.pk]),
    )
    rows = [
        (
            s.name,
            s.description,
            s.min_side,
            s.owner.username,
            [u.username for u in s.collaborators.all()],
        )
        for s in ImageSet.objects.filter(name="set")
    ]
    assert len(rows) == 2 and rows[0] == rows[1] == ("set", "d", 32, "alice", ["bob"])
    # Bad input: the same limit (from the model field) and message, nothing saved.
    bad = api.post("/api/image-sets/create/", {"name": "big", "min_side": 5000}, format="json")
    _, page = admin_post(
        client, "/admin/studies/imageset/add/", _image_set_form(name="big", min_side=5000)
    )
    assert "Ensure this value is less than or equal to 4096." in api_message(bad)
    assert "Ensure this value is less than or equal to 4096." in page
    assert not ImageSet.objects.filter(name="big").exists()


def test_image_set_update(api, client, alice, bob, image_set, charlie):
    other = services.image_set_create(owner=alice, name="twin", collaborators=[bob])
    api.as_user(alice).patch(
        f"/api/image-sets/{other.pk}/update/", {"description": "new words"}, format="json"
    )
    client.force_login(alice)
    admin_post(
        client,
        f"/admin/studies/imageset/{image_set.pk}/change/",
        _image_set_form(image_set, description="new words"),
    )
    image_set.refresh_from_db()
    other.refresh_from_db()
    assert image_set.description == other.description == "new words"
    # Bad input: a collaborator changing the collaborators.
    bad = api.as_user(bob).patch(
        f"/api/image-sets/{other.pk}/update/", {"collaborators": [], "name": "x"}, format="json"
    )
    client.force_login(bob)
    _, page = admin_post(
        client,
        f"/admin/studies/imageset/{image_set.pk}/change/",
        _image_set_form(image_set, collaborators=[charlie.pk], name="x"),
    )
    assert bad.status_code == 403
    assert api_message(bad) == "Only the owner can change collaborators."
    assert shown(api_message(bad), page)
    for s in (image_set, other):
        s.refresh_from_db()
        assert s.name != "x" and [u.username for u in s.collaborators.all()] == ["bob"]


def test_image_set_delete(as_alice, image_set, alice):
    api, client = as_alice
    services.study_create(owner=alice, name="uses it", image_set=image_set)
    spare = services.image_set_create(owner=alice, name="spare")
    spare2 = services.image_set_create(owner=alice, name="spare2")
    assert api.delete(f"/api/image-sets/{spare.pk}/delete/").status_code == 204
    admin_post(client, f"/admin/studies/imageset/{spare2.pk}/delete/", {"post": "yes"})
    assert not ImageSet.objects.filter(name__startswith="spare").exists()
    bad = api.delete(f"/api/image-sets/{image_set.pk}/delete/")
    _, page = admin_post(client, f"/admin/studies/imageset/{image_set.pk}/delete/", {"post": "yes"})
    assert (
        api_message(bad) == "This image set is used by a study; delete or re-point the study first."
    )
    assert shown(api_message(bad), page)
    assert ImageSet.objects.filter(pk=image_set.pk).exists()


def test_image_upload(as_alice, alice, image_set):
    api, client = as_alice
    twin = services.image_set_create(owner=alice, name="twin")
    png = make_png(90, 90, seed=42)
    api.post(
        f"/api/image-sets/{twin.pk}/images/upload/",
        {"file": SimpleUploadedFile("new.png", png), "source": "camera", "licence": "CC0"},
        format="multipart",
    )
    uploader = f"/admin/studies/imageset/{image_set.pk}/upload/"
    client.post(
        uploader,
        {"file": SimpleUploadedFile("new.png", png), "source": "camera", "licence": "CC0"},
    )
    fields = ["sha256", "original_name", "width", "height", "source", "licence"]
    assert list(twin.images.values_list(*fields)) == list(
        image_set.images.filter(original_name="new.png").values_list(*fields)
    )
    before = image_set.images.count()
    bad = api.post(
        f"/api/image-sets/{twin.pk}/images/upload/",
        {"file": SimpleUploadedFile("x.png", b"not an image")},
        format="multipart",
    )
    refused = client.post(uploader, {"file": SimpleUploadedFile("x.png", b"not an image")})
    assert bad.status_code == refused.status_code == 400
    assert refused.json()["error"] == api_message(bad)
    image_set.refresh_from_db()
    assert image_set.images.count() == before and twin.images.count() == 1


def test_reference_image_update(as_alice, alice, image_set):
    api, client = as_alice
    image = image_set.images.first()
    twin = services.image_set_create(owner=alice, name="twin")
    services.reference_images_upload(
        image_set=twin, data=make_png(128, 100, seed=1), name="one.png"
    )
    other = twin.images.get()
    api.patch(
        f"/api/images/{other.pk}/update/", {"source": "a camera", "licence": "CC-BY"}, format="json"
    )
    admin_post(
        client,
        f"/admin/studies/referenceimage/{image.pk}/change/",
        {"source": "a camera", "licence": "CC-BY"},
    )
    fields = ["sha256", "source", "licence"]
    assert list(ReferenceImage.objects.filter(pk=image.pk).values_list(*fields)) == list(
        ReferenceImage.objects.filter(pk=other.pk).values_list(*fields)
    )
    bad = api.patch(f"/api/images/{other.pk}/update/", {"source": "s" * 501}, format="json")
    _, page = admin_post(
        client, f"/admin/studies/referenceimage/{image.pk}/change/", {"source": "s" * 501}
    )
    assert "Ensure this field has no more than 500 characters." in api_message(bad)
    assert "Ensure this value has at most 500 characters (it has 501)." in page
    assert ReferenceImage.objects.filter(source="s" * 501).count() == 0


def test_reference_image_delete(as_alice, alice, image_set, study, generate):
    api, client = as_alice
    twin = services.image_set_create(owner=alice, name="twin")
    for s in (twin, image_set):
        services.reference_images_upload(image_set=s, data=make_png(99, 99, seed=5), name="x.png")
    assert api.delete(f"/api/images/{twin.images.get().pk}/delete/").status_code == 204
    extra = image_set.images.get(original_name="x.png")
    admin_post(client, f"/admin/studies/referenceimage/{extra.pk}/delete/", {"post": "yes"})
    assert not ReferenceImage.objects.filter(original_name="x.png").exists()
    generate(study)  # the image set's study leaves draft: its images are in use
    image = image_set.images.get()
    bad = api.delete(f"/api/images/{image.pk}/delete/")
    _, page = admin_post(
        client, f"/admin/studies/referenceimage/{image.pk}/delete/", {"post": "yes"}
    )
    assert bad.status_code == 409 and shown(api_message(bad), page)
    assert ReferenceImage.objects.filter(pk=image.pk).exists()


# ---------------------------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------------------------

STUDY_ROW = [
    "name",
    "kind",
    "image_set",
    "seed",
    "patch_size",
    "sentinel_rate",
    "instructions",
    "completion_code",
    "status",
    "owner",
]


def test_study_create(as_alice, image_set, bob):
    api, client = as_alice
    body = {
        "kind": "2afc",
        "image_set": image_set.pk,
        "seed": 5,
        "patch_size": 32,
        "sentinel_rate": 0.2,
        "instructions": "Hi",
        "completion_code": "OKCODE12",
    }
    made = api.post(
        "/api/studies/create/",
        {**body, "name": "Twin", "slug": "twin-api", "collaborators": ["bob"]},
        format="json",
    )
    assert made.status_code == 201, made.content
    template = Study.objects.get(slug="twin-api")
    form = study_form(template, slug="twin-admin", **body)
    form.update(
        _formset(
            "quotas", [{"kind": "2afc", "split": "val", "category": "traditional", "count": 10}], 0
        )
    )
    status, page = admin_post(client, "/admin/studies/study/add/", form)
    assert status == 302, page[:3000]
    via_admin = Study.objects.get(slug="twin-admin")
    assert [getattr(via_admin, f) for f in STUDY_ROW] == [getattr(template, f) for f in STUDY_ROW]
    assert [u.username for u in via_admin.collaborators.all()] == ["bob"]
    # The inline rows went through the services too; distortions are chosen on the picker.
    admin_post(
        client,
        f"/admin/studies/study/{via_admin.pk}/distortions/",
        picker_form(via_admin, jpeg={"min": 0.1, "max": 0.9}),
    )
    assert spec_values(via_admin) == [("jpeg", "compression", "traditional", 0.1, 0.9, 1.0)]
    assert quota_values(via_admin) == [("2afc", "val", "traditional", 10)]
    # Bad input (patch larger than the images): same message, nothing saved, inlines included.
    bad = api.post(
        "/api/studies/create/", {**body, "name": "Big", "patch_size": 256}, format="json"
    )
    form.update(name="Big", slug="big", patch_size=256)
    _, page = admin_post(client, "/admin/studies/study/add/", form)
    assert api_message(bad).startswith("patch_size 256 is larger than 1 image(s)")
    assert shown(api_message(bad), page)
    assert not Study.objects.filter(name="Big").exists()
    assert DistortionSpec.objects.count() == 1 and TrialQuota.objects.count() == 1


def test_study_update(as_alice, pair, bob, charlie):
    api, client = as_alice
    via_api, via_admin = pair
    api.patch(
        f"/api/studies/{via_api.pk}/update/",
        {"patch_size": 32, "instructions": "New"},
        format="json",
    )
    admin_post(
        client,
        f"/admin/studies/study/{via_admin.pk}/change/",
        study_form(via_admin, patch_size=32, instructions="New"),
    )
    fields = ["patch_size", "instructions", "seed", "kind"]
    assert [getattr(Study.objects.get(pk=via_api.pk), f) for f in fields] == [
        getattr(Study.objects.get(pk=via_admin.pk), f) for f in fields
    ]
    # Bad input: a collaborator changing the collaborators.
    api.as_user(bob)
    client.force_login(bob)
    bad = api.patch(
        f"/api/studies/{via_api.pk}/update/",
        {"collaborators": ["charlie"], "name": "x"},
        format="json",
    )
    _, page = admin_post(
        client,
        f"/admin/studies/study/{via_admin.pk}/change/",
        study_form(via_admin, collaborators=[charlie.pk], name="x"),
    )
    assert bad.status_code == 403 and api_message(bad) == "Only the owner can change collaborators."
    assert shown(api_message(bad), page)
    assert not Study.objects.filter(name="x").exists()


def test_study_delete(as_alice, pair, generate):
    api, client = as_alice
    via_api, via_admin = pair
    spare_api = services.study_create(owner=via_api.owner, name="spare api")
    spare_admin = services.study_create(owner=via_api.owner, name="spare admin")
    assert api.delete(f"/api/studies/{spare_api.pk}/delete/").status_code == 204
    admin_post(client, f"/admin/studies/study/{spare_admin.pk}/delete/", {"post": "yes"})
    assert not Study.objects.filter(name__startswith="spare").exists()
    for study in pair:
        generate(study)
        services.study_transition(study=study, to="live")
    bad = api.delete(f"/api/studies/{via_api.pk}/delete/")
    _, page = admin_post(client, f"/admin/studies/study/{via_admin.pk}/delete/", {"post": "yes"})
    assert (
        api_message(bad) == "Only draft, failed or ready studies can be deleted (this one is live)."
    )
    assert shown(api_message(bad), page)
    assert Study.objects.filter(pk__in=[s.pk for s in pair]).count() == 2


def test_study_transition(as_alice, pair, django_capture_on_commit_callbacks):
    api, client = as_alice
    via_api, via_admin = pair
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/studies/{via_api.pk}/transition/", {"status": "generating"}, format="json")
        client.post(
            "/admin/studies/study/",
            {"action": "transition_to_generating", "_selected_action": [via_admin.pk]},
        )
    statuses = {s.status for s in Study.objects.filter(pk__in=[via_api.pk, via_admin.pk])}
    assert statuses == {"ready"}
    bad = api.post(f"/api/studies/{via_api.pk}/transition/", {"status": "closed"}, format="json")
    _, page = admin_post(
        client,
        "/admin/studies/study/",
        {"action": "transition_to_closed", "_selected_action": [via_admin.pk]},
    )
    assert api_message(bad) == "Cannot move study from ready to closed; allowed: live, draft."
    assert shown(f"{via_admin}: {api_message(bad)}", page)
    assert {s.status for s in Study.objects.filter(pk__in=[via_api.pk, via_admin.pk])} == {"ready"}


# ---------------------------------------------------------------------------------------------
# Distortion choices and trial counts (the study's inlines)
# ---------------------------------------------------------------------------------------------


def test_distortion_spec_add(as_alice, pair):
    api, client = as_alice
    via_api, via_admin = pair
    picker = f"/admin/studies/study/{via_admin.pk}/distortions/"
    api.post(
        f"/api/studies/{via_api.pk}/distortions/",
        {
            "name": "gaussian_blur",
            "category": "traditional",
            "severity_min": 0.2,
            "severity_max": 0.6,
        },
        format="json",
    )
    admin_post(client, picker, picker_form(via_admin, gaussian_blur={"min": 0.2, "max": 0.6}))
    assert spec_values(via_api) == spec_values(via_admin)
    assert spec_values(via_admin)[-1][:2] == ("gaussian_blur", "blur")  # family set by the service
    bad = api.post(
        f"/api/studies/{via_api.pk}/distortions/",
        {"name": "contrast", "category": "traditional", "severity_min": 0.8, "severity_max": 0.2},
        format="json",
    )
    _, page = admin_post(
        client,
        picker,
        picker_form(via_admin, contrast={"min": 0.8, "max": 0.2}, jpeg={"max": 0.7}),
    )
    assert "must lie within [0, 1] with min ≤ max" in api_message(bad)
    assert shown(api_message(bad), page)
    # Nothing of the refused form was saved (jpeg's change neither).
    assert spec_values(via_api) == spec_values(via_admin)


def test_distortion_spec_update(as_alice, pair):
    api, client = as_alice
    via_api, via_admin = pair
    picker = f"/admin/studies/study/{via_admin.pk}/distortions/"
    spec = via_api.distortion_specs.get()
    api.patch(
        f"/api/studies/{via_api.pk}/distortions/{spec.pk}/update/",
        {"severity_min": 0.1, "severity_max": 0.5},
        format="json",
    )
    admin_post(client, picker, picker_form(via_admin, jpeg={"min": 0.1, "max": 0.5}))
    assert (
        spec_values(via_api)
        == spec_values(via_admin)
        == [("jpeg", "compression", "traditional", 0.1, 0.5, 1.0)]
    )
    bad = api.patch(
        f"/api/studies/{via_api.pk}/distortions/{spec.pk}/update/",
        {"severity_min": 0.9},
        format="json",
    )
    _, page = admin_post(client, picker, picker_form(via_admin, jpeg={"min": 0.9}))
    assert api_message(bad) == "Severity range [0.9, 0.5] must lie within [0, 1] with min ≤ max."
    assert shown(api_message(bad), page)
    assert spec_values(via_api) == spec_values(via_admin)


def test_distortion_spec_remove(as_alice, pair, generate):
    api, client = as_alice
    via_api, via_admin = pair
    picker = f"/admin/studies/study/{via_admin.pk}/distortions/"
    for study in pair:
        services.distortion_spec_add(study=study, name="gaussian_blur", category="traditional")
    first = via_api.distortion_specs.order_by("id").first()
    assert (
        api.delete(f"/api/studies/{via_api.pk}/distortions/{first.pk}/delete/").status_code == 204
    )
    admin_post(client, picker, picker_form(via_admin, jpeg={"use": False}))
    assert spec_values(via_api) == spec_values(via_admin) and len(spec_values(via_api)) == 1
    # Past draft the choices are frozen: the API and the picker say so, in the same words.
    for study in pair:
        generate(study)
    spec = via_api.distortion_specs.get()
    bad = api.delete(f"/api/studies/{via_api.pk}/distortions/{spec.pk}/delete/")
    _, page = admin_post(client, picker, picker_form(via_admin, gaussian_blur={"use": False}))
    assert bad.status_code == 409 and "only change while the study is a draft" in api_message(bad)
    assert shown(api_message(bad), page)
    assert len(spec_values(via_api)) == len(spec_values(via_admin)) == 1


def test_trial_quota_set(as_alice, pair):
    api, client = as_alice
    via_api, via_admin = pair
    new = {"kind": "2afc", "split": "train", "category": "traditional", "count": 6}
    api.post(f"/api/studies/{via_api.pk}/quotas/", new, format="json")
    api.post(
        f"/api/studies/{via_api.pk}/quotas/", {**_quota_rows(via_api)[0], "count": 9}, format="json"
    )
    rows = _quota_rows(via_admin)
    rows[0]["count"] = 9
    admin_post(
        client,
        f"/admin/studies/study/{via_admin.pk}/change/",
        study_form(via_admin, quotas=[*rows, new]),
    )
    assert (
        quota_values(via_api)
        == quota_values(via_admin)
        == [
            ("2afc", "train", "traditional", 6),
            ("2afc", "val", "traditional", 9),
        ]
    )
    for bad_row, message in [
        (
            {**new, "kind": "jnd", "category": "cnn"},
            "This is a 2afc study; trial kind must be one of ['2afc'].",
        ),
        ({**new, "category": "cnn", "count": 0}, "Zero trials requested: count must be at least 1"),
    ]:
        bad = api.post(f"/api/studies/{via_api.pk}/quotas/", bad_row, format="json")
        _, page = admin_post(
            client,
            f"/admin/studies/study/{via_admin.pk}/change/",
            study_form(via_admin, quotas=[*_quota_rows(via_admin), bad_row]),
        )
        assert message in api_message(bad) and shown(api_message(bad), page)
        assert quota_values(via_api) == quota_values(via_admin)


def test_trial_quota_remove(as_alice, pair):
    api, client = as_alice
    via_api, via_admin = pair
    quota = via_api.quotas.get()
    assert api.delete(f"/api/studies/{via_api.pk}/quotas/{quota.pk}/delete/").status_code == 204
    rows = _quota_rows(via_admin)
    rows[0]["DELETE"] = "on"
    admin_post(
        client, f"/admin/studies/study/{via_admin.pk}/change/", study_form(via_admin, quotas=rows)
    )
    assert quota_values(via_api) == quota_values(via_admin) == []


def test_foreign_ids_look_missing_in_the_new_endpoints(api, charlie, pair):
    via_api, _ = pair
    spec, quota = via_api.distortion_specs.get(), via_api.quotas.get()
    api.as_user(charlie)
    for response in (
        api.patch(
            f"/api/studies/{via_api.pk}/distortions/{spec.pk}/update/", {"weight": 2}, format="json"
        ),
        api.delete(f"/api/studies/{via_api.pk}/distortions/{spec.pk}/delete/"),
        api.delete(f"/api/studies/{via_api.pk}/quotas/{quota.pk}/delete/"),
        api.post(f"/api/studies/{via_api.pk}/generation/retry/"),
        api.patch(
            f"/api/images/{via_api.image_set.images.first().pk}/update/",
            {"source": "x"},
            format="json",
        ),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert via_api.distortion_specs.get().weight == 1.0 and via_api.quotas.exists()
