"""Scoring `cvvdp` on the platform: the display model's scale defaults to the study's, and bad
display values are a 400 before anything is stored (checked torch-free)."""

from __future__ import annotations

import pytest

from analysis import datasets, services
from analysis.models import ScoreRun
from common.exceptions import ApplicationError
from tests.analysis.boards import make_dataset
from tests.analysis.studydata import choose
from tests.factories import collect, make_live_study

pytestmark = pytest.mark.django_db


def test_the_study_display_scale_is_the_default(alice, django_capture_on_commit_callbacks):
    study = make_live_study(alice, trials=4, sentinels=1, needed=1, display_scale=3)
    collect(study, 1, choose)  # sentinels right: "left" throughout failed them for some seeds
    dataset = datasets.dataset_freeze(study=study, by=alice)
    with django_capture_on_commit_callbacks(execute=False):
        run = services.score_run_create(dataset=dataset, metric="cvvdp", by=alice)
        other = services.score_run_create(
            dataset=dataset, metric="cvvdp", by=alice, options={"display_scale": 1}
        )
    assert run.options == {"display_scale": 3}
    assert other.options == {"display_scale": 1}


@pytest.mark.parametrize(
    "options",
    [{"display_scale": 0}, {"viewing_distance_m": -2}, {"pixels_per_degree": "many"}],
)
def test_bad_display_values_are_400s_and_nothing_is_stored(alice, options):
    dataset = make_dataset(alice, judges={"traditional": [0.0, 1.0]})
    with pytest.raises(ApplicationError) as caught:
        services.score_run_create(dataset=dataset, metric="cvvdp", by=alice, options=options)
    assert caught.value.code == "invalid_options" and next(iter(options)) in caught.value.message
    assert not ScoreRun.objects.filter(dataset=dataset).exists()
