"""Datasets keep the exact set of responses they were frozen from (issue #12, defect 7).

Datasets frozen before this migration get the set their exports used to read: the study's
responses received up to the freeze, valid by the freeze's rule with the QC status of today.
"""

import django.db.models.deletion
from django.db import migrations, models


def backfill(apps, schema_editor):
    Dataset = apps.get_model("analysis", "Dataset")
    DatasetJudgment = apps.get_model("analysis", "DatasetJudgment")
    Response = apps.get_model("crowd", "Response")
    for dataset in Dataset.objects.filter(source="study", study__isnull=False).iterator():
        rows = Response.objects.filter(
            trial__study_id=dataset.study_id, received_at__lte=dataset.created_at
        ).values_list(
            "pk", "item__counts", "trial__is_sentinel", "trial__is_practice", "participant__status"
        )
        DatasetJudgment.objects.bulk_create(
            (
                DatasetJudgment(
                    dataset_id=dataset.pk,
                    response_id=pk,
                    valid=bool(counts and not sentinel and not practice and status != "excluded"),
                )
                for pk, counts, sentinel, practice, status in rows.iterator()
            ),
            batch_size=2000,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('analysis', '0004_fit_seed_bound'),
        ('crowd', '0002_trialload'),
    ]

    operations = [
        migrations.CreateModel(
            name='DatasetJudgment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('valid', models.BooleanField()),
                ('dataset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='judgments', to='analysis.dataset')),
                ('response', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='crowd.response')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('dataset', 'response'), name='unique_dataset_judgment')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
