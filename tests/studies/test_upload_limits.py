"""Upload size limits are enforced while the body streams in, not after it was read whole.

The requests go through Django's full WSGI stack with a body that is produced lazily (never held
in memory by the test), so the test can see how much of the body the server read and how much
memory it allocated (tracemalloc) while handling it.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from django.core.handlers.wsgi import WSGIHandler

from analysis.models import UploadedMetric
from studies.models import ReferenceImage
from tests.conftest import make_png
from tests.factories import api_key

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "----perceptlab-test-boundary"
MB = 1024 * 1024


class LazyMultipart:
    """A `wsgi.input` that produces a multipart body with one file of `size` bytes, chunk by
    chunk, counting what the server read."""

    def __init__(self, *, fields: dict[str, str], name: str, size: int, content=None):
        head = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in fields.items()
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        self.head, self.tail = head.encode(), f"\r\n--{BOUNDARY}--\r\n".encode()
        self.content = content  # bytes to send as the file, or None for `size` filler bytes
        self.size = len(content) if content is not None else size
        self.length = len(self.head) + self.size + len(self.tail)
        self.position = 0
        self.block = bytes(range(256)) * 256  # 64 KB of filler, no boundary inside

    def _byte_range(self, start: int, stop: int) -> bytes:
        out = []
        for lo, hi, source in (
            (0, len(self.head), self.head),
            (len(self.head), len(self.head) + self.size, None),
            (len(self.head) + self.size, self.length, self.tail),
        ):
            a, b = max(start, lo), min(stop, hi)
            if a >= b:
                continue
            if source is not None:
                out.append(source[a - lo : b - lo])
            elif self.content is not None:
                out.append(self.content[a - lo : b - lo])
            else:
                offset = (a - lo) % len(self.block)
                piece = (self.block * ((b - a) // len(self.block) + 2))[offset : offset + b - a]
                out.append(piece)
        return b"".join(out)

    def read(self, size: int = -1) -> bytes:
        stop = self.length if size is None or size < 0 else min(self.length, self.position + size)
        data = self._byte_range(self.position, stop)
        self.position = stop
        return data

    def readline(self, size: int = -1) -> bytes:  # pragma: no cover - not used by multipart
        return self.read(size)


def _post(path: str, body: LazyMultipart, token: str) -> tuple[int, bytes, int]:
    """POST through the WSGI handler: (status, content, peak bytes allocated meanwhile)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(body.length),
        "wsgi.input": body,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])

    handler = WSGIHandler()
    # Warm up (imports, URL resolver, first-use caches) with a tiny refused file, untraced.
    warm = LazyMultipart(fields={}, name="warm-up.png", size=0, content=b"junk")
    b"".join(
        handler({**environ, "wsgi.input": warm, "CONTENT_LENGTH": str(warm.length)}, start_response)
    )
    tracemalloc.start()
    try:
        content = b"".join(handler(environ, start_response))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return answer["status"], content, peak


@pytest.fixture
def token(alice):
    return api_key(alice)


def _media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _limits(settings, limit: int) -> None:
    settings.PERCEPTLAB_MAX_IMAGE_BYTES = limit
    settings.PERCEPTLAB_MAX_ZIP_BYTES = limit


def test_an_upload_declared_over_the_limit_is_refused_before_its_body_is_read(
    settings, image_set, token
):
    _limits(settings, 4 * MB)
    before = ReferenceImage.objects.count(), _media_files(settings)
    body = LazyMultipart(fields={"source": "x"}, name="huge.zip", size=64 * MB)
    status, content, peak = _post(f"/api/image-sets/{image_set.pk}/images/upload/", body, token)
    assert body.position < 1 * MB, f"{body.position / MB:.0f} MB of the 64 MB body were read"
    assert peak < 4 * MB, f"{peak / MB:.1f} MB allocated for a refused 64 MB upload"
    assert status == 413, content
    assert b"4.0 MB" in content and b"PERCEPTLAB_MAX_ZIP_BYTES" in content
    assert (ReferenceImage.objects.count(), _media_files(settings)) == before


def test_an_upload_that_streams_past_the_limit_is_stopped_there(settings, image_set, token):
    # The declared length is within the framing allowance: the handler counts the file bytes.
    _limits(settings, 4 * MB)
    before = ReferenceImage.objects.count(), _media_files(settings)
    body = LazyMultipart(fields={}, name="over.png", size=4 * MB + 20 * 1024)
    status, content, _ = _post(f"/api/image-sets/{image_set.pk}/images/upload/", body, token)
    assert status == 413, content
    assert b"goes over the limit of 4.0 MB" in content
    assert (ReferenceImage.objects.count(), _media_files(settings)) == before


def test_a_large_accepted_zip_is_not_read_into_memory(settings, image_set, token):
    members = {f"{i}.png": make_png(256, 256, seed=100 + i) for i in range(100)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    assert len(data) > 18 * MB
    body = LazyMultipart(fields={"source": "noise"}, name="many.zip", size=0, content=data)
    status, content, peak = _post(f"/api/image-sets/{image_set.pk}/images/upload/", body, token)
    assert status == 201, content
    assert ReferenceImage.objects.filter(image_set=image_set).count() == 101
    # One image at a time: the peak does not grow with the archive (19 MB here).
    assert peak < 6 * MB, f"{peak / MB:.1f} MB allocated for a {len(data) / MB:.0f} MB zip"


def test_metric_weights_are_refused_at_their_own_limit(settings, token):
    settings.PERCEPTLAB_MAX_WEIGHTS_BYTES = 1 * MB
    body = LazyMultipart(fields={"name": "w", "net": "alex"}, name="w.pth", size=32 * MB)
    status, content, _ = _post("/api/metrics/upload/", body, token)
    assert status == 413, content
    assert b"PERCEPTLAB_MAX_WEIGHTS_BYTES" in content
    assert body.position < 1 * MB
    assert not UploadedMetric.objects.exists()


def test_a_view_that_takes_no_files_takes_the_small_default(settings, token):
    settings.PERCEPTLAB_MAX_UPLOAD_BYTES = 1 * MB
    body = LazyMultipart(fields={"name": "x"}, name="x.bin", size=16 * MB)
    status, content, _ = _post("/api/image-sets/create/", body, token)
    assert status == 413, content
    assert b"PERCEPTLAB_MAX_UPLOAD_BYTES" in content
    assert body.position < 1 * MB


def test_the_admin_upload_form_is_refused_with_413_naming_the_limit(
    settings, client, alice, image_set
):
    _limits(settings, 64 * 1024)
    client.force_login(alice)
    before = ReferenceImage.objects.count(), _media_files(settings)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        f"/admin/studies/imageset/{image_set.pk}/upload/",
        {"file": SimpleUploadedFile("big.zip", b"x" * (256 * 1024))},
    )
    assert response.status_code == 413
    assert b"PERCEPTLAB_MAX_ZIP_BYTES" in response.content
    assert (ReferenceImage.objects.count(), _media_files(settings)) == before
