"""``metrics.lpips.convert_trunk`` / ``python -m metrics convert-trunk``: each source layout maps
to torchvision's keys and shapes, grouped convolutions become block-diagonal dense ones computing
the same thing, the input convention is folded into conv1, and a wrong shape names the layer.

The released files cannot be downloaded here: the checkpoints are synthetic, with the key names
and shapes each layout assumes (docs/reproducing-the-paper.md)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from metrics.cli import convert_trunk as cli
from metrics.cli import main
from metrics.lpips import convert_trunk as ct

CAFFE_SHAPES = [(96, 3, 11, 11), (256, 48, 5, 5), (384, 256, 3, 3), (384, 192, 3, 3),
                (256, 192, 3, 3)]  # fmt: skip
GROUPS = (1, 2, 1, 2, 2)
KEYS = {
    "caffe": lambda n: (f"conv{n}.weight", f"conv{n}.bias"),
    "caffe-blobs": lambda n: (f"conv{n}.0", f"conv{n}.1"),
    "netdissect": lambda n: (f"features.{(0, 4, 8, 10, 12)[n - 1]}.weight",
                             f"features.{(0, 4, 8, 10, 12)[n - 1]}.bias"),
    "jigsaw-pytorch": lambda n: (f"conv.conv{n}_s1.weight", f"conv.conv{n}_s1.bias"),
}  # fmt: skip
# layout → the key schemes it must read
CASES = [
    ("caffe-alexnet", "caffe"),
    ("caffe-alexnet", "caffe-blobs"),
    ("bigan", "caffe"),
    ("splitbrain", "caffe"),
    ("puzzle", "netdissect"),
    ("puzzle", "jigsaw-pytorch"),
    ("puzzle", "caffe"),
    ("moving", "netdissect"),
    ("moving", "caffe"),
    ("netdissect", "netdissect"),
]


def synthetic(scheme: str, shapes=CAFFE_SHAPES, seed: int = 0, extra: bool = True) -> dict:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for n, shape in enumerate(shapes, start=1):
        w, b = KEYS[scheme](n)
        state[w] = torch.randn(shape, generator=g) * 0.05
        state[b] = torch.randn(shape[0], generator=g) * 0.05
    if extra:  # a classifier the converter must ignore
        state["fc6.weight"] = torch.zeros(8, 8)
    return state


def test_the_cli_lists_the_librarys_layouts_and_inputs():
    assert tuple(ct.LAYOUTS) == cli.LAYOUTS and cli.INPUTS == ct.INPUTS


@pytest.mark.parametrize(("layout", "scheme"), CASES)
def test_each_layout_maps_to_torchvision_keys_and_dense_shapes(layout, scheme):
    state = synthetic(scheme)
    out, report = ct.convert_state(state, layout)
    assert sorted(out) == sorted(
        f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")
    )
    widths = [s[0] for s in CAFFE_SHAPES]
    inputs = [3, *widths[:-1]]
    for i, index in enumerate((0, 3, 6, 8, 10)):
        k = CAFFE_SHAPES[i][2]
        assert tuple(out[f"features.{index}.weight"].shape) == (widths[i], inputs[i], k, k)
        assert tuple(out[f"features.{index}.bias"].shape) == (widths[i],)
    assert [m.groups for m in report.layers] == list(GROUPS)
    assert [m.source_key for m in report.layers] == [KEYS[scheme](n)[0] for n in range(1, 6)]
    assert report.scheme == ("caffe" if scheme == "caffe-blobs" else scheme)
    assert report.ignored_keys == 1
    # conv2 … conv5 are copied (groups expanded), never changed otherwise
    for n, index in zip(range(2, 6), (3, 6, 8, 10), strict=True):
        src = state[KEYS[scheme](n)[0]]
        dense = out[f"features.{index}.weight"]
        if GROUPS[n - 1] == 1:
            assert torch.equal(dense, src)
        else:
            half_out, half_in = src.shape[0] // 2, src.shape[1]
            assert torch.equal(dense[:half_out, :half_in], src[:half_out])
            assert torch.equal(dense[half_out:, half_in:], src[half_out:])
            assert not dense[:half_out, half_in:].any() and not dense[half_out:, :half_in].any()
        assert torch.equal(out[f"features.{index}.bias"], state[KEYS[scheme](n)[1]])


def test_expanded_groups_compute_the_grouped_convolution():
    g = torch.Generator().manual_seed(3)
    weight, bias = torch.randn(8, 3, 3, 3, generator=g), torch.randn(8, generator=g)
    x = torch.randn(2, 6, 9, 9, generator=g)
    grouped = F.conv2d(x, weight, bias, padding=1, groups=2)
    dense = F.conv2d(x, ct.expand_groups(weight, 2), bias, padding=1)
    torch.testing.assert_close(dense, grouped, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("convention", ["bgr255", "rgb255", "rgb01", "rgb-1-1", "imagenet"])
def test_conv1_folding_gives_the_source_conv1_on_the_source_input(convention):
    """Away from the border (torchvision pads conv1 by 2), the folded conv1 on ImageNet-normalised
    RGB equals the source conv1 on the source's own input of the same picture."""
    g = torch.Generator().manual_seed(5)
    weight, bias = torch.randn(6, 3, 11, 11, generator=g) * 0.01, torch.randn(6, generator=g)
    x = torch.rand(1, 3, 40, 40, generator=g)
    m, beta, _ = ct.input_affine(convention)
    source_input = (torch.einsum("cj,njhw->nchw", m, x.double()) + beta.view(1, 3, 1, 1)).float()
    expected = F.conv2d(source_input, weight, bias, stride=4)
    w2, b2, _ = ct.fold_input(weight, bias, convention)
    mean = torch.tensor(ct.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(ct.IMAGENET_STD).view(1, 3, 1, 1)
    got = F.conv2d((x - mean) / std, w2, b2, stride=4)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)
    if convention == "bgr255":  # channel order really flipped: the red filter sees blue
        assert torch.allclose(w2[:, 0], weight[:, 2] * 255 * ct.IMAGENET_STD[0], rtol=1e-5)


def test_lab_is_folded_as_its_best_affine_fit_and_the_error_is_reported():
    _, report = ct.convert_state(synthetic("caffe"), "splitbrain")
    rms = report.input_fit_rms
    assert rms is not None and len(rms) == 3
    assert all(0 < v < 15 for v in rms), rms  # L, a, b spans are ~100, ~180, ~200
    assert any("Lab approximated" in note for note in report.notes)
    m, beta, _ = ct.input_affine("lab")
    grey = torch.full((1, 3), 0.5, dtype=torch.float64)  # mid grey: L* ≈ 53.4, a = b = 0
    lab = grey @ m.T + beta
    assert abs(float(lab[0, 0]) - 3.4) < 8 and abs(float(lab[0, 1])) < 8


@pytest.mark.parametrize(
    ("layer", "shape", "words"),
    [
        (1, (96, 4, 11, 11), "conv1 (conv1.weight): weight has shape (96, 4, 11, 11)"),
        (2, (256, 48, 3, 3), "conv2 (conv2.weight): weight has shape (256, 48, 3, 3)"),
        (3, (384, 200, 3, 3), "conv3 (conv3.weight): weight has shape (384, 200, 3, 3)"),
        (4, (300, 192, 3, 3), "conv4 (conv4.weight): weight has shape (300, 192, 3, 3)"),
        (5, (256, 192, 3), "conv5 (conv5.weight): weight has shape (256, 192, 3)"),
    ],
)
def test_a_wrong_shape_names_the_layer(layer, shape, words):
    shapes = list(CAFFE_SHAPES)
    shapes[layer - 1] = shape
    with pytest.raises(ct.TrunkConversionError) as info:
        ct.convert_state(synthetic("caffe", shapes=shapes), "bigan")
    assert words in str(info.value)


def test_missing_tensors_and_unknown_layouts_are_clear_errors():
    state = synthetic("caffe")
    del state["conv3.weight"]
    with pytest.raises(ct.TrunkConversionError, match="conv3: no weight"):
        ct.convert_state(state, "bigan")
    state = synthetic("caffe")
    state["conv2.bias"] = torch.zeros(5)
    with pytest.raises(ct.TrunkConversionError, match=r"conv2 \(conv2.bias\): bias has shape"):
        ct.convert_state(state, "bigan")
    with pytest.raises(ct.TrunkConversionError, match=r"no conv1 weight .* layout 'moving'"):
        ct.convert_state(synthetic("jigsaw-pytorch"), "moving")
    with pytest.raises(ct.TrunkConversionError, match="unknown layout 'vgg'"):
        ct.convert_state(state, "vgg")
    state = {**synthetic("netdissect"), "features.1.running_mean": torch.zeros(96)}
    with pytest.raises(ct.TrunkConversionError, match="batch-norm"):
        ct.convert_state(state, "netdissect")


def test_a_converted_trunk_loads_in_lpips_alex_with_its_widths(tmp_path):
    import metrics

    src, out = tmp_path / "moving.pth", tmp_path / "moving-tv.pt"
    torch.save({f"module.{k}": v for k, v in synthetic("netdissect").items()}, src)
    ct.convert_trunk(src, out, "moving")
    metric = metrics.create_metric("lpips-alex", variant="baseline", trunk_weights=str(out))
    assert metric.spec.channels == (96, 256, 384, 384, 256)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1, torch.rand(2, 3, 64, 64, generator=g)
    d = metric(x, y * 2 - 1)
    assert d.shape == (2,) and torch.isfinite(d).all() and (d > 0).all()
    assert torch.allclose(metric(x, x), torch.zeros(2), atol=1e-6)
    # the shipped lin weights fit torchvision's widths only: a clear error, not a crash
    with pytest.raises(ValueError, match=r"layer 0 has shape \(1, 64, 1, 1\), expected \(96,\)"):
        metrics.create_metric("lpips-alex", trunk_weights=str(out))


def test_a_torchvision_checkpoint_with_inconsistent_widths_still_fails_to_load(tmp_path):
    import metrics

    state, _ = ct.convert_state(synthetic("caffe"), "bigan")
    state["features.6.weight"] = torch.zeros(384, 100, 3, 3)  # conv3 no longer chains
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"features.0.weight has shape \(96, 3, 11, 11\)"):
        metrics.create_metric(
            "lpips-alex", variant="baseline", trunk_weights=str(tmp_path / "bad.pt")
        )


def test_cli_prints_the_mapping_writes_a_report_and_refuses_bad_input(tmp_path, capsys):
    src = tmp_path / "bigan.pt"
    torch.save(synthetic("caffe"), src)
    out = tmp_path / "bigan-tv.pt"
    assert main(["convert-trunk", str(src), str(out), "--layout", "bigan"]) == 0
    text = capsys.readouterr().out
    assert "conv2: conv2.weight (256, 48, 5, 5), groups 2 → dense → features.3 (256, 96, 5, 5)" in (
        text
    )
    report = json.loads((tmp_path / "bigan-tv.json").read_text())
    assert report["layout"] == "bigan" and len(report["layers"]) == 5
    # The paper's layout declares its Table-5 row beside the checkpoint; a generic one does not.
    from metrics.supervision import read_trunk_meta

    meta = read_trunk_meta(out)
    assert (meta["supervision"], meta["method"]) == ("self-supervised", "bigan"), meta
    assert "declared self-supervised (bigan)" in text
    generic = tmp_path / "generic-tv.pt"
    assert main(["convert-trunk", str(src), str(generic), "--layout", "caffe-alexnet"]) == 0
    assert (
        read_trunk_meta(generic) is None and "no generic-tv.pt.meta.json" in capsys.readouterr().out
    )
    assert sorted(torch.load(out, weights_only=True)) == sorted(
        f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")
    )
    # exists → refused; a wrong shape → one error line naming the layer, nothing written
    assert main(["convert-trunk", str(src), str(out), "--layout", "bigan"]) == 2
    assert "exists" in capsys.readouterr().err
    bad = synthetic("caffe")
    bad["conv4.weight"] = torch.zeros(384, 191, 3, 3)
    torch.save(bad, tmp_path / "bad.pt")
    code = main(["convert-trunk", str(tmp_path / "bad.pt"), str(tmp_path / "x.pt"),
                 "--layout", "bigan"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "conv4 (conv4.weight): weight has shape (384, 191, 3, 3)" in err
    assert not (tmp_path / "x.pt").exists()
    assert main(["convert-trunk", str(tmp_path / "none.pt"), str(tmp_path / "y.pt"),
                 "--layout", "bigan"]) == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err
