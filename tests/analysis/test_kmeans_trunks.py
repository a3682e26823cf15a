"""K-means trunks on the platform: queued from an image set (API and admin, one service), run by
a worker (`analysis.tasks.fit_kmeans_trunk`, gpu queue, CPU here), stored with its sha256 and
report, then named as `trunk_weights` = `kmeans:<id>` by its owner only; the failure policy and
retry as for every job; bad settings are 400s that write nothing."""

from __future__ import annotations

import hashlib

import pytest
import torch

import metrics
from analysis import services, tasks
from analysis.models import KMeansTrunk, RunStatus
from analysis.weight_files import weights_on_worker
from common.exceptions import ApplicationError
from studies import services as study_services
from tests.analysis.jobs import finished_kmeans_trunk, ready_dataset
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

# The smallest settings the layer arithmetic allows: one image, 64-pixel crops (conv3-5 see 3×3
# positions, so 90 crops give at least twice conv3's 384 filters), 384 patches, 2 k-means steps.
FAST = {
    "crop_size": 64,
    "n_crops": 90,
    "n_patches": 384,
    "kmeans_iterations": 2,
    "between_layer": False,
}


def _queue(api, user, image_set, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks() as queued:
        response = api.as_user(user).post(
            f"/api/image-sets/{image_set.pk}/kmeans-trunk/", body, format="json"
        )
    return response, queued


def test_a_trunk_is_queued_run_by_a_worker_and_usable_by_its_owner_only(
    api, alice, bob, image_set, django_capture_on_commit_callbacks
):
    response, queued = _queue(
        api, alice, image_set, django_capture_on_commit_callbacks, name="mine", seed=3,
        options=FAST,
    )  # fmt: skip
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["trunk_weights"] == f"kmeans:{body['id']}"
    assert len(queued) == 1  # the job is published on commit, not run in the request
    trunk = KMeansTrunk.objects.get()
    ref = trunk.trunk_ref
    dataset = ready_dataset(alice, collaborators=[bob])
    item = dataset.items.get()
    item.pk, item.split, item.index = None, "train", 1
    item.save()
    with pytest.raises(ApplicationError, match="not available"):  # not finished yet
        services.fit_run_create(dataset=dataset, by=alice, trunk_weights=ref)

    queued[0]()  # the worker runs it (eagerly in tests; CPU)
    detail = api.as_user(alice).get(f"/api/kmeans-trunks/{trunk.pk}/").json()
    assert detail["status"] == "done", detail["error"]
    trunk.refresh_from_db()
    data = trunk.weights.read()
    assert hashlib.sha256(data).hexdigest() == trunk.sha256 == detail["sha256"]
    assert [layer["name"] for layer in detail["report"]["layers"]] == [
        "conv1", "conv2", "conv3", "conv4", "conv5",
    ]  # fmt: skip
    assert detail["report"]["config"]["seed"] == 3 and detail["computed_with"]["device"] == "cpu"

    # its owner names it in fits and score runs of AlexNet metrics ...
    fit = services.fit_run_create(dataset=dataset, by=alice, trunk_weights=ref)
    assert fit.trunk_weights == ref
    run = services.score_run_create(
        dataset=dataset, metric="lpips-alex", by=alice,
        options={"trunk_weights": ref, "variant": "baseline"},
    )  # fmt: skip
    assert run.options["trunk_weights"] == ref
    with pytest.raises(ApplicationError, match="it fits lpips-alex and deep-alexnet"):
        services.score_run_create(
            dataset=dataset, metric="lpips-vgg", by=alice, options={"trunk_weights": ref}
        )
    with pytest.raises(ApplicationError, match="it fits nets alex and deep-alexnet"):
        services.fit_run_create(dataset=dataset, by=alice, net="vgg", trunk_weights=ref)
    # ... which a worker resolves to a local copy of the stored file that LPIPS loads
    path = weights_on_worker(ref)
    with open(path, "rb") as handle:
        assert handle.read() == data
    metric = metrics.create_metric("lpips-alex", variant="baseline", trunk_weights=path)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert torch.isfinite(metric(x, x.flip(0))).all()

    # a collaborator on the dataset (and on the image set) may not use it: as if missing
    answers = []
    for value in (ref, "kmeans:987654"):
        with pytest.raises(ApplicationError) as info:
            services.fit_run_create(dataset=dataset, by=bob, trunk_weights=value)
        answers.append(info.value.message.replace(value, "<ref>"))
        response = api.as_user(bob).post(
            f"/api/datasets/{dataset.pk}/score/",
            {"metric": "lpips-alex", "options": {"trunk_weights": value}},
            format="json",
        )
        assert response.status_code == 400
        answers.append(str(response.json()).replace(value, "<ref>"))
    assert answers[0] == answers[2] and answers[1] == answers[3]
    assert api.as_user(bob).get(f"/api/kmeans-trunks/{trunk.pk}/").status_code == 404
    assert api.as_user(bob).get("/api/kmeans-trunks/").json() == []
    assert [t["id"] for t in api.as_user(alice).get("/api/kmeans-trunks/").json()] == [trunk.pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seed": -1}, "seed"),
        ({"options": {"n_crops": 0}}, "options.n_crops"),
        ({"options": {"crop_size": 10_000}}, "options.crop_size"),
        ({"options": {"n_patches": True}}, "options.n_patches"),
        ({"options": {"between_layer": "yes"}}, "options.between_layer"),
        ({"options": {"learning_rate": 1}}, "options"),
        ({"options": ["crop_size"]}, "options"),
    ],
)
def test_bad_settings_are_400s_naming_the_field_and_write_nothing(
    api, alice, image_set, django_capture_on_commit_callbacks, body, field
):
    response, queued = _queue(api, alice, image_set, django_capture_on_commit_callbacks, **body)
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not KMeansTrunk.objects.exists() and not queued


def test_an_empty_image_set_and_a_foreign_one_are_refused(
    api, alice, charlie, image_set, django_capture_on_commit_callbacks
):
    empty = study_services.image_set_create(owner=alice, name="empty")
    response, _ = _queue(api, alice, empty, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "has no images" in str(response.json())
    foreign, _ = _queue(api, charlie, image_set, django_capture_on_commit_callbacks)
    missing = api.as_user(charlie).post("/api/image-sets/987654/kmeans-trunk/", {}, format="json")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json() | {
        "error": {**missing.json()["error"], "message": f"Image set {image_set.pk} not found."}
    }
    assert not KMeansTrunk.objects.exists()


def test_settings_the_images_cannot_satisfy_fail_the_job_with_a_message_and_retry_runs_again(
    api, alice, image_set, django_capture_on_commit_callbacks, monkeypatch
):
    too_few = {**FAST, "n_crops": 10}  # 10 crops × 9 positions < 2 × 384 filters of conv3
    response, queued = _queue(
        api, alice, image_set, django_capture_on_commit_callbacks, options=too_few
    )
    assert response.status_code == 202
    queued[0]()  # the real worker code: refused before any k-means
    trunk = KMeansTrunk.objects.get()
    assert trunk.status == "failed" and "use more crops or a larger crop_size" in trunk.error
    assert "conv3 sees 3×3 positions" in trunk.error and trunk.attempts == 1
    assert api.as_user(alice).get(f"/api/kmeans-trunks/{trunk.pk}/").json()["error"] == (
        trunk.error
    )
    assert tasks.fit_kmeans_trunk(trunk.pk) == {"skipped": "failed"}  # a stale message
    calls = []

    def execute(*, trunk, worker="", device=None, progress=None):  # as if fixed: done
        calls.append(trunk.pk)
        KMeansTrunk.objects.filter(pk=trunk.pk).update(status=RunStatus.DONE)
        trunk.refresh_from_db()
        return trunk

    monkeypatch.setattr(services, "kmeans_trunk_execute", execute)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alice).post(f"/api/kmeans-trunks/{trunk.pk}/retry/")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    trunk.refresh_from_db()
    assert trunk.status == "done" and trunk.error == "" and calls == [trunk.pk]


def test_retrying_what_did_not_fail_is_refused_alike_in_api_and_admin(
    api, client, alice, image_set
):
    trunk = finished_kmeans_trunk(alice, image_set)
    expected = f"K-means trunk {trunk.pk} is done; only a failed k-means trunk can be retried."
    response = api.as_user(alice).post(f"/api/kmeans-trunks/{trunk.pk}/retry/")
    assert response.status_code == 409 and response.json()["error"]["message"] == expected
    client.force_login(alice)
    page = client.post(
        "/admin/analysis/kmeanstrunk/",
        {"action": "retry", "_selected_action": [trunk.pk]},
        follow=True,
    )
    assert [(m.level_tag, m.message) for m in page.context["messages"]] == [
        ("error", f"{trunk}: {expected}")
    ]


def test_the_admin_action_on_an_image_set_queues_the_same_trunk_as_the_api(
    client, alice, image_set, django_capture_on_commit_callbacks
):
    study_services.reference_images_upload(
        image_set=image_set, data=make_png(96, 96, seed=2), name="two.png"
    )
    client.force_login(alice)
    with django_capture_on_commit_callbacks() as queued:
        page = client.post(
            "/admin/analysis/trunkimageset/",
            {"action": "kmeans_trunk", "_selected_action": [image_set.pk]},
            follow=True,
        )
    trunk = KMeansTrunk.objects.get()
    assert trunk.owner == alice and trunk.image_set == image_set and trunk.status == "queued"
    assert len(queued) == 1
    messages = [m.message for m in page.context["messages"]]
    assert messages == [f"{image_set}: k-means trunk queued; once done, use trunk_weights "
                        f"kmeans:{trunk.pk}."]  # fmt: skip
    assert client.get(f"/admin/analysis/kmeanstrunk/{trunk.pk}/change/").status_code == 200


def test_a_failed_trunk_is_not_a_usable_trunk(alice, image_set):
    failed = finished_kmeans_trunk(alice, image_set, status=RunStatus.FAILED)
    with pytest.raises(ValueError, match="not a finished k-means trunk"):
        weights_on_worker(failed.trunk_ref)
    dataset = ready_dataset(alice)
    with pytest.raises(ApplicationError, match="not available"):
        services.score_run_create(
            dataset=dataset, metric="lpips-alex", by=alice,
            options={"trunk_weights": failed.trunk_ref},
        )  # fmt: skip


def test_deleting_the_image_set_keeps_finished_trunks_and_fails_queued_ones(
    alice, image_set, django_capture_on_commit_callbacks
):
    done = finished_kmeans_trunk(alice, image_set)
    with django_capture_on_commit_callbacks() as queued:
        waiting = services.kmeans_trunk_create(owner=alice, image_set=image_set, options=FAST)
    study_services.image_set_delete(image_set=image_set, by=alice)
    queued[0]()
    done.refresh_from_db()
    waiting.refresh_from_db()
    assert done.image_set is None and done.status == "done"
    assert (
        waiting.status == "failed" and waiting.error == "The image set of this trunk was deleted."
    )
