"""Dataset imports come from an uploaded .zip or from a folder under the configured import root,
checked by the worker; the endpoint cannot be used to probe which server folders exist."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analysis.models import Dataset
from tests.analysis.test_datasets_and_runs import _bapps_folder

pytestmark = pytest.mark.django_db


def _post(api, user, data, fmt="json"):
    return api.as_user(user).post("/api/datasets/import/", data, format=fmt)


def _import(api, user, data, capture, fmt="json"):
    with capture(execute=True):  # the queued import runs (eagerly)
        response = _post(api, user, data, fmt)
    return response


def _zip_folder(folder: Path, *, top: str = "bapps") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top}/{path.relative_to(folder)}")
    return buffer.getvalue()


def _media_files(settings) -> list:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_server_path_is_refused_when_no_import_root_is_set(api, alice, settings, tmp_path):
    settings.PERCEPTLAB_IMPORT_ROOT = ""
    folder = _bapps_folder(tmp_path / "bapps")
    response = _post(api, alice, {"name": "x", "path": str(folder)})
    assert response.status_code == 400
    assert "PERCEPTLAB_IMPORT_ROOT is not set" in response.json()["error"]["message"]
    assert not Dataset.objects.exists()


def test_outside_the_root_and_missing_look_the_same(
    api, alice, settings, tmp_path, django_capture_on_commit_callbacks
):
    root = tmp_path / "imports"
    root.mkdir()
    settings.PERCEPTLAB_IMPORT_ROOT = str(root)
    outside = _bapps_folder(tmp_path / "private" / "bapps")  # a valid folder, outside the root
    (root / "link").symlink_to(outside)  # a link inside the root pointing out of it
    answers = {}
    for label, path in {
        "outside, absolute": str(outside),
        "outside, relative": "../private/bapps",
        "outside, by a link": "link",
        "missing": "nothing-here",
        "missing, absolute": str(root / "nothing-here"),
    }.items():
        response = _import(
            api, alice, {"name": label, "path": path}, django_capture_on_commit_callbacks
        )
        assert response.status_code == 202, (label, response.json())
        dataset = Dataset.objects.get(pk=response.json()["id"])
        assert dataset.status == "failed", label
        assert not dataset.items.exists()
        answers[label] = dataset.error.replace(path, "<path>")
    assert set(answers.values()) == {"<path>: no folder of that name under the import root."}


def test_a_folder_under_the_root_is_imported_by_its_relative_path(
    api, alice, settings, tmp_path, django_capture_on_commit_callbacks
):
    root = tmp_path / "imports"
    _bapps_folder(root / "bapps")
    settings.PERCEPTLAB_IMPORT_ROOT = str(root)
    response = _import(
        api, alice, {"name": "ok", "path": "bapps"}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 202
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == "ready", dataset.error
    assert dataset.manifest["source_folder"] == "bapps"


def test_an_uploaded_zip_is_imported_and_leaves_no_archive_or_temporary_folder(
    api, alice, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.PERCEPTLAB_IMPORT_ROOT = ""  # archives work without any server folder
    settings.PERCEPTLAB_SCRATCH_DIR = str(tmp_path / "scratch")
    data = _zip_folder(_bapps_folder(tmp_path / "bapps"))
    response = _import(
        api,
        alice,
        {"name": "zipped", "archive": SimpleUploadedFile("bapps-small.zip", data)},
        django_capture_on_commit_callbacks,
        fmt="multipart",
    )
    assert response.status_code == 202, response.json()
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == "ready", dataset.error
    assert dataset.counts == {
        "2afc": {"val": {"traditional": 4}},
        "jnd": {"val": {"traditional": 4}},
    }
    assert dataset.manifest["archive"] == "bapps-small.zip"
    assert not dataset.import_archive
    assert not list((Path(settings.MEDIA_ROOT) / "imports").glob("*"))
    assert not list((tmp_path / "scratch").rglob("import-*"))


def test_a_broken_archive_fails_on_the_worker_with_names_the_researcher_knows(
    api, alice, settings, tmp_path, django_capture_on_commit_callbacks
):
    folder = _bapps_folder(tmp_path / "bapps")
    (folder / "2afc" / "val" / "traditional" / "judge" / "000002.npy").unlink()
    response = _import(
        api,
        alice,
        {"name": "broken", "archive": SimpleUploadedFile("b.zip", _zip_folder(folder))},
        django_capture_on_commit_callbacks,
        fmt="multipart",
    )
    assert response.status_code == 202
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.status == "failed" and "000002" in dataset.error
    assert "scratch" not in dataset.error and str(tmp_path) not in dataset.error
    assert not dataset.items.exists()


def _zip(members: dict[str, bytes], *, link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        if link:
            info = zipfile.ZipInfo(link)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: _zip({"../2afc/x.npy": b"x"}), "unsafe path"),
        (lambda: _zip({"a.txt": b"x"}, link="bapps/2afc"), "symbolic link"),
        (lambda: _zip({"inner.zip": _zip({"a": b"b"})}), "nested archives"),
        (lambda: b"%PDF-1.4 not a zip", "not a .zip archive"),
        (lambda: b"PK\x03\x04 truncated", "not a valid zip"),
    ],
    ids=["zip slip", "symlink", "nested", "not a zip", "truncated zip"],
)
def test_a_bad_archive_is_refused_up_front_and_nothing_is_stored(
    api, alice, settings, data, message
):
    response = _post(
        api, alice, {"name": "bad", "archive": SimpleUploadedFile("bad.zip", data())}, "multipart"
    )
    assert response.status_code == 400, response.json()
    assert message in response.json()["error"]["message"]
    assert not Dataset.objects.exists()
    assert _media_files(settings) == []


def test_an_archive_over_the_limit_is_refused_while_it_streams_in(api, alice, settings):
    settings.PERCEPTLAB_MAX_IMPORT_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.zip", b"PK\x03\x04" + os.urandom(2 * 1024 * 1024))
    response = _post(api, alice, {"name": "big", "archive": big}, "multipart")
    assert response.status_code == 413
    assert "PERCEPTLAB_MAX_IMPORT_BYTES" in response.json()["error"]["message"]
    assert not Dataset.objects.exists()
    assert _media_files(settings) == []


def test_archive_and_path_together_or_neither_are_refused(api, alice, tmp_path):
    for data in (
        {"name": "x"},
        {"name": "x", "path": "a", "archive": SimpleUploadedFile("a.zip", b"PK")},
    ):
        response = _post(api, alice, data, "multipart")
        assert response.status_code == 400
        assert "either" in response.json()["error"]["message"]
    assert not Dataset.objects.exists()
