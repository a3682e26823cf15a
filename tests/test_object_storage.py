"""Media on an S3-compatible object store: the production layout for web and workers on several
hosts (docs/operations.md). The store is a real S3-compatible server process, moto's
(`moto_server`, PyPI `moto[server]`), reached over HTTP by django-storages' S3 backend with boto3,
exactly as AWS S3 or MinIO would be.

Uploads, generated stimuli, the worker's image API, frozen datasets and their exports all go to
the bucket and back, and nothing is written to the local media folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3", reason="the `s3` extra (django-storages[s3]) is not installed")

ROOT = Path(__file__).resolve().parents[1]
KEY, SECRET = "perceptlab-test", "perceptlab-test-secret"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
        "moto_server"
    )
    assert server, "moto_server is missing: install the dev extra (moto[server])"
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [server, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )


def _storage_env(endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "MEDIA_S3_BUCKET": bucket,
        "MEDIA_S3_ENDPOINT_URL": endpoint,
        "MEDIA_S3_REGION": "us-east-1",
        "MEDIA_S3_ACCESS_KEY_ID": KEY,
        "MEDIA_S3_SECRET_ACCESS_KEY": SECRET,
        "MEDIA_S3_PREFIX": "media",
    }


def _settings_storages(env: dict[str, str]) -> dict:
    """STORAGES as the deployment settings build them from these variables (a fresh process)."""
    code = (
        "import json, django; from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['default']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **os.environ,
            "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "SECRET_KEY": "storage-test",
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    return json.loads(result.stdout)


@pytest.fixture
def bucket(s3_endpoint, settings, tmp_path):
    """A fresh bucket made the default storage, configured through the deployment variables; the
    local media folder points somewhere that must stay empty."""
    name = f"perceptlab-{uuid.uuid4().hex[:12]}"
    client = _client(s3_endpoint)
    client.create_bucket(Bucket=name)
    default = _settings_storages(_storage_env(s3_endpoint, name))
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    settings.MEDIA_ROOT = tmp_path / "local-media"
    settings.STORAGES = {**settings.STORAGES, "default": default}
    yield client, name
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


def _objects(client, name: str) -> dict[str, str]:
    """key -> sha256 of every object in the bucket."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for entry in page.get("Contents", []):
            body = client.get_object(Bucket=name, Key=entry["Key"])["Body"].read()
            found[entry["Key"]] = hashlib.sha256(body).hexdigest()
    return found


def test_without_a_bucket_media_stay_on_the_local_filesystem():
    assert _settings_storages({"MEDIA_S3_BUCKET": ""})["BACKEND"] == (
        "django.core.files.storage.FileSystemStorage"
    )


@pytest.mark.django_db
def test_uploads_and_generated_stimuli_live_in_the_bucket(bucket, alice, api, generate, settings):
    from studies import services
    from studies.models import ReferenceImage, Stimulus, Study
    from tests.conftest import make_png

    client, name = bucket
    image_set = services.image_set_create(owner=alice, name="on s3")
    services.reference_images_upload(
        image_set=image_set, data=make_png(128, 100, seed=3), name="one.png"
    )
    study = services.study_create(owner=alice, name="S3 study", image_set=image_set, seed=5)
    services.distortion_spec_add(study=study, name="gaussian_blur", category="traditional")
    services.distortion_spec_add(study=study, name="jpeg", category="traditional")
    services.trial_quota_set(study=study, kind="2afc", split="val", category="traditional", count=3)
    study = generate(study, by=alice)
    assert study.status == Study.Status.READY, study.generation_error

    stored = _objects(client, name)
    image = ReferenceImage.objects.get(image_set=image_set)
    assert f"media/{image.file.name}" in stored
    stimuli = list(Stimulus.objects.filter(study=study))
    assert stimuli
    for stimulus in stimuli:
        key = f"media/{stimulus.file.name}"
        assert stored[key] == stimulus.sha256, key
    # Served back through the researcher's API from the bucket, byte for byte.
    response = api.as_user(alice).get(f"/api/stimuli/{stimuli[0].pk}/file/")
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == stimuli[0].sha256
    assert not Path(settings.MEDIA_ROOT).exists(), "something was written to the local media folder"


@pytest.mark.django_db
def test_frozen_datasets_and_exports_live_in_the_bucket(bucket, alice, api, settings):
    from django.urls import reverse

    from analysis import exports
    from analysis.models import Export
    from tests.analysis.studydata import frozen_dataset

    client, name = bucket
    dataset = frozen_dataset(alice, trials=4, people=2)
    for kind in ("csv", "bapps"):
        export = exports.export_create(dataset=dataset, kind=kind)
        exports.export_run(export=export)
        export.refresh_from_db()
        assert export.status == Export.Status.READY, export.error
        stored = _objects(client, name)
        assert stored[f"media/{export.file.name}"] == export.sha256
        api.force_login(alice)
        response = api.get(reverse("analysis-export-download", args=[export.pk]))
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == export.sha256
    assert not Path(settings.MEDIA_ROOT).exists(), "something was written to the local media folder"


# ---------------------------------------------------------------------------------------------
# Two workers on "two hosts": they share PostgreSQL, Redis and the bucket, and nothing else.
# ---------------------------------------------------------------------------------------------

DESIGN = {"seed": 21, "trials": 240}  # generation chunks are 100 trials: three chunk tasks


def _design(owner, name: str):
    from studies import services
    from tests.conftest import make_png

    image_set = services.image_set_create(owner=owner, name=f"{name} images")
    for n in range(2):
        services.reference_images_upload(
            image_set=image_set, data=make_png(128, 96, seed=40 + n), name=f"ref-{n}.png"
        )
    study = services.study_create(
        owner=owner, name=name, image_set=image_set, seed=DESIGN["seed"], sentinel_rate=0.1
    )
    services.distortion_spec_add(study=study, name="gaussian_blur", category="traditional")
    services.distortion_spec_add(study=study, name="jpeg", category="traditional")
    services.trial_quota_set(
        study=study, kind="2afc", split="val", category="traditional", count=DESIGN["trials"]
    )
    return study


def _stimuli_by_trial(study) -> list[tuple]:
    from studies.models import Trial

    rows = Trial.objects.filter(study=study).order_by("index")
    return [
        (t.index, t.kind, t.is_sentinel, *(s.sha256 if s else None for s in (t.ref, t.p0, t.p1)))
        for t in rows.select_related("ref", "p0", "p1")
    ]


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_generation_fans_out_to_two_workers_sharing_only_database_broker_and_bucket(
    s3_endpoint, alice, generate, tmp_path, settings
):
    from django.db import connection

    from studies.models import Study

    if connection.vendor != "postgresql":
        pytest.skip("workers on two hosts share PostgreSQL (CI sets DATABASE_URL)")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs Redis as the broker (CI sets REDIS_URL)")
    broker = redis_url.rsplit("/", 1)[0] + "/13"
    subprocess.run(["redis-cli", "-u", broker, "FLUSHDB"], check=True, capture_output=True)
    client = _client(s3_endpoint)
    bucket_name = f"perceptlab-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket_name)

    # The same design generated by one (in-process) worker, on the local filesystem.
    alone = generate(_design(alice, "one worker"), by=alice)
    assert alone.status == Study.Status.READY, alone.generation_error
    # The researcher's uploads go to the bucket too (the web tier's storage settings).
    settings.STORAGES = {
        **settings.STORAGES,
        "default": _settings_storages(_storage_env(s3_endpoint, bucket_name)),
    }
    study = _design(alice, "two workers")

    db = settings.DATABASES["default"]
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "MEDIA_"))},
        "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "SECRET_KEY": "two-hosts-test",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        **_storage_env(s3_endpoint, bucket_name),
    }
    workers, logs = [], []
    for n in range(2):
        host = tmp_path / f"host-{n}"  # each "host" has its own disk: var/, media folder, cwd
        host.mkdir()
        env = {**base_env, "PERCEPTLAB_VAR_DIR": str(host / "var"), "MEDIA_ROOT": str(host / "m")}
        log = (host / "worker.log").open("w")
        logs.append((host / "worker.log", log))
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker",
                 "-Q", "default,stimuli", "--concurrency", "1", "--prefetch-multiplier", "1",
                 "--loglevel", "INFO", "--hostname", f"host{n}-{os.getpid()}@%h"],
                cwd=host, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        )  # fmt: skip
    try:
        # Both workers up before the request, so that the chunks can go to both.
        deadline = time.monotonic() + 120
        while not all(" ready." in path.read_text() for path, _ in logs):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(w.poll() is None for w in workers), [p.read_text() for p, _ in logs]
            time.sleep(0.5)
        # The web tier asks for generation (another process, with the deployment settings).
        web = tmp_path / "web"
        web.mkdir()
        request = (
            "import django; django.setup(); from studies import services; "
            "from studies.models import Study; from django.contrib.auth import get_user_model; "
            f"s = Study.objects.get(pk={study.pk}); "
            f"services.study_transition(study=s, to='generating', by=get_user_model().objects.get(pk={alice.pk}))"
        )
        subprocess.run(
            [sys.executable, "-c", request],
            cwd=web,
            env={**base_env, "PERCEPTLAB_VAR_DIR": str(web / "var")},
            check=True,
            capture_output=True,
            timeout=120,
        )
        deadline = time.monotonic() + 300
        while True:
            study.refresh_from_db()
            if study.status != Study.Status.GENERATING or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        for worker in workers:
            os.killpg(worker.pid, 15)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        for _, log in logs:
            log.close()
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        }
    text = [path.read_text() for path, _ in logs]
    assert study.status == Study.Status.READY, (
        study.generation_error,
        text[0][-3000:],
        text[1][-3000:],
    )
    ran = [
        sum(1 for line in t.splitlines() if "generate_chunk" in line and "succeeded" in line)
        for t in text
    ]
    assert all(ran), f"both workers must have generated chunks: {ran}"
    # The same stimuli as one worker made, byte for byte, and every one of them in the bucket.
    assert _stimuli_by_trial(study) == _stimuli_by_trial(alone)
    stored = set(_objects(client, bucket_name).values())
    assert {row[3] for row in _stimuli_by_trial(study)} <= stored
    for n in range(2):
        assert not (tmp_path / f"host-{n}" / "m").exists(), "a worker wrote media to its own disk"
