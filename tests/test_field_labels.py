"""Every field a researcher meets in the admin has a human label and a help text (issue #14).

Django's automatic label is the field name with underscores as spaces ("qc reasons", "rt ms",
"p0 sha256"); for names built from abbreviations that label is unclear, so those fields must
carry an explicit `verbose_name`. Every concrete field (primary keys Django adds excepted) must
carry a one-sentence `help_text`.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

APPS = ("studies", "crowd", "analysis", "common", "duels")
# Name parts (split on "_") whose automatic label reads as jargon.
ABBREVIATIONS = {"qc", "rt", "ms", "sha256", "p0", "p1", "n", "api"}


def _fields():
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            if model._meta.proxy:
                continue
            for field in model._meta.concrete_fields:
                if field.auto_created or isinstance(field, models.AutoField):
                    continue
                yield f"{model._meta.label}.{field.name}", field


FIELDS = dict(_fields())


def test_the_apps_have_fields():
    assert len(FIELDS) > 100
    assert "crowd.Response.rt_ms" in FIELDS


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_field_has_help_text(name):
    assert str(FIELDS[name].help_text).strip(), f"{name} has no help_text"


@pytest.mark.parametrize(
    "name",
    sorted(n for n, f in FIELDS.items() if ABBREVIATIONS & set(f.name.split("_"))),
)
def test_abbreviated_field_has_a_human_label(name):
    field = FIELDS[name]
    assert str(field.verbose_name) != field.name.replace("_", " "), (
        f"{name} still has Django's automatic label {field.verbose_name!r}"
    )
