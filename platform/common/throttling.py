"""Rate limits that never stand between a participant and their answer.

DRF keeps throttle counters in Django's cache, which is Redis in production. DESIGN: the response
path depends on PostgreSQL only, so when the cache cannot be reached a throttle lets the request
through and logs the outage (once a minute per process) instead of turning every answer into a
500. Limits resume by themselves when the cache is back. The cache's socket timeouts (settings,
CACHES) bound how long a request can wait on an unreachable Redis.
"""

from __future__ import annotations

import logging
import time

from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)

try:  # the client Django's RedisCache uses
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a dependency; kept for other cache backends
    RedisError = OSError  # type: ignore[assignment,misc]

CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
_LOG_EVERY_S = 60.0
_last_logged = {"at": -_LOG_EVERY_S}


class DegradingRateThrottle(SimpleRateThrottle):
    """A `SimpleRateThrottle` that allows the request when its cache is unreachable."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            now = time.monotonic()
            if now - _last_logged["at"] >= _LOG_EVERY_S:
                _last_logged["at"] = now
                log.warning(
                    "rate limit %s not applied: the cache is unreachable (%s: %s)",
                    self.scope,
                    type(exc).__name__,
                    exc,
                )
            return True
