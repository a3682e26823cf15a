"""The collection counters now live in `crowd.TrialLoad` (copied by crowd 0002)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0002_split_enums_and_generation_failure"),
        ("crowd", "0002_trialload"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="trial",
            name="studies_tri_study_i_97725d_idx",
        ),
        migrations.RemoveField(model_name="trial", name="leased_count"),
        migrations.RemoveField(model_name="trial", name="shown_straight"),
        migrations.RemoveField(model_name="trial", name="shown_swapped"),
        migrations.RemoveField(model_name="trial", name="valid_count"),
        migrations.AddIndex(
            model_name="trial",
            index=models.Index(
                fields=["study", "kind", "is_sentinel", "is_practice"],
                name="studies_tri_study_i_be006d_idx",
            ),
        ),
    ]
