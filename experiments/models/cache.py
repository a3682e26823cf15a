"""Per-process cache of loaded models, keyed by SHA-256.

Workers load a model once per process: distortions call :func:`get_runtime` with the SHA-256
stored in their parameters and, when the model is not cached yet, fetch its bytes through the
caller's ``load_model(sha256) -> bytes`` (a database or storage lookup on the platform side). The
bytes are checked against the digest before use, so a wrong or corrupted blob is an error, never
a silently different stimulus.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from experiments.models._format import unpack_model

#: Models kept per process; a 64×64 CPU autoencoder is a few hundred kB.
MAX_CACHED = 128

_lock = threading.Lock()
_runtimes: OrderedDict[str, tuple[str, Any]] = OrderedDict()  # sha256 → (kind, runtime)


def remember(data: bytes) -> str:
    """Parse model bytes, cache the runtime, return its SHA-256."""
    blob = unpack_model(data)
    _store(blob.sha256, (blob.kind, _build(blob)))
    return blob.sha256


def get_runtime(
    sha256: str, load_model: Callable[[str], bytes] | None, kind: str | None = None
) -> Any:
    """The runtime for ``sha256``, loading it through ``load_model`` on a cache miss.

    Args:
        sha256: The model's digest.
        load_model: ``sha256 -> bytes``; only called on a cache miss.
        kind: If given, the model must be of this kind.

    Raises:
        ValueError: Not cached and no ``load_model`` given, the bytes do not match the digest, or
            the model is of another kind.
    """
    with _lock:
        entry = _runtimes.get(sha256)
        if entry is not None:
            _runtimes.move_to_end(sha256)
    if entry is None:
        if load_model is None:
            raise ValueError(
                f"model {sha256} is not loaded in this process; pass "
                "load_model=<callable sha256 -> bytes>"
            )
        blob = unpack_model(load_model(sha256), expected_sha256=sha256)
        entry = (blob.kind, _build(blob))
        _store(sha256, entry)
    if kind is not None and entry[0] != kind:
        raise ValueError(f"model {sha256} is a {entry[0]!r} model, expected {kind!r}")
    return entry[1]


def clear() -> None:
    """Forget every cached model (tests use it to exercise the load path)."""
    with _lock:
        _runtimes.clear()


def _store(sha256: str, entry: tuple[str, Any]) -> None:
    with _lock:
        _runtimes[sha256] = entry
        _runtimes.move_to_end(sha256)
        while len(_runtimes) > MAX_CACHED:
            _runtimes.popitem(last=False)


def _build(blob) -> Any:
    from experiments.models.kinds import get_kind

    return get_kind(blob.kind).load(blob)
