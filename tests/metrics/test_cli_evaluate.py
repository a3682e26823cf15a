"""``python -m metrics evaluate``: Table 5 layout, human row, JND mAP, JSON output, bad arguments."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from metrics.bapps import BappsDataset
from metrics.cli import main
from metrics.cli.evaluate import NAME_WIDTH
from metrics.scoring import human_ceiling, jnd_map, twoafc_score
from metrics.training.synthetic import write_synthetic_bapps

SIZE = 32


@pytest.fixture(scope="module")
def bapps(tmp_path_factory):
    root = tmp_path_factory.mktemp("bapps")
    hidden = write_synthetic_bapps(
        root, train={"mix": 10}, val={"traditional": 40, "cnn": 40, "superres": 30},
        jnd={"traditional": 30, "cnn": 30}, size=SIZE, seed=0,
    )  # fmt: skip
    weights = root.parent / "hidden_lin.pth"
    torch.save(hidden.lin_state_dict, weights)
    return root, hidden, weights


def _run(capsys, *argv):
    code = main(["evaluate", *map(str, argv), "--no-progress", "--load-size", str(SIZE)])
    out, err = capsys.readouterr()
    return code, out, err


def _stack(items, member):
    return torch.from_numpy(np.stack([getattr(i, member) for i in items])).permute(0, 3, 1, 2)


def _direct_scores(metric, root):
    """Scores from the model called once per set with plain forward() (no CLI, no batching)."""
    data = BappsDataset(root, as_float=True, load_size=SIZE)
    out = {}
    with torch.no_grad():
        for name in data.categories("2afc", "val"):
            items = list(data.twoafc("val", name))
            ref, p0, p1 = (_stack(items, m) for m in ("ref", "p0", "p1"))
            judge = [i.judge for i in items]
            out[name] = (
                twoafc_score(metric(ref, p0), metric(ref, p1), judge),
                human_ceiling(judge),
            )
        for name in data.categories("jnd", "val"):
            items = list(data.jnd("val", name))
            d = metric(_stack(items, "p0"), _stack(items, "p1"))
            out[f"jnd/{name}"] = jnd_map(d, [i.same for i in items])
    return out


def test_it_prints_table_5_with_intervals_human_row_and_jnd(bapps, tmp_path, capsys):
    root, hidden, weights = bapps
    out_json = tmp_path / "res.json"
    code, out, err = _run(
        capsys,
        root,
        "--metric",
        "lpips-alex",
        "--weights",
        weights,
        "--metric",
        "l2",
        "--trunk-weights",
        "random",
        "--resamples",
        "200",
        "--json",
        out_json,
    )
    assert code == 0, err
    twoafc_part, jnd_part = out.split("JND mAP (%)")
    lines = twoafc_part.splitlines()
    header = next(line for line in lines if line.startswith("metric"))
    assert header.split() == ["metric", "Trad", "CNN", "All-dist", "SR", "All-real", "All"]
    # Row label in the first NAME_WIDTH characters, cells after; interval rows start blank.
    rows = {
        line[:NAME_WIDTH].strip(): line[NAME_WIDTH:].split()
        for line in lines
        if line and not line[0].isspace()
    }
    assert {"lpips-alex (hidden_lin.pth)", "l2", "Human"} <= set(rows)
    assert jnd_part.splitlines()[1].split() == ["metric", "Trad", "CNN", "All"]
    assert "* averages only the sets present" in out  # no deblur/color/frameinterp here

    payload = json.loads(out_json.read_text())
    first = payload["results"][0]
    assert first["metric"] == "lpips-alex (hidden_lin.pth)"
    direct = _direct_scores(hidden.create(), root)
    for name in ("traditional", "cnn", "superres"):
        category = first["2afc"]["categories"][name]
        assert category["score"] == pytest.approx(direct[name][0], abs=1e-12)
        assert category["human"] == pytest.approx(direct[name][1], abs=1e-12)
        assert category["ci_low"] <= category["score"] <= category["ci_high"]
    for name in ("traditional", "cnn"):
        jnd = first["jnd"]["categories"][name]["score"]
        assert jnd == pytest.approx(direct[f"jnd/{name}"], abs=1e-12)
    scores = first["2afc"]["categories"]
    printed = rows["lpips-alex (hidden_lin.pth)"][:3]
    trad, cnn = scores["traditional"]["score"], scores["cnn"]["score"]
    assert printed == [f"{100 * trad:.1f}", f"{100 * cnn:.1f}", f"{50 * (trad + cnn):.1f}"]
    assert rows["Human"][0] == f"{100 * scores['traditional']['human']:.1f}"
    assert rows["lpips-alex (hidden_lin.pth)"][-1].endswith("*")  # "All" lacks 3 sets
    assert first["2afc"]["aggregates"]["all_real"]["complete"] is False
    assert payload["results"][1]["metric"] == "l2"


def test_set_selection_and_no_jnd(bapps, tmp_path, capsys):
    root, _, _ = bapps
    code, out, _ = _run(
        capsys,
        root,
        "--metric",
        "psnr",
        "--sets",
        "cnn",
        "--jnd-sets",
        "",
        "--resamples",
        "0",
        "--json",
        tmp_path / "r.json",
    )
    assert code == 0
    assert "JND" not in out
    payload = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert list(payload["2afc"]["categories"]) == ["cnn"]
    assert payload["jnd"] is None
    assert payload["2afc"]["categories"]["cnn"]["ci_low"] is None


def test_options_go_to_the_metrics_that_take_them(bapps, tmp_path, capsys):
    root, _, _ = bapps
    code, _, err = _run(
        capsys,
        root,
        "--metric",
        "ssim",
        "--metric",
        "l2",
        "-o",
        "preset=lpips-baseline",
        "--sets",
        "cnn",
        "--jnd-sets",
        "",
        "--resamples",
        "0",
        "--json",
        tmp_path / "r.json",
    )
    assert code == 0, err
    payload = json.loads((tmp_path / "r.json").read_text())["results"]
    from metrics import create_metric

    expected = evaluate_cnn(create_metric("ssim", preset="lpips-baseline"), root)
    assert payload[0]["2afc"]["categories"]["cnn"]["score"] == pytest.approx(expected, abs=1e-12)
    code, _, err = _run(capsys, root, "--metric", "l2", "-o", "preset=x")
    assert code == 2 and "option 'preset' applies to none of l2" in err


def evaluate_cnn(metric, root):
    from metrics.training.evaluation import evaluate

    report = evaluate(
        metric, root, categories=["cnn"], jnd_categories=[], n_resamples=0, load_size=SIZE
    )
    return report.twoafc.categories["cnn"].score


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "lpips-alx"], "unknown metric 'lpips-alx'. Did you mean lpips-alex"),
        (["--metric", "l2", "--weights", "{weights}"], "--weights (LPIPS lin weights) does not"),
        (["--weights", "missing.pth", "--trunk-weights", "random"], "missing.pth does not exist"),
        (["--metric", "l2", "--trunk-weights", "random"], "applies to LPIPS metrics only"),
        (["--metric", "l2", "--sets", "cnn,deblur"], "2afc/val has no deblur"),
        (["--metric", "l2", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["--metric", "l2", "--split", "test"], "no 2afc/test or jnd/test sets"),
    ],
)
def test_bad_arguments_give_one_clear_error(bapps, tmp_path, capsys, args, message):
    root, _, weights = bapps
    args = [a.replace("{weights}", str(weights)) for a in args]
    code, _, err = _run(capsys, root, *args, "--json", tmp_path / "r.json")
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_folders_that_are_not_bapps_are_rejected(tmp_path, capsys):
    code, _, err = _run(capsys, tmp_path / "nowhere", "--metric", "l2")
    assert code == 2 and "is not a folder" in err
    code, _, err = _run(capsys, tmp_path, "--metric", "l2")
    assert code == 2 and "no 2afc/ or jnd/ folder" in err


def test_python_dash_m_entry_point_writes_json_in_the_working_folder(bapps, tmp_path):
    root, _, _ = bapps
    proc = subprocess.run(
        [sys.executable, "-m", "metrics", "evaluate", str(root), "--metric", "l2",
         "--resamples", "50", "--no-progress", "--load-size", str(SIZE)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "PYTHONPATH": str(__import__("pathlib").Path.cwd())},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    payload = json.loads((tmp_path / "evaluate.json").read_text())
    assert payload["results"][0]["metric"] == "l2"
    assert np.isfinite(payload["results"][0]["2afc"]["aggregates"]["all"]["score"])
