"""The Table-5 view (``metrics.table5``, ``python -m metrics table5``): the paper's groups and row
order, its published numbers, placement by declared supervision, "not available" rows, notes on
random trunks, and the command line end to end on a tiny BAPPS folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from metrics.bapps import BappsDataset
from metrics.cli import main
from metrics.scoring import PAPER_COLUMNS
from metrics.supervision import write_trunk_meta
from metrics.table5 import (
    GROUPS,
    IMAGENET_FILES,
    PAPER,
    ROWS,
    Entry,
    Placement,
    build_view,
    is_paper_dataset,
    lines,
    place,
)
from metrics.training.evaluation import evaluate
from metrics.training.synthetic import write_synthetic_bapps

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared/reference/lpips-bapps.md"

# The paper's Table 5, top to bottom: (group, method) as printed (reference §7.1).
PAPER_ORDER = [
    ("oracle", "Human"),
    ("low-level", "L2"), ("low-level", "SSIM"), ("low-level", "FSIMc"), ("low-level", "HDR-VDP"),
    ("random", "Gaussian"),
    ("unsupervised", "K-means (Krähenbühl et al.)"),
    ("self-supervised", "Watching (Pathak'17)"), ("self-supervised", "Split-Brain"),
    ("self-supervised", "Puzzle (Noroozi)"), ("self-supervised", "BiGAN"),
    ("supervised", "SqueezeNet"), ("supervised", "AlexNet"), ("supervised", "VGG"),
    ("lpips", "Squeeze-lin"), ("lpips", "Alex-lin"), ("lpips", "VGG-lin"),
    ("lpips", "Squeeze-scratch"), ("lpips", "Alex-scratch"), ("lpips", "VGG-scratch"),
    ("lpips", "Squeeze-tune"), ("lpips", "Alex-tune"), ("lpips", "VGG-tune"),
]  # fmt: skip


def test_rows_are_grouped_and_ordered_as_in_the_paper():
    assert [(r.group, r.label) for r in ROWS] == PAPER_ORDER
    assert [g.key for g in GROUPS] == [
        "oracle", "low-level", "random", "unsupervised", "self-supervised", "supervised", "lpips",
    ]  # fmt: skip
    assert set(PAPER) == {r.key for r in ROWS}


@pytest.mark.skipif(not REFERENCE.is_file(), reason=f"{REFERENCE} is not on this machine")
def test_paper_numbers_are_the_reference_table():
    text = REFERENCE.read_text(encoding="utf-8")
    section = text.split("### 7.1", 1)[1].split("\\*The LPIPS rows", 1)[0]
    table = []
    for row in section.splitlines():
        cells = [c.strip().strip("*") for c in row.strip().strip("|").split("|")]
        if len(cells) == 11 and re.fullmatch(r"\d+\.\d", cells[2]):
            table.append((cells[1], tuple(float(c) for c in cells[2:])))
    assert [method for method, _ in table] == [label for _, label in PAPER_ORDER]
    for row, (_method, numbers) in zip(ROWS, table, strict=True):
        assert PAPER[row.key] == numbers, row.key


def test_imagenet_file_names_are_torchvisions():
    from metrics.lpips.trunks import TRUNKS, checkpoint_filename

    assert {net: checkpoint_filename(spec) for net, spec in TRUNKS.items()} == IMAGENET_FILES


@pytest.mark.parametrize(
    ("kwargs", "group", "row"),
    [
        ({"metric": "l2-lab"}, "low-level", "l2"),
        ({"metric": "ssim", "options": {"preset": "lpips-baseline"}}, "low-level", "ssim"),
        ({"metric": "fsimc"}, "low-level", "fsimc"),
        ({"metric": "cvvdp"}, "low-level", "hdr-vdp"),
        ({"metric": "psnr"}, "low-level", None),
        ({"metric": "l2"}, "low-level", None),  # RGB: not the paper's (Lab) L2
        ({"metric": "ssim"}, "low-level", None),  # the default preset: not the paper's SSIM
        ({"metric": "ssim", "options": {"preset": "default"}}, "low-level", None),
        ({"metric": "lpips-alex", "options": {"variant": "baseline", "trunk_weights": None}},
         "random", "gaussian"),
        ({"metric": "lpips-vgg", "options": {"variant": "baseline", "trunk_weights": None}},
         "random", None),
        ({"metric": "lpips-vgg", "options": {"variant": "baseline"}}, "supervised", "vgg"),
        ({"metric": "deep-alexnet"}, "supervised", "alex"),
        ({"metric": "deep-resnet18"}, "supervised", None),
        ({"metric": "lpips-squeeze"}, "lpips", "squeeze-lin"),
        ({"metric": "lpips-alex", "options": {"variant": "baseline", "trunk_weights": "k.pth"}},
         "undeclared", None),
        ({"metric": "lpips-alex", "options": {"variant": "baseline", "trunk_weights": "k.pth"},
          "trunk": {"weights": "k.pth", "supervision": "unsupervised", "method": "kmeans"}},
         "unsupervised", "kmeans"),
        ({"metric": "lpips-alex", "options": {"variant": "baseline", "trunk_weights": "b.pth"},
          "trunk": {"weights": "b.pth", "supervision": "self-supervised", "method": "bigan"}},
         "self-supervised", "bigan"),
        ({"metric": "lpips-alex", "options": {"variant": "baseline", "trunk_weights": "c.pth"},
          "trunk": {"weights": "c.pth", "supervision": "self-supervised", "method": "colorization"}},
         "self-supervised", None),
        ({"metric": "fitted:4", "fit": {"net": "vgg", "variant": "tune", "trunk": ""}},
         "lpips", "vgg-tune"),
        ({"metric": "fitted:5", "fit": {"net": "alex", "variant": "scratch", "trunk": "random"}},
         "lpips", "alex-scratch"),
        ({"metric": "lpips-alex", "options": {"variant": "baseline", "trunk_weights": "kmeans:3"},
          "trunk": {"weights": "abc.pt", "supervision": "undeclared", "method": None}},
         "unsupervised", "kmeans"),
        ({"metric": "uploaded:2"}, "other", None),
        ({"metric": "dists"}, "other", None),
    ],
)  # fmt: skip
def test_place_follows_the_declared_supervision(kwargs, group, row):
    placement = place(**kwargs)
    assert (placement.group, placement.row) == (group, row)


def test_a_low_level_metric_computed_otherwise_is_an_extra_line_saying_what_the_row_uses():
    l2, ssim = place(metric="l2"), place(metric="ssim")
    assert l2.notes == ("not the paper's computation: its L2 row is `l2-lab` (the official "
                        "baseline's Lab L2)",)  # fmt: skip
    assert "its SSIM row is `ssim` with preset=lpips-baseline" in ssim.notes[0]
    view = build_view(
        [
            Entry(place(metric="l2-lab"), "L2 (Lab)", dict.fromkeys(PAPER_COLUMNS, 0.6)),
            Entry(l2, "L2", dict.fromkeys(PAPER_COLUMNS, 0.5)),
        ]
    )
    low = next(g for g in view["groups"] if g["key"] == "low-level")["lines"]
    computed = [(ln["row"], ln["label"], ln["paper"] is None) for ln in low if ln["ours"]["all"]]
    assert computed == [("l2", "L2", False), (None, "L2", True)]  # one line per paper row


def test_every_row_computed_with_a_random_trunk_says_so():
    notes = {
        "gaussian": place(metric="lpips-alex", options={"variant": "baseline", "trunk_weights": None}),
        "lin": place(metric="lpips-alex", options={"trunk_weights": None, "seed": 3}),
        "fit": place(metric="fitted:1", fit={"net": "alex", "variant": "lin", "trunk": "random"}),
        "scratch": place(metric="fitted:2", fit={"net": "alex", "variant": "scratch", "trunk": "random"}),
    }  # fmt: skip
    assert any("random trunk (seed 0), as this row asks" in n for n in notes["gaussian"].notes)
    assert any("random trunk (seed 3)" in n for n in notes["lin"].notes)
    assert any("random trunk" in n for n in notes["fit"].notes)
    assert any("random initialisation" in n for n in notes["scratch"].notes)
    assert place(metric="lpips-alex").notes == ()  # ImageNet trunk: nothing to say


def _entry(placement: Placement, score: float) -> Entry:
    return Entry(placement, "m", dict.fromkeys(PAPER_COLUMNS, score))


def test_the_view_keeps_the_paper_order_and_shows_missing_rows_as_not_available():
    entries = [
        _entry(place(metric="lpips-alex"), 0.7),
        _entry(place(metric="l2-lab"), 0.6),
        _entry(place(metric="psnr"), 0.55),  # an extra low-level row, after the paper's
        _entry(place(metric="dists"), 0.5),
        _entry(
            place(metric="lpips-alex", options={"variant": "baseline", "trunk_weights": "x.pth"}),
            0.4,
        ),
    ]
    view = build_view(entries, human=dict.fromkeys(PAPER_COLUMNS, 0.8), reasons={"ssim": "because"})
    all_lines = lines(view)
    paper_lines = [ln for ln in all_lines if ln["row"] is not None]
    assert [ln["row"] for ln in paper_lines] == [r.key for r in ROWS]  # none dropped, in order
    by_row = {ln["row"]: ln for ln in paper_lines}
    assert by_row["alex-lin"]["status"] == "computed" and by_row["alex-lin"]["ours"]["all"] == 0.7
    assert by_row["alex-lin"]["paper"]["all"] == 69.8
    assert by_row["bigan"]["status"] == "not available"
    assert "convert-trunk" in by_row["bigan"]["obtain"]
    assert by_row["ssim"]["reason"] == "because"
    assert [g["key"] for g in view["groups"]][-2:] == ["undeclared", "other"]
    low = next(g for g in view["groups"] if g["key"] == "low-level")["lines"]
    assert [ln["row"] for ln in low] == ["l2", "ssim", "fsimc", "hdr-vdp", None]
    no_paper = build_view(entries, with_paper=False)
    assert all(ln["paper"] is None for ln in lines(no_paper))


def test_paper_numbers_only_for_bappss_val_sets():
    assert is_paper_dataset(["traditional", "cnn"])
    assert not is_paper_dataset(["traditional", "my_study_category"])
    assert not is_paper_dataset([])


# ---- the command line, end to end on a tiny BAPPS folder -------------------------------------

SIZE = 32


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("bapps")
    hidden = write_synthetic_bapps(
        root, train={"mix": 2}, val={"traditional": 12, "cnn": 12}, size=SIZE, seed=1,
        candidates=2,
    )  # fmt: skip
    files = root.parent / "files"
    files.mkdir()
    # A "k-means" AlexNet trunk (random tensors here) declared unsupervised by its sidecar.
    from metrics.lpips.trunks import TRUNKS, Trunk

    trunk = Trunk(TRUNKS["alex"])
    trunk.reset_random(7)
    state = {f"features.{k}": v for k, v in trunk.features.state_dict().items()}
    kmeans = files / "kmeans-alex.pth"
    torch.save(state, kmeans)
    write_trunk_meta(kmeans, supervision="unsupervised", method="kmeans", arch="alexnet")
    # A checkpoint nobody declared.
    torch.save(state, files / "mystery.pth")
    # An alex-tune `train` output folder: lin.pth and trunk.pth.
    run = files / "alex-tune"
    run.mkdir()
    torch.save(hidden.lin_state_dict, run / "lin.pth")
    torch.save(state, run / "trunk.pth")
    # An alex-scratch run whose results.json says it started from a random trunk.
    scratch = files / "alex-scratch"
    scratch.mkdir()
    torch.save(hidden.lin_state_dict, scratch / "lin.pth")
    torch.save(state, scratch / "trunk.pth")
    config = {"net": "alex", "variant": "scratch", "trunk_weights": None, "trunk_seed": 0}
    (scratch / "results.json").write_text(json.dumps({"config": config}))
    return root, files


def _table5(capsys, *argv):
    code = main(
        ["table5", *map(str, argv), "--no-progress", "--load-size", str(SIZE), "--resamples", "0"]
    )
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_end_to_end(tiny, tmp_path, capsys):
    root, files = tiny
    out_json = tmp_path / "t5.json"
    code, out, err = _table5(
        capsys, root, "--random-trunks", "--trunk", files / "kmeans-alex.pth",
        "--trunk", files / "mystery.pth", "--lpips", f"alex-tune={files / 'alex-tune'}",
        "--lpips", f"alex-scratch={files / 'alex-scratch'}",
        "--json", out_json,
    )  # fmt: skip
    assert code == 0, err
    view = json.loads(out_json.read_text())
    titles = [g["title"] for g in view["groups"]]
    assert titles[:7] == [g.title for g in GROUPS]
    assert titles[7:] == ["Trunk supervision not declared"]
    # Printed in the same order, group titles as lines.
    positions = [out.index(f"\n{t}\n") for t in titles]
    assert positions == sorted(positions)
    got = {ln["row"]: ln for ln in lines(view) if ln["row"]}
    assert [ln["row"] for ln in lines(view) if ln["row"]] == [r.key for r in ROWS]
    assert got["kmeans"]["status"] == "computed"
    assert got["alex-tune"]["status"] == "computed"
    assert got["bigan"]["status"] == "not available" and "--trunk PATH" in got["bigan"]["obtain"]
    assert got["vgg-scratch"]["status"] == "not available"
    assert any("random initialisation" in n for n in got["alex-scratch"]["notes"])
    # --random-trunks: the supervised and lin rows are computed, each noting its random trunk.
    for key in ("squeeze", "alex", "vgg", "alex-lin"):
        assert got[key]["status"] == "computed"
        assert any("random trunk" in n for n in got[key]["notes"]), key
    assert any("random trunk" in n for n in got["gaussian"]["notes"])
    # BAPPS's set names: the paper's numbers are printed under ours.
    assert got["alex-lin"]["paper"]["all"] == 69.8 and "    paper" in out
    undeclared = next(g for g in view["groups"] if g["key"] == "undeclared")["lines"]
    assert "mystery.pth.meta.json" in undeclared[0]["notes"][0]
    # Numbers equal `evaluate`'s for the same metric on the same folder.
    import metrics

    data = BappsDataset(root, load_size=SIZE)
    direct = evaluate(metrics.create_metric("l2-lab", device="cpu"), data, n_resamples=0,
                      jnd_categories=[])  # fmt: skip
    expected = {r["column"]: r["score"] for r in direct.twoafc.rows()}
    assert {c: v for c, v in got["l2"]["ours"].items() if v is not None} == expected
    assert "L2" in out and f"{100 * got['l2']['ours']['all']:.1f}" in out


def test_cli_without_imagenet_weights_marks_rows_not_available(tiny, tmp_path, capsys, monkeypatch):
    root, _ = tiny
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    code, out, err = _table5(capsys, root, "--sets", "traditional", "--json", tmp_path / "t.json")
    assert code == 0, err
    view = json.loads((tmp_path / "t.json").read_text())
    got = {ln["row"]: ln for ln in lines(view) if ln["row"]}
    for key in ("squeeze", "alex", "vgg", "squeeze-lin", "alex-lin", "vgg-lin"):
        assert got[key]["status"] == "not available", key
        assert IMAGENET_FILES[key.split("-")[0]] in got[key]["reason"]
    assert got["gaussian"]["status"] == "computed"
    assert "not available" in out and "how:" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trunk", "/nonexistent.pth"], "does not exist"),
        (["--lpips", "alex-best=x"], "NET-VARIANT"),
        (["--lpips", "alex-tune=/nonexistent"], "does not exist"),
        (["--display-scale", "0"], "display-scale"),
        (["--lpips", "vgg-tune=FILES/alex-scratch"], "that run trained alex-scratch"),
        (["--sets", "nosuchset"], "nosuchset"),
    ],
)
def test_cli_bad_arguments_are_one_line_errors(tiny, tmp_path, capsys, argv, message):
    root, files = tiny
    argv = [a.replace("FILES", str(files)) for a in argv]
    code, _out, err = _table5(capsys, root, *argv, "--json", tmp_path / "t.json")
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "t.json").exists()
