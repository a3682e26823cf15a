"""Trial splits are train/val only (blank for practice and sentinel trials, which are in no
split); a failed generation gets its own status (`failed`) with the error in `Study.error`;
design limits the API repeated are now on the model fields."""

import django.core.validators
from django.db import migrations, models

import studies.models


def splits_forward(apps, schema_editor):
    Trial = apps.get_model("studies", "Trial")
    Trial.objects.filter(models.Q(is_practice=True) | models.Q(is_sentinel=True)).update(split="")
    bad = (
        Trial.objects.filter(is_practice=False, is_sentinel=False)
        .exclude(split__in=["train", "val"])
        .values_list("study_id", "index", "split")[:20]
    )
    if bad:
        raise RuntimeError(
            "Regular trials with a split other than train/val (study, index, split): "
            f"{list(bad)}; fix them before migrating."
        )


def splits_backward(apps, schema_editor):
    Trial = apps.get_model("studies", "Trial")
    Trial.objects.filter(is_practice=True).update(split="practice")
    Trial.objects.filter(is_practice=False, is_sentinel=True).update(split="sentinel")


def failed_forward(apps, schema_editor):
    # Until now a failed generation stayed `generating` with its error recorded.
    Study = apps.get_model("studies", "Study")
    Study.objects.filter(status="generating").exclude(error="").update(status="failed")


def failed_backward(apps, schema_editor):
    Study = apps.get_model("studies", "Study")
    Study.objects.filter(status="failed").update(status="generating")


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="GeneratingStudy",
            fields=[],
            options={
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("studies.study",),
        ),
        migrations.RenameField(
            model_name="study",
            old_name="generation_error",
            new_name="error",
        ),
        migrations.AlterField(
            model_name="study",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("generating", "Generating stimuli"),
                    ("failed", "Generation failed"),
                    ("ready", "Ready"),
                    ("live", "Live"),
                    ("closed", "Closed"),
                ],
                default="draft",
                editable=False,
                max_length=16,
            ),
        ),
        migrations.RunPython(failed_forward, failed_backward),
        migrations.AlterField(
            model_name="distortionspec",
            name="category",
            field=models.SlugField(
                db_index=False,
                default="traditional",
                help_text="Scoring category (BAPPS: traditional, cnn, superres, deblur, color, frameinterp)",
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="break_every",
            field=models.PositiveIntegerField(
                default=50,
                help_text="Offer a break after this many trials (0: never)",
                validators=[django.core.validators.MaxValueValidator(10000)],
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="instructions",
            field=models.TextField(
                blank=True,
                help_text="Markdown shown to participants (rendered safely)",
                max_length=50000,
                validators=[django.core.validators.MaxLengthValidator(50000)],
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="max_assignments_per_participant",
            field=models.PositiveSmallIntegerField(
                default=1,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(1000),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="qc_rt_floor_ms",
            field=models.PositiveIntegerField(
                default=250,
                help_text="Answers faster than this count as too fast",
                validators=[django.core.validators.MaxValueValidator(60000)],
            ),
        ),
        migrations.AlterField(
            model_name="study",
            name="seed",
            field=models.PositiveIntegerField(
                default=studies.models._random_seed,
                help_text="Seeds every random draw of the study",
                validators=[django.core.validators.MaxValueValidator(2147483647)],
            ),
        ),
        migrations.AlterField(
            model_name="trialquota",
            name="category",
            field=models.SlugField(db_index=False, default="traditional", max_length=40),
        ),
        migrations.AlterField(
            model_name="trial",
            name="split",
            field=models.CharField(
                blank=True,
                choices=[("train", "train"), ("val", "val")],
                help_text="train / val; blank for practice and sentinel trials, which are in no split",
                max_length=8,
            ),
        ),
        migrations.RunPython(splits_forward, splits_backward),
        migrations.AddConstraint(
            model_name="trial",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("is_practice", False), ("is_sentinel", False), ("split__in", ["train", "val"])),
                    models.Q(
                        models.Q(("is_practice", True), ("is_sentinel", True), _connector="OR"),
                        ("split", ""),
                    ),
                    _connector="OR",
                ),
                name="trial_split_matches_role",
                violation_error_message="A regular trial's split must be train or val; practice and sentinel trials have no split.",
            ),
        ),
    ]
