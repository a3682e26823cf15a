"""Serializer fields shared by several APIs."""

from django.contrib.auth import get_user_model
from rest_framework import serializers


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
