"""Collection counters move from `studies.Trial` to crowd's own `TrialLoad` (one row per regular
trial). Studies that are live or closed get their rows now, with the counts they had; the others
get them when they go live."""

import django.db.models.deletion
from django.db import migrations, models


def copy_counters(apps, schema_editor):
    Trial = apps.get_model("studies", "Trial")
    TrialLoad = apps.get_model("crowd", "TrialLoad")
    regular = Trial.objects.filter(
        is_practice=False, is_sentinel=False, study__status__in=["live", "closed"]
    )
    rows = regular.values_list(
        "pk", "valid_count", "leased_count", "shown_straight", "shown_swapped"
    )
    TrialLoad.objects.bulk_create(
        [
            TrialLoad(
                trial_id=pk,
                valid_count=valid,
                leased_count=leased,
                shown_straight=straight,
                shown_swapped=swapped,
            )
            for pk, valid, leased, straight, swapped in rows.iterator()
        ],
        batch_size=1000,
    )


def copy_back(apps, schema_editor):
    Trial = apps.get_model("studies", "Trial")
    TrialLoad = apps.get_model("crowd", "TrialLoad")
    for load in TrialLoad.objects.all().iterator():
        Trial.objects.filter(pk=load.trial_id).update(
            valid_count=load.valid_count,
            leased_count=load.leased_count,
            shown_straight=load.shown_straight,
            shown_swapped=load.shown_swapped,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("crowd", "0001_initial"),
        ("studies", "0002_split_enums_and_generation_failure"),
    ]

    operations = [
        migrations.CreateModel(
            name="TrialLoad",
            fields=[
                (
                    "trial",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="load",
                        serialize=False,
                        to="studies.trial",
                    ),
                ),
                ("valid_count", models.PositiveIntegerField(default=0)),
                ("leased_count", models.PositiveIntegerField(default=0)),
                ("shown_straight", models.PositiveIntegerField(default=0)),
                ("shown_swapped", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(copy_counters, copy_back),
    ]
