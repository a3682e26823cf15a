"""Rate limits that never stand between a participant and their answer.

DRF keeps throttle counters in Django's cache, which is Redis in production. DESIGN: the response
path depends on PostgreSQL only, so when the cache cannot be reached a throttle lets the request
through and logs the outage (once a minute per process) instead of turning every answer into a
500. Limits resume by themselves when the cache is back. The cache's socket timeouts (settings,
CACHES) bound how long a request can wait on an unreachable Redis.

The limit is a fixed-window counter (one atomic increment per request) rather than DRF's sliding
window, which reads and rewrites the list of every request's timestamp in the window: at the
answer limit of 600 a minute that is up to 600 floats unpickled and pickled per answer, on the
hottest path of the platform. On Redis the increment and the key's expiry are one round trip (a
pipeline); other caches use `incr` and `add`. A fixed window lets a client use up to twice the
rate across a window boundary, which is enough for throttling abuse.
"""

from __future__ import annotations

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

from common.cache import CACHE_ERRORS, log_outage


class DegradingRateThrottle(SimpleRateThrottle):
    """A fixed-window rate limit that allows the request when its cache is unreachable."""

    window_end: float = 0.0

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        key = f"{key}:{window}"
        self.window_end = (window + 1) * self.duration
        try:
            count = self._increment(key)
        except CACHE_ERRORS as exc:
            log_outage(f"rate limit {self.scope} not applied", exc)
            return True
        return count <= self.num_requests

    def _increment(self, key: str) -> int:
        backend = self.cache
        if backend is default_cache:  # a proxy to the default cache
            backend = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(backend, RedisCache):
            # One round trip: INCR creates the key at 1, EXPIRE lets it go after its window.
            # Django's Redis cache stores integers as themselves, so `cache.get` reads the count.
            full_key = backend.make_and_validate_key(key)
            client = backend._cache.get_client(full_key, write=True)
            with client.pipeline(transaction=False) as pipe:
                pipe.incr(full_key)
                pipe.expire(full_key, int(self.duration) + 1)
                count, _ = pipe.execute()
            return count
        try:
            return self.cache.incr(key)
        except ValueError:  # the window's first request (or its key just expired)
            if self.cache.add(key, 1, self.duration + 1):
                return 1
            return self.cache.incr(key)

    def wait(self) -> float:
        return max(0.0, self.window_end - self.timer())
