"""Who may do what to an object they can see (seeing it is the selectors' business)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from common.exceptions import ForbiddenError


def require_owner(obj, *, by: AbstractBaseUser | None, action: str) -> None:
    """Refuse `action` unless `by` owns `obj` (or is a superuser). `by=None` is the system
    (management commands, tasks), which may do anything."""
    if by is None or by.is_superuser or obj.owner_id == by.pk:
        return
    raise ForbiddenError(f"Only the owner can {action}.", code="owner_only")
