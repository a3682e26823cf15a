"""The web tier never imports torch (DESIGN: "The web process never imports torch").

A fresh Python process boots Django as the web server does, imports every URLconf, admin and
web-facing module of the apps, then uses the test client as a superuser: GETs every URL pattern
without parameters, every admin changelist, add and change page, the API detail pages of objects
made for the purpose, and POSTs both upload endpoints (reference images and LPIPS lin weights).
At the end neither torch nor torchvision may be in `sys.modules`. A fresh process is needed:
this pytest process imports torch for the metrics tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import importlib
import json
import sys
from pathlib import Path

import django

from config.local_state import prepare

prepare()  # what the web server's entry point (config.wsgi) does before Django starts
django.setup()

from celery.app.task import Task
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import URLPattern, URLResolver, get_resolver

setup_test_environment()  # what the test runner does: allows the "testserver" host
call_command("migrate", verbosity=0, interactive=False)

# A web process sends tasks to the broker and never runs them: record what would be sent.
sent = []
Task.apply_async = lambda self, args=None, kwargs=None, **options: sent.append(self.name)
Task.delay = lambda self, *args, **kwargs: sent.append(self.name)

platform = Path(sys.argv[1]).resolve()
modules = []
for config in apps.get_app_configs():
    if platform not in Path(config.path).resolve().parents:
        continue
    for name in ("urls", "page_urls", "apis", "views", "admin", "selectors", "services", "models"):
        if (Path(config.path) / f"{name}.py").exists():
            importlib.import_module(f"{config.name}.{name}")
            modules.append(f"{config.name}.{name}")

from django.contrib.auth import get_user_model

from analysis.models import Dataset, DatasetItem, Export, FitRun, ScoreRun
from studies import services as study_services

User = get_user_model()
root = User.objects.create_superuser("root", "root@example.org", "pw-root-123")
client = Client()
client.force_login(root)
results = {}


def hit(method, url, **kwargs):
    response = getattr(client, method)(url, **kwargs)
    results[f"{method.upper()} {url}"] = response.status_code
    return response


# Objects for detail pages (made through services or plainly, never through a worker).
image_set = study_services.image_set_create(owner=root, name="photos")
study = study_services.study_create(owner=root, name="study", image_set=image_set)
dataset = Dataset.objects.create(
    owner=root, name="imported", source=Dataset.Source.IMPORT, status=Dataset.Status.READY,
    counts={"2afc": {"val": {"traditional": 1}}},
)
DatasetItem.objects.create(
    dataset=dataset, kind="2afc", split="val", category="traditional", index=0,
    ref="r.png", p0="a.png", p1="b.png", p0_sha256="0" * 64, p1_sha256="1" * 64, judge=0.5,
)
fit = FitRun.objects.create(dataset=dataset, created_by=root, status="failed", error="boom")
score = ScoreRun.objects.create(
    dataset=dataset, created_by=root, metric="l2", status="failed", error="boom"
)
export = Export.objects.create(dataset=dataset, kind="datasheet", status="failed", error="boom")

# The two upload endpoints.
with open(sys.argv[2], "rb") as handle:
    hit("post", f"/api/image-sets/{image_set.pk}/images/upload/", data={"file": handle})
with open(sys.argv[3], "rb") as handle:
    upload = hit(
        "post", "/api/metrics/upload/", data={"name": "mine", "net": "alex", "file": handle}
    )
upload_id = upload.json().get("id")

# A duel study (metric names and differentiability are checked without torch), and its
# generation requested (validated and queued: the worker does the rest).
duel = hit(
    "post", "/api/duels/create/",
    data={"name": "duel", "image_set": image_set.pk, "metrics": ["l2", "ssim", "lpips-alex"],
          "distortions": [{"name": "gaussian_blur"}], "method": "both"},
    content_type="application/json",
)
duel_id = duel.json().get("id")
hit("post", f"/api/studies/{duel_id}/transition/", data={"status": "generating"},
    content_type="application/json")

# Every URL pattern without parameters.
def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


plain = set()
for route, pattern in walk(get_resolver().url_patterns):
    if "<" in route or "(" in route or "\\" in route:
        continue
    plain.add("/" + route.replace("^", "").replace("$", ""))
for url in sorted(plain):
    hit("get", url)

# Every admin changelist and add page, and the change page of an object of each model.
for model, model_admin in admin.site._registry.items():
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    hit("get", base)
    hit("get", base + "add/")
    obj = model_admin.get_queryset(type("R", (), {"user": root})()).first()
    if obj is not None:
        hit("get", f"{base}{obj.pk}/change/")

# API and page detail views of the objects made above.
for url in [
    f"/api/image-sets/{image_set.pk}/",
    f"/api/image-sets/{image_set.pk}/images/",
    f"/api/studies/{study.pk}/",
    f"/api/studies/{study.pk}/distortions/",
    f"/api/studies/{study.pk}/quotas/",
    f"/api/datasets/{dataset.pk}/",
    f"/api/datasets/{dataset.pk}/leaderboard/",
    f"/api/datasets/{dataset.pk}/judgments-ci/",
    f"/api/fit-runs/{fit.pk}/",
    f"/api/score-runs/{score.pk}/",
    f"/api/exports/{export.pk}/",
    f"/api/metrics/uploaded/{upload_id}/",
    f"/leaderboards/{dataset.pk}/",
    f"/api/duels/{duel_id}/",
    f"/api/duels/{duel_id}/results/",
    f"/duels/{duel_id}/results/",
    f"/duels/{duel_id}/results/?format=csv",
    f"/leaderboards/{dataset.pk}/?preset=table5",
    f"/leaderboards/{dataset.pk}/?preset=table5&format=json",
]:
    hit("get", url)
# Writes that only queue work: retries of the failed jobs, a score run, an export.
for url in [
    f"/api/fit-runs/{fit.pk}/retry/",
    f"/api/score-runs/{score.pk}/retry/",
    f"/api/exports/{export.pk}/retry/",
]:
    hit("post", url)
hit("post", f"/api/datasets/{dataset.pk}/score/", data={"metric": "lpips-alex"},
    content_type="application/json")
hit("post", f"/api/datasets/{dataset.pk}/exports/", data={"kind": "bapps"},
    content_type="application/json")
# The study page's own pages: the picker draws every model-free distortion's sample here (the
# CNN-autoencoder and other model-backed ones are shown without one); its save, the stepper's
# JSON, a stepper button (it queues generation) and the image set's uploader.
hit("get", f"/admin/studies/study/{study.pk}/distortions/?preset=real")
hit("post", f"/admin/studies/study/{study.pk}/distortions/",
    data={"use-jpeg": "on", "use-cnn_autoencoder": "on"})
hit("post", f"/api/studies/{study.pk}/quotas/",
    data={"kind": "2afc", "split": "val", "category": "traditional", "count": 2},
    content_type="application/json")
hit("get", f"/admin/studies/study/{study.pk}/change/")
hit("get", f"/admin/studies/study/{study.pk}/steps/")
hit("post", f"/admin/studies/study/{study.pk}/step/generate/")
hit("get", f"/admin/studies/study/{study.pk}/change/")
with open(sys.argv[2], "rb") as handle:
    hit("post", f"/admin/studies/imageset/{image_set.pk}/upload/", data={"file": handle})

print(json.dumps({
    "results": results,
    "modules": modules,
    "sent": sent,
    "torch": sorted(m for m in ("torch", "torchvision") if m in sys.modules),
}))
"""


def test_the_web_tier_serves_every_page_and_upload_without_importing_torch(tmp_path):
    from tests.conftest import make_png

    (tmp_path / "image.png").write_bytes(make_png(128, 100, seed=1))
    (tmp_path / "lin.pth").write_bytes(b"any bytes: the web tier does not read them")
    script = tmp_path / "web_tier.py"
    script.write_text(SCRIPT)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "CELERY_TASK_ALWAYS_EAGER")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
            "PERCEPTLAB_VAR_DIR": str(tmp_path / "var"),
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            str(ROOT / "platform"),
            *(str(tmp_path / n) for n in ("image.png", "lin.pth")),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    results = report["results"]

    assert {"analysis.apis", "analysis.admin", "analysis.services", "studies.apis"} <= set(
        report["modules"]
    )
    server_errors = {url: code for url, code in results.items() if code >= 500}
    assert not server_errors, server_errors
    assert results["POST /api/metrics/upload/"] == 202
    assert any(k.startswith("POST /api/image-sets/") and v == 201 for k, v in results.items())
    # The pages were really reached (not redirected to a login page or refused).
    for page in ("GET /admin/", "GET /api/datasets/", "GET /admin/analysis/dataset/"):
        assert results[page] == 200, (page, results[page])
    changelists = [k for k in results if k.startswith("GET /admin/") and k.endswith("/change/")]
    assert len(changelists) >= 8 and all(results[k] == 200 for k in changelists), changelists
    assert results["POST /api/duels/create/"] == 201
    duel_pages = [k for k in results if k.startswith("GET /duels/")]
    assert len(duel_pages) == 2 and all(results[k] == 200 for k in duel_pages), duel_pages
    assert "duels.tasks.duel_prepare" in report["sent"]
    assert "analysis.tasks.validate_uploaded_metric" in report["sent"]
    assert {"analysis.tasks.score_metric", "analysis.tasks.export_dataset"} <= set(report["sent"])
    study_pages = [
        k
        for k in results
        if k.split(" ")[1].startswith("/admin/studies/study/")
        and any(part in k for part in ("/distortions/", "/steps/", "/step/"))
    ]
    assert len(study_pages) == 4 and all(results[k] in (200, 302) for k in study_pages), results
    assert "studies.tasks.generate_study" in report["sent"]
    assert report["torch"] == [], f"the web tier imported {report['torch']}"
