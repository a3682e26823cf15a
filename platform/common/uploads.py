"""Upload size limits enforced while the request body is read, not after.

Django reads a multipart body through its upload handlers. `LimitedUploadHandler` runs first
(`FILE_UPLOAD_HANDLERS`): it refuses a request whose declared length is already over the limit
before reading a byte, and counts the file bytes as they stream in, stopping at the limit, so an
oversized upload never reaches memory or the disk beyond the limit. Files under the limit go on
to Django's own handlers (in memory up to `FILE_UPLOAD_MAX_MEMORY_SIZE`, else a temporary file).

The limit is the view's: a DRF view class or a ModelAdmin sets `upload_max_bytes` (an int or a
callable returning one, read per request so settings can change); any other view gets
`PERCEPTLAB_MAX_UPLOAD_BYTES`, which is small because it takes no files.

The refusal is `PayloadTooLargeError` (413, naming the limit). DRF views render it in the API's
error shape; for other views (the admin's forms) `UploadLimitMiddleware` reads the body before
the CSRF check does and answers 413 with the message.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape

from .exceptions import PayloadTooLargeError

# Multipart framing (boundaries, part headers) and small form fields around the file bytes.
FRAMING_SLACK = 64 * 1024


def _megabytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def _view_limit(request: HttpRequest | None) -> tuple[int, str]:
    """(limit in bytes, what sets it) for the view the request goes to."""
    match = getattr(request, "resolver_match", None)
    func = getattr(match, "func", None)
    for owner in (getattr(func, "cls", None), getattr(func, "model_admin", None)):
        limit = getattr(owner, "upload_max_bytes", None)
        if limit is not None:
            value = limit() if callable(limit) else limit
            return int(value), getattr(owner, "upload_limit_setting", "")
    return settings.PERCEPTLAB_MAX_UPLOAD_BYTES, "PERCEPTLAB_MAX_UPLOAD_BYTES"


def too_large(limit: int, setting: str, *, seen: str) -> PayloadTooLargeError:
    where = f" ({setting})" if setting else ""
    return PayloadTooLargeError(
        f"The upload {seen} the limit of {_megabytes(limit)}{where}; nothing was stored.",
        code="too_large",
        fields={"file": [f"larger than {_megabytes(limit)}"]},
    )


class LimitedUploadHandler(FileUploadHandler):
    """First upload handler: refuses bodies over the view's limit while they stream in."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit, self.setting = _view_limit(self.request)
        self.received = 0
        if content_length and content_length > self.limit + FRAMING_SLACK:
            raise too_large(self.limit, self.setting, seen=f"is {_megabytes(content_length)}, over")
        return None  # let the parser and the next handlers do the work

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)  # over all files of the request
        if self.received > self.limit:
            raise too_large(self.limit, self.setting, seen="goes over")
        return raw_data

    def file_complete(self, file_size: int):
        return None


def _is_api_view(request: HttpRequest) -> bool:
    func = getattr(getattr(request, "resolver_match", None), "func", None)
    return getattr(func, "cls", None) is not None


class UploadLimitMiddleware:
    """Answers 413 for an oversized multipart upload to a plain Django view (the admin).

    It sits before `CsrfViewMiddleware` and reads the body first, so the refusal raised by the
    upload handler becomes a response instead of a server error. DRF views are left alone: they
    authenticate before reading the body and render the refusal themselves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.content_type != "multipart/form-data":
            return None
        if _is_api_view(request):
            return None
        try:
            request.POST  # noqa: B018 - parse now, with the limit, before anything else reads it
        except PayloadTooLargeError as exc:
            request._mark_post_parse_error()
            return HttpResponse(
                f"<!doctype html><title>Upload too large</title><h1>Upload too large</h1>"
                f"<p>{escape(exc.message)}</p><p><a href=''>Back to the form</a></p>",
                status=413,
            )
        return None
