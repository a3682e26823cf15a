"""One researcher's objects, one of every kind an endpoint or admin page can name by id.

`build_world(owner)` makes them (directly or through services, no worker); `KIND_BY_SEGMENT` and
`KIND_BY_PARAM` say which kind a path parameter names, so a test can fill in any path of the
schema. A path whose id names a kind not listed here makes the tenant matrix fail with
"no fixture object": add the kind to the world when adding the endpoint.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from analysis.models import Export, RunStatus, ScoreRun
from common import tokens
from crowd import services as crowd_services
from duels import services as duel_services
from studies import services as study_services
from studies.models import Stimulus, Trial
from tests.analysis.jobs import finished_fit, finished_kmeans_trunk, ready_dataset, upload
from tests.conftest import make_png
from tests.factories import make_live_study

# The collection segment before `{id}` → the world kind it names.
KIND_BY_SEGMENT = {
    "image-sets": "image_set",
    "images": "image",
    "stimuli": "stimulus",
    "studies": "study",
    "datasets": "dataset",
    "fit-runs": "fit_run",
    "score-runs": "score_run",
    "exports": "export",
    "uploaded": "uploaded_metric",  # /api/metrics/uploaded/{id}/
    "duels": "duel",  # /api/duels/{id}/ and /duels/<duel_id>/results/: the duel's study id
    "kmeans-trunks": "kmeans_trunk",
    "tokens": "api_token",
}
# Other id parameters (sub-objects of the object named by `{id}`) → kind.
KIND_BY_PARAM = {
    "spec_pk": "distortion_spec",
    "quota_pk": "trial_quota",
    "item_id": "dataset_item",  # /leaderboards/<dataset_id>/triplets/<item_id>/<slot>.png
}


def build_world(owner, *, tag: str = "") -> dict:
    """A researcher's image set (one image), a draft study on it (distortions, quotas), a live
    study (trials, stimuli, a participant with an assignment), a ready dataset with a finished
    fit, a failed score run and export, a validated uploaded metric, a finished k-means trunk, a
    draft duel study, an API token, a group."""
    tag = tag or owner.username
    image_set = study_services.image_set_create(owner=owner, name=f"{tag}'s photos")
    study_services.reference_images_upload(
        image_set=image_set, data=make_png(128, 100, seed=len(tag)), name=f"{tag}.png"
    )
    study = study_services.study_create(
        owner=owner, name=f"{tag} draft", image_set=image_set, sentinel_rate=0.2
    )
    spec = study_services.distortion_spec_add(
        study=study, name="gaussian_blur", category="traditional"
    )
    quota = study_services.trial_quota_set(
        study=study, kind="2afc", split="val", category="traditional", count=4
    )
    live = make_live_study(owner, trials=2, sentinels=1, practice=1)
    assignment = crowd_services.participant_enter(
        study=live, entry=crowd_services.Entry("prolific", f"{tag}-participant", "session-1")
    )
    dataset = ready_dataset(owner, name=f"{tag} dataset")
    item = dataset.items.get()
    item.pk, item.split, item.index = None, "train", 1  # a train split: fits can be queued
    item.save()
    for name in ("r.png", "a.png", "b.png"):  # the item's images, for the triplet explorer
        if not default_storage.exists(name):
            default_storage.save(name, ContentFile(make_png(64, 64, seed=len(name))))
    fit = finished_fit(dataset, by=owner)
    score_run = ScoreRun.objects.create(
        dataset=dataset, metric="ssim", created_by=owner, status=RunStatus.FAILED, error="boom"
    )
    duel = duel_services.duel_study_create(
        owner=owner,
        name=f"{tag} duel",
        image_set=image_set,
        metrics=["l2", "ssim"],
        distortions=[{"name": "gaussian_blur"}],
    )
    export = Export.objects.create(
        dataset=dataset, kind=Export.Kind.CSV, status=Export.Status.FAILED, error="boom"
    )
    return {
        "image_set": image_set,
        "image": image_set.images.get(),
        "study": study,
        "distortion_spec": spec,
        "trial_quota": quota,
        "live_study": live,
        "stimulus": Stimulus.objects.filter(study=live).first(),
        "trial": Trial.objects.filter(study=live).first(),
        "participant": assignment.participant,
        "assignment": assignment,
        "trial_load": Trial.objects.filter(study=live).first().load,
        "dataset": dataset,
        "dataset_item": dataset.items.get(split="val"),
        "fit_run": fit,
        "score_run": score_run,
        "export": export,
        "uploaded_metric": upload(owner),
        # A duel is named by its study's id; the admin lists the DuelStudy row itself.
        "duel": duel.study,
        "duel_study": duel,
        "kmeans_trunk": finished_kmeans_trunk(owner, image_set),
        "user": owner,
        "api_token": tokens.api_token_create(user=owner, name=f"{tag}'s laptop")[0],
        "group": Group.objects.get_or_create(name="lab")[0],
    }
