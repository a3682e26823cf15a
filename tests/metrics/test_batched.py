"""score_pairs / score_triplets: batching, files, order, progress and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import metrics
from tests.metrics.helpers import images, ours


def _save(folder, name, array):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.fromarray(array).save(path)
    return path


def _uint8(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_pairs_in_batches_equal_one_direct_call():
    model = ours("alex")
    a, b = images((7, 3, 64, 64), seed=1, low=-1.0), images((7, 3, 64, 64), seed=2, low=-1.0)
    got = metrics.score_pairs(model, a, b, batch_size=3)
    assert got.shape == (7,)
    assert got.device.type == "cpu"
    assert not got.requires_grad
    assert torch.allclose(got, model(a, b), atol=1e-6)


def test_triplets_in_batches_equal_two_direct_calls():
    ssim = metrics.create_metric("ssim", device="cpu")
    ref, p0, p1 = (images((5, 3, 32, 32), seed=s) for s in (3, 4, 5))
    d0, d1 = metrics.score_triplets(ssim, ref, p0, p1, batch_size=2)
    assert torch.allclose(d0, ssim(ref, p0))
    assert torch.allclose(d1, ssim(ref, p1))
    lp = ours("squeeze")
    r, q0, q1 = (2 * x - 1 for x in (ref, p0, p1))
    e0, e1 = metrics.score_triplets(lp, r, q0, q1, batch_size=4)
    assert torch.allclose(e0, lp(r, q0), atol=1e-6)
    assert torch.allclose(e1, lp(r, q1), atol=1e-6)


def test_image_files_score_like_the_same_tensors_and_keep_their_order(tmp_path):
    # Two sizes interleaved: batches are grouped by size, results come back in input order.
    arrays = [_uint8((64, 64, 3) if i % 2 else (48, 40, 3), seed=i) for i in range(10)]
    files_a = [_save(tmp_path / "a", f"{i}.png", arr) for i, arr in enumerate(arrays)]
    files_b = [_save(tmp_path / "b", f"{i}.png", 255 - arr) for i, arr in enumerate(arrays)]
    model = ours("alex")
    got = metrics.score_pairs(model, files_a, files_b, batch_size=3)
    for i, arr in enumerate(arrays):
        x0 = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255 * 2 - 1
        x1 = torch.from_numpy(255 - arr).permute(2, 0, 1)[None].float() / 255 * 2 - 1
        assert got[i].item() == pytest.approx(model(x0, x1).item(), abs=1e-6)


def test_triplets_from_files_for_a_zero_one_metric(tmp_path):
    arrays = [_uint8((32, 32, 3), seed=10 + i) for i in range(3)]
    paths = [_save(tmp_path, f"{i}.png", arr) for i, arr in enumerate(arrays)]
    l2 = metrics.create_metric("l2", device="cpu")
    d0, d1 = metrics.score_triplets(l2, [paths[0]], [paths[1]], [paths[2]])
    x = [torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255 for a in arrays]
    assert d0.item() == pytest.approx(l2(x[0], x[1]).item())
    assert d1.item() == pytest.approx(l2(x[0], x[2]).item())


def test_bright_image_files_pass_the_range_check(tmp_path):
    bright = np.full((64, 64, 3), 200, dtype=np.uint8)
    a = _save(tmp_path / "a", "x.png", bright)
    b = _save(tmp_path / "b", "x.png", bright[::-1].copy())
    # No value below mid-grey: a tensor call would be refused as [0, 1] data, files are not.
    assert metrics.score_pairs(ours("alex"), [a], [b]).shape == (1,)


def test_spatial_maps_are_returned_per_pair():
    model = ours("alex", "0.1", "lin", True)
    a, b = images((3, 3, 40, 36), seed=6, low=-1.0), images((3, 3, 40, 36), seed=7, low=-1.0)
    maps = metrics.score_pairs(model, a, b, batch_size=2)
    assert maps.shape == (3, 40, 36)


def test_a_progress_bar_can_be_forced(capsys):
    l2 = metrics.create_metric("l2", device="cpu")
    x = images((4, 3, 8, 8), seed=8)
    metrics.score_triplets(l2, x, x, x, batch_size=2, progress=True)
    assert "triplet" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("a", "b", "error", "message"),
    [
        (torch.zeros(3, 3, 8, 8), torch.zeros(2, 3, 8, 8), ValueError, "same length.*a: 3, b: 2"),
        (torch.zeros(1, 3, 8, 8), ["x.png"], TypeError, "all be tensors or all be lists"),
        ("dir_a", "dir_b", TypeError, "not a single path"),
    ],
)
def test_mismatched_inputs_are_refused(a, b, error, message):
    with pytest.raises(error, match=message):
        metrics.score_pairs(metrics.create_metric("l2", device="cpu"), a, b)


def test_bad_batch_sizes_and_files_are_refused(tmp_path):
    l2 = metrics.create_metric("l2", device="cpu")
    x = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        metrics.score_pairs(l2, x, x, batch_size=0)
    small = _save(tmp_path, "small.png", _uint8((8, 8, 3), seed=0))
    large = _save(tmp_path, "large.png", _uint8((9, 8, 3), seed=0))
    with pytest.raises(ValueError, match=r"must share a size: .*small.png \(8×8\)"):
        metrics.score_pairs(l2, [small], [large])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        metrics.score_pairs(l2, [text], [text])
    with pytest.raises(FileNotFoundError):
        metrics.score_pairs(l2, [tmp_path / "absent.png"], [small])


def test_empty_inputs_give_empty_results():
    l2 = metrics.create_metric("l2", device="cpu")
    assert metrics.score_pairs(l2, [], []).shape == (0,)
    d0, d1 = metrics.score_triplets(l2, [], [], [])
    assert d0.shape == d1.shape == (0,)
