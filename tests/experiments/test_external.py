"""Importing algorithm outputs from a folder: the layout, every error, and planning with them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import experiments


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(experiments.encode_png(array))


@pytest.fixture
def folder(tmp_path, images):
    root = tmp_path / "sr_run"
    for k, image in enumerate(list(images.values())[:2]):
        crop = image[:96, :128]
        _write(root / "reference" / f"{k:04d}.png", crop)
        _write(root / "bicubic" / f"{k:04d}.png", crop // 2)
        _write(root / "edsr_x4" / f"{k:04d}.png", 255 - crop)
    (root / "README.md").write_text("run of 2024-05-01")
    (root / "bicubic" / ".DS_Store").write_bytes(b"junk")
    return root


def _listing(root):
    return sorted((p.relative_to(root), p.stat().st_mtime_ns) for p in root.rglob("*"))


def test_a_valid_folder_yields_every_reference_algorithm_pair(folder):
    scan = experiments.scan_external_outputs(folder)
    assert scan.stems == ("0000", "0001")
    assert scan.algorithms == ("bicubic", "edsr_x4")
    records = list(experiments.iter_external_outputs(folder))
    assert [(r.stem, r.algorithm) for r in records] == [
        ("0000", "bicubic"),
        ("0000", "edsr_x4"),
        ("0001", "bicubic"),
        ("0001", "edsr_x4"),
    ]
    for record in records:
        assert record.reference.shape == record.output.shape == (96, 128, 3)
        if record.algorithm == "edsr_x4":
            assert np.array_equal(record.output, 255 - record.reference)


def test_scanned_items_plan_and_render_same_box_crops(folder):
    scan = experiments.scan_external_outputs(folder)
    pixels = {}
    for record in experiments.iter_external_outputs(folder):
        pixels[record.reference_sha256] = record.reference
        pixels[record.output_sha256] = record.output
    design = experiments.TrialDesign.from_dict(
        {
            "seed": 1,
            "kind": "2afc",
            "categories": {"sr": {"external": scan.design_items()}},
            "counts": {"val": {"sr": 4}},
        }
    )
    for index in range(4):
        plan = experiments.plan_trial(design, index)
        stimuli = experiments.render_trial(plan, load_image=pixels.__getitem__)
        reference = stimuli.reference.pixels.astype(int)
        for side in (stimuli.p0, stimuli.p1):
            expected = reference // 2 if side.label == "bicubic" else 255 - reference
            assert np.array_equal(side.pixels, expected)
            assert side.provenance["source"]["box"] == list(stimuli.patch.box)
            again = experiments.regenerate(side.provenance, load_image=pixels.__getitem__)
            assert np.array_equal(again, side.pixels)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda r: (r / "edsr_x4" / "0001.png").unlink(),
            r"edsr_x4/0001.png: missing \(reference/0001.png exists\)",
        ),
        (
            lambda r: _write(r / "bicubic" / "0002.png", np.zeros((96, 128, 3), np.uint8)),
            "bicubic/0002.png: no matching reference/0002.png",
        ),
        (
            lambda r: _write(r / "bicubic" / "0000.png", np.zeros((64, 128, 3), np.uint8)),
            r"bicubic/0000.png: size 128×64 differs from the reference's 128×96",
        ),
        (lambda r: (r / "bicubic" / "0000.jpg").write_bytes(b"x"), "bicubic/0000.jpg: not a .png"),
        (
            lambda r: (r / "bicubic" / "0001.png").write_bytes(b"broken"),
            "bicubic/0001.png: unreadable image",
        ),
        (lambda r: (r / "Bad Name").mkdir(), "Bad Name/: algorithm names must match"),
    ],
)
def test_each_problem_is_named_and_nothing_is_yielded_or_written(folder, damage, message):
    damage(folder)
    before = _listing(folder)
    with pytest.raises(ValueError, match=message):
        experiments.scan_external_outputs(folder)
    with pytest.raises(ValueError, match=message):
        experiments.iter_external_outputs(folder)  # raises before the first record
    assert _listing(folder) == before


def test_all_problems_are_reported_together(folder):
    (folder / "edsr_x4" / "0000.png").unlink()
    (folder / "bicubic" / "0001.png").unlink()
    with pytest.raises(
        ValueError, match=r"(?s)bicubic/0001.png: missing.*edsr_x4/0000.png: missing"
    ):
        experiments.scan_external_outputs(folder)


def test_transparent_outputs_are_refused(folder):
    buffer = io.BytesIO()
    Image.new("RGBA", (128, 96)).save(buffer, format="PNG")
    (folder / "bicubic" / "0000.png").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match=r"bicubic/0000\.png: has transparency"):
        experiments.scan_external_outputs(folder)


def test_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        experiments.scan_external_outputs(tmp_path / "nope")
    with pytest.raises(ValueError, match="missing the 'reference/' folder"):
        experiments.scan_external_outputs(tmp_path)
    _write(tmp_path / "reference" / "a.png", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(ValueError, match="no algorithm folders"):
        experiments.scan_external_outputs(tmp_path)
