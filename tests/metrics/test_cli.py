"""``python -m metrics``: score-pairs, weights and list, with clear errors for bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from metrics.cli import main
from metrics.lpips import lin

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folders(tmp_path):
    rng = np.random.default_rng(0)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for name in ("x1.png", "x2.png", "x3.png"):
        img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(img).save(a / name)
        noisy = np.clip(img.astype(int) + rng.integers(-30, 30, img.shape), 0, 255)
        Image.fromarray(noisy.astype(np.uint8)).save(b / name)
    (a / "README.txt").write_text("not an image, ignored")
    return a, b


def _lines(out: str) -> list[tuple[str, float]]:
    return [(n, float(v)) for n, v in (line.split("\t") for line in out.strip().splitlines())]


def test_score_pairs_prints_one_distance_per_pair(folders, capsys):
    a, b = folders
    assert (
        main(
            [
                "score-pairs",
                str(a),
                str(b),
                "--metric",
                "lpips-alex",
                "--trunk-weights",
                "random",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    rows = _lines(capsys.readouterr().out)
    assert [n for n, _ in rows] == ["x1.png", "x2.png", "x3.png"]
    assert all(d > 0 for _, d in rows)


def test_score_pairs_takes_other_metrics_and_options(folders, capsys):
    a, _b = folders
    assert (
        main(
            [
                "score-pairs",
                str(a),
                str(a),
                "--metric",
                "ssim",
                "-o",
                "preset=skimage-default",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    assert all(d == pytest.approx(0.0, abs=1e-6) for _, d in _lines(capsys.readouterr().out))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "lpips-alx"], "unknown metric 'lpips-alx'"),
        (["--metric", "ssim", "-o", "preset=matlab"], "preset='matlab' is not one of"),
        (["--metric", "ssim", "-o", "window=7"], "unknown option"),
        (["--metric", "ssim", "--trunk-weights", "random"], "applies to LPIPS metrics"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_bad_score_pairs_options_exit_2_with_a_message(folders, capsys, args, message):
    a, b = folders
    assert main(["score-pairs", str(a), str(b), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metrics score-pairs: error:")
    assert message in err


def test_folders_that_do_not_match_are_reported(folders, tmp_path, capsys):
    a, b = folders
    (b / "x3.png").rename(b / "y3.png")
    assert main(["score-pairs", str(a), str(b), "--metric", "l2"]) == 2
    err = capsys.readouterr().err
    assert "only in" in err
    assert "x3.png" in err
    assert "y3.png" in err
    assert main(["score-pairs", str(a), str(tmp_path / "missing"), "--metric", "l2"]) == 2
    assert "is not a directory" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["score-pairs", str(empty), str(empty), "--metric", "l2"]) == 2
    assert "holds no image files" in capsys.readouterr().err


def test_missing_trunk_weights_tell_the_user_what_to_place_where(
    folders, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(url, dst, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    a, b = folders
    assert main(["score-pairs", str(a), str(b)]) == 2  # lpips-alex with ImageNet weights
    err = capsys.readouterr().err
    assert "Place alexnet-owt-7be5be79.pth" in err
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["score-pairs", "only-one-folder"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["score-pairs", "a", "b", "-o", "no-equals-sign"])
    assert info.value.code == 2


def test_weights_lists_and_verifies_the_shipped_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["weights"]) == 0
    out = capsys.readouterr().out
    assert out.count("sha256 ok") == 6
    assert "alexnet-owt-7be5be79.pth" in out
    assert "missing" in out
    assert main(["weights", "--require-trunks"]) == 1


def test_weights_verifies_trunk_checkpoints_present(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "squeezenet1_1-b8a52dc0.pth").write_bytes(b"not the real file")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["weights"]) == 0
    assert "present, 17 B" in capsys.readouterr().out
    assert main(["weights", "--verify-trunks"]) == 1
    assert "does not start with b8a52dc0" in capsys.readouterr().out


def test_weights_fails_on_a_damaged_shipped_file(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "weights"
    shutil.copytree(lin.WEIGHTS_DIR, copy)
    (copy / "v0.0" / "vgg.pth").write_bytes(b"damaged")
    monkeypatch.setattr(lin, "WEIGHTS_DIR", copy)
    monkeypatch.setattr(lin, "MANIFEST", copy / "manifest.json")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["weights"]) == 1
    assert "v0.0/vgg.pth" in capsys.readouterr().out


def test_list_runs_as_a_module_without_torch():
    code = (
        "import sys, runpy; sys.argv = ['metrics', 'list', 'lpips-*', '--options'];\n"
        "try:\n    runpy.run_module('metrics', run_name='__main__')\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert "lpips-squeeze" in out.stdout
    assert "trunk_weights='imagenet'" in out.stdout
