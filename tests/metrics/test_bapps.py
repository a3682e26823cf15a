"""Tests for metrics.bapps: the BAPPS layout round trip, the loader's rules, and bad folders."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from metrics.bapps import (
    BappsDataset,
    BappsError,
    JNDSet,
    TwoAFCItem,
    TwoAFCSet,
    load_image,
    to_official_float,
    write_2afc,
    write_jnd,
)


def _image(rng, h=12, w=9):
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _triplets(n, seed=0, h=12, w=9):
    rng = np.random.default_rng(seed)
    # Fractions that are not exact in binary (0.1, 1/3) check that judges survive unrounded.
    judges = [0.0, 0.1, 1 / 3, 0.5, 0.8, 1.0]
    return [
        (_image(rng, h, w), _image(rng, h, w), _image(rng, h, w), judges[i % 6]) for i in range(n)
    ]


def _pairs(n, seed=1):
    rng = np.random.default_rng(seed)
    return [(_image(rng), _image(rng), (i % 4) / 3) for i in range(n)]


def _save_png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _folder_bytes(folder):
    return {
        os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
        for d, _, files in os.walk(folder)
        for f in files
    }


@pytest.fixture
def small_2afc(tmp_path):
    write_2afc(tmp_path, "val", "cnn", _triplets(5))
    return tmp_path / "2afc" / "val" / "cnn"


# --- writing and reading back --------------------------------------------------------------------


def test_2afc_round_trip_is_lossless(tmp_path):
    triplets = _triplets(8)
    written = write_2afc(tmp_path, "val", "traditional", triplets)
    back = BappsDataset(tmp_path, load_size=None).twoafc("val", "traditional")
    assert len(written) == len(back) == 8
    for (ref, p0, p1, judge), item in zip(triplets, back, strict=True):
        assert np.array_equal(item.ref, ref)
        assert np.array_equal(item.p0, p0)
        assert np.array_equal(item.p1, p1)
        assert item.judge == judge
    assert back.names == tuple(f"{i:06d}" for i in range(8))


def test_jnd_round_trip_is_lossless(tmp_path):
    pairs = _pairs(6)
    write_jnd(tmp_path, "val", "cnn", pairs)
    back = BappsDataset(tmp_path, load_size=None).jnd("val", "cnn")
    assert isinstance(back, JNDSet)
    for (p0, p1, same), item in zip(pairs, back, strict=True):
        assert np.array_equal(item.p0, p0)
        assert np.array_equal(item.p1, p1)
        assert item.same == same
    assert back.sames().tolist() == [p[2] for p in pairs]


def test_written_files_follow_the_layout_and_are_deterministic(tmp_path):
    write_2afc(tmp_path / "a", "train", "mix", _triplets(3))
    write_2afc(tmp_path / "b", "train", "mix", _triplets(3))
    first = _folder_bytes(tmp_path / "a")
    assert sorted(first) == sorted(
        f"2afc/train/mix/{member}/{i:06d}.{'npy' if member == 'judge' else 'png'}"
        for member in ("ref", "p0", "p1", "judge")
        for i in range(3)
    )
    assert first == _folder_bytes(tmp_path / "b")
    # A judge file holds one float, as BAPPS's loader expects (it reshapes to 1x1x1).
    assert np.load(tmp_path / "a/2afc/train/mix/judge/000001.npy").reshape(1, 1, 1)[0, 0, 0] == 0.1


def test_a_set_read_back_can_be_copied_item_by_item(small_2afc, tmp_path):
    source = TwoAFCSet(small_2afc, load_size=None)
    copy = write_2afc(tmp_path / "copy", "val", "cnn", source)
    assert _folder_bytes(tmp_path / "copy/2afc/val/cnn") == _folder_bytes(small_2afc)
    assert copy.judges().tolist() == source.judges().tolist()


def test_writer_accepts_image_files(tmp_path):
    rng = np.random.default_rng(4)
    pixels = [_image(rng) for _ in range(3)]
    paths = []
    for name, px in zip(("r.png", "a.bmp", "b.png"), pixels, strict=True):
        _save_png(tmp_path / "src" / name, px)
        paths.append(tmp_path / "src" / name)
    item = write_2afc(tmp_path / "out", "val", "color", [(*paths, 0.4)])[0]
    for got, want in zip((item.ref, item.p0, item.p1), pixels, strict=True):
        assert np.array_equal(got, want)


def test_overwrite_replaces_a_category(small_2afc, tmp_path):
    with pytest.raises(BappsError, match="already exists"):
        write_2afc(tmp_path, "val", "cnn", _triplets(2))
    write_2afc(tmp_path, "val", "cnn", _triplets(2, seed=9), overwrite=True)
    assert len(TwoAFCSet(small_2afc)) == 2
    assert os.listdir(small_2afc.parent) == ["cnn"]  # no staging or old copies left behind


@pytest.mark.parametrize(
    ("bad_item", "error", "message"),
    [
        ((None, None, None, 1.7), ValueError, "item 3, judge: 1.7 is outside"),
        ("fix-judge-nan", ValueError, "item 3, judge: nan is outside"),
        ("fix-float-image", ValueError, "item 3, p0: expected a uint8 HxWx3 array"),
        ((None, None, "missing.png", 0.5), BappsError, "item 3, p1: unreadable image"),
        ((1, 2), ValueError, r"item 3: expected a \(ref, p0, p1, judge\) tuple"),
    ],
)
def test_bad_items_write_nothing(tmp_path, bad_item, error, message):
    items = _triplets(5)
    ref, p0, p1, judge = items[3]
    if bad_item == "fix-judge-nan":
        bad_item = (ref, p0, p1, float("nan"))
    elif bad_item == "fix-float-image":
        bad_item = (ref, p0.astype(np.float32), p1, judge)
    elif len(bad_item) == 4:
        bad_item = tuple(b if b is not None else o for b, o in zip(bad_item, items[3], strict=True))
    items[3] = bad_item
    with pytest.raises(error, match=message):
        write_2afc(tmp_path, "val", "cnn", items)
    assert os.listdir(tmp_path / "2afc" / "val") == []


def test_writer_rejects_empty_input_and_odd_names(tmp_path):
    with pytest.raises(ValueError, match="nothing to write"):
        write_jnd(tmp_path, "val", "cnn", [])
    with pytest.raises(ValueError, match="plain folder name"):
        write_jnd(tmp_path, "val", "../escape", _pairs(1))


# --- the official loader's rules -----------------------------------------------------------------


def test_items_follow_sorted_os_walk_order_and_match_by_name(tmp_path):
    category = tmp_path / "2afc" / "val" / "custom"
    rng = np.random.default_rng(2)
    # Deliberately not in numeric order, and one item in a sub-folder (os.walk recurses).
    names = ["b10", "b2", "a", "sub/c", "B"]
    pixels = {}
    for i, name in enumerate(names):
        pixels[name] = _image(rng)
        for member in ("ref", "p0", "p1"):
            _save_png(category / member / f"{name}.png", pixels[name])
        (category / "judge" / name).parent.mkdir(parents=True, exist_ok=True)
        np.save(category / "judge" / f"{name}.npy", np.array([i / 10]))
    found = []
    for d, _, files in os.walk(category / "ref"):
        found += [os.path.join(d, f) for f in files]
    expected = [os.path.relpath(p, category / "ref")[: -len(".png")] for p in sorted(found)]
    data = TwoAFCSet(category, load_size=None)
    assert list(data.names) == expected
    for item in data:
        assert np.array_equal(item.ref, pixels[item.name])
        assert item.judge == names.index(item.name) / 10


@pytest.mark.parametrize(
    ("size", "expected_hw"),
    [((256, 256), (64, 64)), ((100, 50), (128, 64)), ((50, 77), (64, 98)), ((64, 64), (64, 64))],
)
def test_it_resizes_the_shorter_side_to_load_size(tmp_path, size, expected_hw):
    h, w = size
    path = tmp_path / "x.png"
    _save_png(path, _image(np.random.default_rng(0), h, w))
    assert load_image(path).shape == (*expected_hw, 3)
    assert load_image(path, load_size=None).shape == (h, w, 3)
    assert load_image(path, load_size=32).shape[:2] == tuple(s // 2 for s in expected_hw)


@pytest.mark.parametrize("size", [(256, 256), (50, 77), (64, 64)])
def test_it_matches_torchvision_resize_to_tensor_normalize(tmp_path, size):
    transforms = pytest.importorskip("torchvision.transforms")
    path = tmp_path / "x.png"
    _save_png(path, _image(np.random.default_rng(1), *size))
    pipeline = transforms.Compose(
        [transforms.Resize(64), transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)]
    )
    official = pipeline(Image.open(path).convert("RGB")).numpy().transpose(1, 2, 0)
    ours = load_image(path, as_float=True)
    assert ours.dtype == np.float32
    assert np.array_equal(ours, official)
    resized = transforms.Resize(64)(Image.open(path).convert("RGB"))
    assert np.array_equal(load_image(path), np.asarray(resized))


def test_float_option_uses_the_official_range(small_2afc):
    uint8 = TwoAFCSet(small_2afc, load_size=None)[0].ref
    item = TwoAFCSet(small_2afc, load_size=None, as_float=True)[0]
    assert np.array_equal(item.ref, to_official_float(uint8))
    assert np.array_equal(to_official_float(np.array([0, 255], np.uint8)), [-1.0, 1.0])


def test_images_with_alpha_or_palette_are_read_as_rgb(tmp_path):
    rgba = np.random.default_rng(3).integers(0, 256, size=(6, 6, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert np.array_equal(load_image(tmp_path / "rgba.png", load_size=None), rgba[..., :3])


# --- laziness and batches ------------------------------------------------------------------------


def test_opening_is_lazy_and_items_are_checked_when_read(small_2afc):
    broken = small_2afc / "p1" / "000002.png"
    broken.write_bytes(b"not a png")
    data = TwoAFCSet(small_2afc)  # opens: no image is decoded yet
    assert len(data) == 5
    assert data[1].p1.shape == (85, 64, 3)  # 12x9 stored: short side 9 → 64, long int(64·12/9)
    with pytest.raises(BappsError, match=r"p1/000002\.png: unreadable image") as caught:
        data[2]
    assert caught.value.path == broken
    with pytest.raises(BappsError, match=r"000002\.png"):
        data.validate()
    data.validate(images=False)  # the judge files are fine


def test_batches_stack_items_in_order(small_2afc):
    data = TwoAFCSet(small_2afc, load_size=8)
    batches = list(data.batches(2))
    assert [b.ref.shape for b in batches] == [(2, 10, 8, 3), (2, 10, 8, 3), (1, 10, 8, 3)]
    assert np.concatenate([b.judge for b in batches]).tolist() == data.judges().tolist()
    assert [n for b in batches for n in b.names] == list(data.names)
    shuffled = data.batch([4, 0, -1])
    assert shuffled.names == ("000004", "000000", "000004")
    assert np.array_equal(shuffled.p0[1], data[0].p0)


def test_batches_of_mixed_sizes_name_the_odd_file(tmp_path):
    items = _triplets(2) + _triplets(1, h=10, w=10)
    write_2afc(tmp_path, "val", "color", items)
    data = BappsDataset(tmp_path, load_size=None).twoafc("val", "color")
    with pytest.raises(BappsError, match=r"ref/000002\.png: size 10x10 differs"):
        data.batch([0, 1, 2])


def test_indexing_checks_bounds(small_2afc):
    data = TwoAFCSet(small_2afc)
    assert data[-1].name == "000004"
    with pytest.raises(IndexError):
        data[5]
    with pytest.raises(TypeError, match="slices"):
        data[1:3]


# --- bad folders ---------------------------------------------------------------------------------


def test_missing_judge_file_is_named(small_2afc):
    (small_2afc / "judge" / "000003.npy").unlink()
    with pytest.raises(BappsError, match=r"judge/ has 4 files, missing judge/000003\.npy"):
        TwoAFCSet(small_2afc)


def test_extra_image_is_named(small_2afc):
    _save_png(small_2afc / "p0" / "000009.png", _image(np.random.default_rng(0)))
    with pytest.raises(BappsError, match=r"ref/ has 5 files, missing ref/000009\.\*") as caught:
        TwoAFCSet(small_2afc)
    assert "judge/000009.npy" in str(caught.value)


def test_missing_judge_folder_is_named(small_2afc):
    for f in (small_2afc / "judge").iterdir():
        f.unlink()
    (small_2afc / "judge").rmdir()
    with pytest.raises(BappsError, match=r"missing folder judge/") as caught:
        TwoAFCSet(small_2afc)
    assert caught.value.path == small_2afc / "judge"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([1.7]), r"judge/000001\.npy: value 1\.7 is outside \[0, 1\]"),
        (np.array([np.nan]), r"value nan is outside"),
        (np.array([0.2, 0.4]), r"expected one number .* shape \(2,\)"),
        (np.array(["0.5"]), r"expected one number"),
    ],
)
def test_bad_judge_values_are_named(small_2afc, value, message):
    np.save(small_2afc / "judge" / "000001.npy", value)
    data = TwoAFCSet(small_2afc)
    assert data[0].judge == 0.0  # the other items still read
    with pytest.raises(BappsError, match=message):
        data[1]
    with pytest.raises(BappsError, match=message):
        data.judges()


def test_unreadable_npy_is_named(small_2afc):
    (small_2afc / "judge" / "000004.npy").write_bytes(b"garbage")
    with pytest.raises(BappsError, match=r"000004\.npy: unreadable \.npy file"):
        TwoAFCSet(small_2afc).judges()


def test_same_values_outside_unit_interval_are_named(tmp_path):
    write_jnd(tmp_path, "val", "traditional", _pairs(3))
    np.save(tmp_path / "jnd/val/traditional/same/000002.npy", np.array([-0.5]))
    with pytest.raises(BappsError, match=r"same/000002\.npy: value -0\.5 is outside"):
        BappsDataset(tmp_path).jnd("val", "traditional").sames()


def test_empty_category_is_an_error(tmp_path):
    for member in ("ref", "p0", "p1", "judge"):
        (tmp_path / "2afc" / "val" / "deblur" / member).mkdir(parents=True)
    with pytest.raises(BappsError, match="empty category"):
        BappsDataset(tmp_path).twoafc("val", "deblur")
    with pytest.raises(BappsError, match="empty category"):
        BappsDataset(tmp_path).counts()


def test_duplicate_stems_are_an_error(small_2afc):
    _save_png(small_2afc / "ref" / "000001.jpg", _image(np.random.default_rng(0)))
    with pytest.raises(BappsError, match=r"two files for item '000001' in ref/"):
        TwoAFCSet(small_2afc)


# --- the whole dataset ---------------------------------------------------------------------------


def test_dataset_discovers_kinds_splits_and_categories(tmp_path):
    write_2afc(tmp_path, "val", "superres", _triplets(3))
    write_2afc(tmp_path, "val", "traditional", _triplets(4))
    write_2afc(tmp_path, "val", "mystudy", _triplets(1))
    write_2afc(tmp_path, "train", "mix", _triplets(2))
    write_jnd(tmp_path, "val", "cnn", _pairs(5))
    data = BappsDataset(tmp_path)
    assert data.splits("2afc") == ("train", "val")
    assert data.categories("2afc", "val") == ("traditional", "superres", "mystudy")
    assert data.counts() == {
        "2afc": {"train": {"mix": 2}, "val": {"traditional": 4, "superres": 3, "mystudy": 1}},
        "jnd": {"val": {"cnn": 5}},
    }
    assert "jnd/val/cnn: 5 pairs" in data.summary()
    assert data.twoafc("val", "superres", load_size=None)[0].ref.shape == (12, 9, 3)
    with pytest.raises(BappsError, match="present in 2afc/val: traditional, superres, mystudy"):
        data.twoafc("val", "color")
    with pytest.raises(ValueError, match="kind must be one of"):
        data.categories("3afc", "val")


def test_a_folder_without_bapps_is_rejected(tmp_path):
    (tmp_path / "dataset" / "2afc").mkdir(parents=True)
    with pytest.raises(BappsError, match=r"no 2afc/ or jnd/ folder.*dataset/"):
        BappsDataset(tmp_path)


def test_item_objects_are_plain_numpy(small_2afc):
    item = TwoAFCSet(small_2afc)[0]
    assert isinstance(item, TwoAFCItem)
    assert item.ref.dtype == np.uint8
    assert isinstance(item.judge, float)


def test_import_pulls_in_neither_torch_nor_django():
    code = "import sys, metrics.bapps; print(sorted({'torch', 'django'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
