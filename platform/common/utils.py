"""Small helpers shared by services."""

from __future__ import annotations

from typing import Any

from django.db import models


def model_update(
    *, instance: models.Model, data: dict[str, Any], fields: list[str]
) -> tuple[models.Model, bool]:
    """Set the listed fields present in `data`, validate, and save only what changed."""
    changed = []
    for field in fields:
        if field in data and getattr(instance, field) != data[field]:
            setattr(instance, field, data[field])
            changed.append(field)
    if changed:
        instance.full_clean()
        if hasattr(instance, "updated_at"):
            changed.append("updated_at")
        instance.save(update_fields=changed)
    return instance, bool(changed)
