"""Serializer fields shared by several APIs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from rest_framework import serializers

from common.exceptions import NotFoundError


class UsernameListField(serializers.ListField):
    """A list of usernames of researchers (active staff users), returned as User objects."""

    child = serializers.CharField(max_length=150)

    def to_internal_value(self, data):
        names = super().to_internal_value(data)
        users = list(
            get_user_model().objects.filter(username__in=names, is_active=True, is_staff=True)
        )
        missing = sorted(set(names) - {u.username for u in users})
        if missing:
            raise serializers.ValidationError(f"Unknown researcher(s): {', '.join(missing)}.")
        return users


def model_field(model: type[models.Model], name: str, **overrides: Any) -> serializers.Field:
    """The serializer field for `model.name`, its bounds (max_length, min/max value, choices)
    taken from the model field, so a limit is written once, on the model.

    `overrides` are serializer field arguments (`required=False`, `default=...`).
    """
    field = model._meta.get_field(name)
    field_class, kwargs = serializers.ModelSerializer().build_standard_field(name, field)
    for key in ("read_only", "model_field"):
        kwargs.pop(key, None)
    kwargs.update(overrides)
    return field_class(**kwargs)


class ScopedObjectField(serializers.IntegerField):
    """An id in a request body naming an object the caller must be allowed to see.

    `getter(user=..., pk=...)` is the selector that returns it or raises `NotFoundError`; a
    foreign id and a missing one give the same 400 message, so ids do not leak.
    """

    def __init__(self, getter: Callable[..., Any], **kwargs: Any) -> None:
        self.getter = getter
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        pk = super().to_internal_value(data)
        try:
            return self.getter(user=self.context["request"].user, pk=pk)
        except NotFoundError as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value):
        return value.pk if hasattr(value, "pk") else value
