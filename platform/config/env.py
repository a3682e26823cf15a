"""Strict readers for environment variables.

A setting that cannot be parsed stops start-up with a message naming the variable: `DEBUG=maybe`
must not quietly mean False (django-environ's own bool reader treats any unknown word as False).
URLs are parsed by django-environ, which knows every database scheme Django supports.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _raw(name: str, environ_: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ_ is None else environ_).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(
    name: str, default: str | None = None, *, environ_: Mapping[str, str] | None = None
) -> str | None:
    """Return the variable as a string, or `default` when unset or blank."""
    value = _raw(name, environ_)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ_: Mapping[str, str] | None = None) -> bool:
    """Parse true/false/1/0/yes/no/on/off (any case); anything else is a configuration error."""
    value = _raw(name, environ_)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={value!r} is not a boolean; use one of "
        f"{sorted(_TRUE | _FALSE)}."
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ_: Mapping[str, str] | None = None,
) -> int:
    """Parse an integer, optionally bounded; a non-integer or out-of-range value is an error."""
    value = _raw(name, environ_)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} is not an integer."
        ) from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(
            f"Environment variable {name}={number} is outside the allowed range "
            f"[{minimum if minimum is not None else '-inf'}, {maximum if maximum is not None else 'inf'}]."
        )
    return number


def env_list(
    name: str, default: list[str], *, environ_: Mapping[str, str] | None = None
) -> list[str]:
    """Parse a comma-separated list; blank items are dropped."""
    value = _raw(name, environ_)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_database(
    name: str, default: dict[str, Any], *, environ_: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parse a database URL (postgres://user@host:port/name, sqlite:////abs/path)."""
    value = _raw(name, environ_)
    if value is None:
        return default
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types for malformed URLs
        raise ImproperlyConfigured(
            f"Environment variable {name} is not a valid database URL: {exc}"
        ) from None
    # django-environ passes unknown schemes through as the engine name; only known ones are real.
    if config.get("ENGINE") not in set(environ.Env.DB_SCHEMES.values()):
        scheme = value.split(":", 1)[0]
        raise ImproperlyConfigured(
            f"Environment variable {name} uses unknown database scheme {scheme!r}; use postgres:// or sqlite://."
        )
    return config


def env_secret(name: str, *, environ_: Mapping[str, str] | None = None) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (docker/k8s secrets)."""
    value = _raw(name, environ_)
    if value is not None:
        return value
    path = _raw(f"{name}_FILE", environ_)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name}_FILE={path!r} cannot be read: {exc}"
        ) from None
