"""The demo scores the rows of the paper's Table 5 that need no downloaded weights, and each lands
on its paper row of the leaderboard's "Table 5" preset."""

from __future__ import annotations

import pytest

from analysis import services
from demo.management.commands.demo_run import table5_rows
from metrics.table5 import place
from tests.analysis.boards import make_dataset

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("random_trunk", [True, False])
def test_demo_rows_land_on_paper_rows_and_are_accepted(
    alice, random_trunk, django_capture_on_commit_callbacks
):
    rows = table5_rows(random_trunk=random_trunk, display_scale=4)
    placed = {place(metric=m, options=o).row for m, o in rows}
    assert {"l2", "ssim", "fsimc", "gaussian"} <= placed
    assert None not in placed
    if not random_trunk:
        assert {"squeeze", "alex", "vgg"} <= placed
    dataset = make_dataset(alice, judges={"traditional": [0.0, 1.0]})
    with django_capture_on_commit_callbacks(execute=False):
        for metric, options in rows:
            services.score_run_create(dataset=dataset, metric=metric, by=alice, options=options)
