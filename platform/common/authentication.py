"""Token authentication against hashed keys (`common.tokens`), for the API and downloads.

`Authorization: Token <key>` as DRF's own TokenAuthentication reads it (same header, same 401
with `WWW-Authenticate: Token`), but the key is looked up by its sha256: the database holds no
usable key. `user_from_token` lets a plain Django view (a leaderboard's CSV download) accept the
same header.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        # Imported here: DRF imports this class while `common.exceptions` (which the token
        # services use) is itself importing DRF.
        from common import tokens

        token = tokens.api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token


def user_from_token(request):
    """The user of the request's `Authorization: Token …` header; None without the header.
    Raises `AuthenticationFailed` for a wrong, revoked or malformed key."""
    found = ApiTokenAuthentication().authenticate(request)
    return found[0] if found else None
