"""Researchers' API tokens: create, rotate, revoke (services) and find (selectors).

A key is `pl_` + 32 random bytes (URL-safe base64); only its sha256 is stored
(`common.models.ApiToken`), so the key is shown exactly once, in the answer to the create or
rotate that made it. A researcher sees and changes only their own tokens: another researcher's
token id is answered like a missing one. The admin (`common.admin`) and the API
(`common.apis`) call these functions; `common.authentication` checks a presented key.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from common.exceptions import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from common.models import ApiToken
from common.permissions import is_researcher

KEY_PREFIX = "pl_"
SHOWN_PREFIX = 10  # characters of the key kept in clear to recognise it (`pl_` + 7)
# `last_used_at` is written at most this often per token: not one write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError(
            "Give the token a name (what it is for, e.g. “laptop”).", fields={"name": ["blank"]}
        )
    if len(name) > 100:
        raise ApplicationError(
            "A token name has at most 100 characters.", fields={"name": ["too long"]}
        )
    return name


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new active token for `user` (a researcher) and its key, which is not stored."""
    if not is_researcher(user):
        raise ForbiddenError("API tokens are for researchers (staff accounts).")
    key = _new_key()
    token = ApiToken.objects.create(
        user=user, name=_check_name(name), prefix=key[:SHOWN_PREFIX], key_hash=key_digest(key)
    )
    return token, key


@transaction.atomic
def api_token_rotate(*, token: ApiToken) -> tuple[ApiToken, str]:
    """Replace the token's key: the old key stops working at once; the new one is returned."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not token.is_active:
        raise ConflictError(f"Token “{token.name}” is revoked; create a new one instead.")
    key = _new_key()
    token.prefix, token.key_hash = key[:SHOWN_PREFIX], key_digest(key)
    token.rotated_at = timezone.now()
    token.save(update_fields=["prefix", "key_hash", "rotated_at"])
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop the token working (kept, revoked, so the list shows when). Revoking twice is fine."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


# ---------------------------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------------------------


def api_token_list(*, user):
    """The user's own tokens (never anyone else's, superusers included)."""
    return ApiToken.objects.filter(user=user) if is_researcher(user) else ApiToken.objects.none()


def api_token_get(*, user, pk: int) -> ApiToken:
    try:
        return api_token_list(user=user).get(pk=pk)
    except ApiToken.DoesNotExist:
        raise NotFoundError(f"API token {pk} not found.") from None


def api_token_for_key(key: str) -> ApiToken | None:
    """The active token whose key is `key` (its user loaded), noting when it was last used.
    (Keys adopted from DRF's authtoken have no `pl_` prefix: they are found the same way.)"""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_digest(key), revoked_at__isnull=True)
        .first()
    )
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token
