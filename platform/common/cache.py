"""Django's cache as an optimisation only: reads and writes that survive a cache outage.

The cache is Redis in production. Pages that cache what they compute (leaderboards, planning)
must keep working while Redis is down: a failed read is a miss, a failed write is skipped, and the
outage is logged once a minute per process. The cache's socket timeouts (settings) bound the wait.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache

log = logging.getLogger(__name__)

try:  # the client Django's RedisCache uses
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a dependency; kept for other cache backends
    RedisError = OSError  # type: ignore[assignment,misc]

CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
_LOG_EVERY_S = 60.0
_last_logged = {"at": -_LOG_EVERY_S}


def log_outage(what: str, exc: BaseException) -> None:
    """Log a cache outage at most once a minute per process."""
    now = time.monotonic()
    if now - _last_logged["at"] >= _LOG_EVERY_S:
        _last_logged["at"] = now
        log.warning("%s: the cache is unreachable (%s: %s)", what, type(exc).__name__, exc)


def cache_get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except CACHE_ERRORS as exc:
        log_outage("cache read skipped", exc)
        return default


def cache_set(key: str, value: Any, timeout: float | None) -> None:
    try:
        cache.set(key, value, timeout)
    except CACHE_ERRORS as exc:
        log_outage("cache write skipped", exc)


def cache_add(key: str, value: Any, timeout: float | None, *, unavailable: bool = True) -> bool:
    """`cache.add`; when the cache is down, `unavailable` (True: behave as if the key was new)."""
    try:
        return cache.add(key, value, timeout)
    except CACHE_ERRORS as exc:
        log_outage("cache add skipped", exc)
        return unavailable


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except CACHE_ERRORS as exc:
        log_outage("cache delete skipped", exc)
