"""Table 5 end to end: one tiny BAPPS folder scored by `python -m metrics table5` and, imported,
by the platform's workers, gives the same numbers in the CLI's view and the leaderboard's
"Table 5" preset; a k-means trunk's sidecar in PERCEPTLAB_WEIGHTS_DIR puts its run on the
paper's K-means row through the worker's stored declaration."""

from __future__ import annotations

import json

import pytest
import torch

from analysis import datasets, leaderboard, services
from analysis.leaderboard.presets import board_table5
from metrics.cli import main
from metrics.supervision import write_trunk_meta
from metrics.table5 import lines
from metrics.training.synthetic import write_synthetic_bapps

pytestmark = pytest.mark.django_db


def test_cli_and_preset_agree(alice, tmp_path_factory, settings, capsys,
                              django_capture_on_commit_callbacks):  # fmt: skip
    base = tmp_path_factory.getbasetemp()  # PERCEPTLAB_IMPORT_ROOT in the tests
    root = base / "table5-bapps"
    write_synthetic_bapps(
        root, train={"mix": 2}, val={"traditional": 10, "cnn": 10}, size=64, seed=2, candidates=2
    )
    weights = tmp_path_factory.mktemp("weights")
    settings.PERCEPTLAB_WEIGHTS_DIR = str(weights)
    from metrics.lpips.trunks import TRUNKS, Trunk

    trunk = Trunk(TRUNKS["alex"])
    trunk.reset_random(11)
    kmeans = weights / "kmeans-alex.pth"
    torch.save({f"features.{k}": v for k, v in trunk.features.state_dict().items()}, kmeans)
    write_trunk_meta(kmeans, supervision="unsupervised", method="kmeans", arch="alexnet")

    # The command line.
    out = tmp_path_factory.mktemp("cli") / "t5.json"
    code = main(["table5", str(root), "--trunk", str(kmeans), "--no-progress",
                 "--resamples", "0", "--json", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    cli = {ln["row"]: ln for ln in lines(json.loads(out.read_text())) if ln["row"]}

    # The platform: import, score on the worker, read the preset.
    dataset = datasets.dataset_import_create(owner=alice, name="t5", path=str(root))
    datasets.dataset_import_run(dataset=dataset)
    for metric, options in [
        ("l2-lab", {}),
        ("lpips-alex", {"variant": "baseline", "trunk_weights": None}),
        ("lpips-alex", {"variant": "baseline", "trunk_weights": "kmeans-alex.pth"}),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            run = services.score_run_create(
                dataset=dataset, metric=metric, by=alice, options=options
            )
        run.refresh_from_db()
        assert run.status == "done", run.error
    board = leaderboard.board_data(dataset=dataset)
    view = board_table5(dataset=dataset, board=board)
    preset = {ln["row"]: ln for ln in lines(view) if ln["row"]}
    assert view["with_paper"]  # an imported folder with BAPPS's set names

    for row in ("human", "l2", "gaussian", "kmeans"):
        assert preset[row]["status"] == cli[row]["status"] == "computed", row
        ours = {c: v for c, v in preset[row]["ours"].items() if v is not None}
        assert ours == {c: v for c, v in cli[row]["ours"].items() if v is not None}, row
    assert preset["kmeans"]["source"]["run"] is not None
