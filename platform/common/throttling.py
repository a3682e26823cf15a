"""Rate limits that never stand between a participant and their answer.

DRF keeps throttle counters in Django's cache, which is Redis in production. DESIGN: the response
path depends on PostgreSQL only, so when the cache cannot be reached a throttle lets the request
through and logs the outage (once a minute per process) instead of turning every answer into a
500. Limits resume by themselves when the cache is back. The cache's socket timeouts (settings,
CACHES) bound how long a request can wait on an unreachable Redis.
"""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from common.cache import CACHE_ERRORS, log_outage


class DegradingRateThrottle(SimpleRateThrottle):
    """A `SimpleRateThrottle` that allows the request when its cache is unreachable."""

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            log_outage(f"rate limit {self.scope} not applied", exc)
            return True
