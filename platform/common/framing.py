"""Worker pages inside a recruiter's cross-site frame, with no cookies.

Mechanical Turk shows an ExternalQuestion in an iframe on its own site. Every other page keeps
`X-Frame-Options: DENY` (the admin, the API, researchers' pages); worker-facing pages answer
instead with a Content-Security-Policy `frame-ancestors` naming only the recruiters' origins
(`PERCEPTLAB_FRAME_ANCESTORS`, default MTurk production and sandbox), so they can be framed by
those and by nothing else.

Inside such a frame the browser sends no cookies of ours (SameSite=Lax, and third-party cookies
are being removed altogether), so the consent form cannot rely on Django's CSRF cookie. It
carries a signed entry token instead (`entry_token`/`entry_token_check`): it proves that the POST
answers a consent page this server rendered, for this study and this exact link, in the last
hours. Worker pages create no session and read no authentication cookie: the assignment token in
the URL is the only credential, so there is nothing for a cross-site request to ride on.
Researchers' pages keep Django's CSRF protection unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

ENTRY_SALT = "perceptlab.crowd.entry"
ENTRY_MAX_AGE_S = 12 * 3600


def recruiter_frameable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let the recruiters' sites (and only them) frame the pages this view returns."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.xframe_options_exempt = True  # XFrameOptionsMiddleware leaves it out
        ancestors = " ".join(["'self'", *settings.PERCEPTLAB_FRAME_ANCESTORS])
        response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
        return response

    return wrapped


def _link_fingerprint(slug: str, request: HttpRequest) -> str:
    query = sorted((k, v) for k in request.GET for v in request.GET.getlist(k))
    return hashlib.sha256(repr((slug, query)).encode()).hexdigest()[:32]


def entry_token(slug: str, request: HttpRequest) -> str:
    """A signed token for the consent form of `slug` opened with this request's exact link."""
    return signing.dumps({"link": _link_fingerprint(slug, request)}, salt=ENTRY_SALT)


def entry_token_check(slug: str, request: HttpRequest) -> str | None:
    """None when the POSTed `entry_token` is ours, recent and for this link; else the problem."""
    try:
        data = signing.loads(
            request.POST.get("entry_token", ""), salt=ENTRY_SALT, max_age=ENTRY_MAX_AGE_S
        )
    except signing.SignatureExpired:
        return "This consent page has expired; please open the study link again."
    except signing.BadSignature:
        return "This form was not sent from the study's consent page; please open the link again."
    if data.get("link") != _link_fingerprint(slug, request):
        return "This consent form belongs to another link; please open the study link again."
    return None
