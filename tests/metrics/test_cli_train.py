"""``python -m metrics train``: outputs, resume by re-running, and clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from metrics.bapps import write_2afc
from metrics.cli import main
from metrics.training.synthetic import judged_triplets, write_synthetic_bapps

SIZE = 32
QUICK = [
    "--trunk-weights",
    "random",
    "--epochs",
    "1",
    "--decay-epochs",
    "1",
    "--lr",
    "0.01",
    "--batch-size",
    "20",
    "--no-progress",
    "--load-size",
    str(SIZE),
]


@pytest.fixture(scope="module")
def bapps(tmp_path_factory):
    root = tmp_path_factory.mktemp("bapps")
    write_synthetic_bapps(
        root, train={"traditional": 30, "cnn": 30}, val={"cnn": 30}, size=SIZE, seed=4
    )
    return root


def _train(capsys, *argv):
    code = main(["train", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_it_trains_writes_outputs_and_resumes_when_run_again(bapps, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = _train(capsys, bapps, "--out", out_dir, *QUICK)
    assert code == 0, err
    assert "training on 60 triplets, fast path, 2 epochs" in out
    assert "epoch 1/2  lr 1.00e-02" in out and "epoch 2/2  lr 1.00e-02" in out
    assert "Human" in out and "Trad" not in out  # only cnn in val: no Trad column
    results = json.loads((out_dir / "results.json").read_text())
    assert [h["epoch"] for h in results["history"]] == [0, 1, 2]
    assert results["config"]["net"] == "alex" and results["config"]["trunk_weights"] is None
    assert results["val_report"]["categories"]["cnn"]["n"] == 30
    lin = torch.load(out_dir / "lin.pth", weights_only=True)
    assert list(lin) == [f"lin{k}.model.1.weight" for k in range(5)]

    from metrics import create_metric

    create_metric("lpips-alex", trunk_weights=None, lin_weights=str(out_dir / "lin.pth"))

    code, out, err = _train(capsys, bapps, "--out", out_dir, *QUICK)
    assert code == 0, err
    assert "resuming from ckpt-e002-s000000.pt" in out
    assert "epoch 1/2" not in out
    again = torch.load(out_dir / "lin.pth", weights_only=True)
    assert all(torch.equal(lin[k], again[k]) for k in lin)


def test_changed_settings_in_an_existing_out_folder_are_refused(bapps, tmp_path, capsys):
    assert _train(capsys, bapps, "--out", tmp_path, *QUICK)[0] == 0
    code, _, err = _train(capsys, bapps, "--out", tmp_path, *QUICK, "--seed", "5")
    assert code == 2 and "other settings (seed)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variant", "scratch", "--trunk-weights", "imagenet"], "trunk_weights=None"),
        (["--variant", "tune", "--path", "fast"], "fast path needs a frozen trunk"),
        (["--train-sets", "mix"], "2afc/train has no mix (present: traditional, cnn)"),
        (["--val-sets", "deblur"], "2afc/val has no deblur"),
        (["--batch-size", "0"], "batch_size must be an integer ≥ 1"),
        (["--trunk-weights", "no/such/alexnet.pth"], "trunk weights file no/such/alexnet.pth"),
    ],
)
def test_bad_settings_give_one_clear_error(bapps, tmp_path, capsys, args, message):
    code, _, err = _train(capsys, bapps, "--out", tmp_path, *QUICK[2:], *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "lin.pth").exists()


def test_a_folder_without_a_train_split_is_rejected(tmp_path, capsys):
    from metrics.training.synthetic import HiddenMetric, hidden_lin_weights

    hidden = HiddenMetric("alex", 0, hidden_lin_weights((64, 192, 384, 256, 256), 0), 0.02)
    write_2afc(
        tmp_path / "data", "val", "cnn", judged_triplets(hidden, 3, size=SIZE, judges=5, seed=0)
    )
    code, _, err = _train(capsys, tmp_path / "data", "--out", tmp_path / "o", *QUICK)
    assert code == 2 and "no 2afc/train split" in err
    code, _, err = _train(capsys, tmp_path / "missing", "--out", tmp_path / "o", *QUICK)
    assert code == 2 and "is not a folder" in err


@pytest.mark.parametrize(
    "args",
    [["--net", "resnet"], ["--variant", "linear"], ["--epochs", "two"], []],
    ids=["net", "variant", "epochs", "no-out"],
)
def test_argument_errors_exit_with_usage(bapps, tmp_path, capsys, args):
    out = [] if not args else ["--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exc:
        main(["train", str(bapps), *out, *args])
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err
