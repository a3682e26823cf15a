"""The shipped lin weights: what loads, the §10 reference sums, checksums, custom weights."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch

import metrics
from metrics.lpips import lin
from tests.metrics.helpers import images, ours

# Per-layer sums of the released weights, shared/reference/lpips-bapps.md §1.6 and §10.
REFERENCE_SUMS = {
    ("alex", "0.1"): (2.350, 16.143, 39.268, 27.197, 20.317),
    ("vgg", "0.1"): (6.926, 8.858, 17.515, 51.521, 47.035),
    ("squeeze", "0.1"): (5.690, 1.185, 16.327, 71.013, 37.371, 24.263, 17.591),
    ("alex", "0.0"): (2.566, 10.257, 22.434, 16.314, 13.935),
    ("vgg", "0.0"): (3.642, 1.960, 1.123, 20.106, 25.690),
    ("squeeze", "0.0"): (5.302, 1.145, 8.885, 38.112, 22.990, 15.439, 13.055),
}
PARAMETER_COUNTS = {"alex": 1152, "vgg": 1472, "squeeze": 2240}


@pytest.mark.parametrize(("net", "version"), sorted(REFERENCE_SUMS))
def test_loaded_lin_weights_have_the_reference_layer_sums(net, version):
    model = ours(net, version)
    sums = tuple(round(w.sum().item(), 3) for w in model.lin)
    assert sums == pytest.approx(REFERENCE_SUMS[(net, version)], abs=1.5e-3)
    assert sum(w.numel() for w in model.lin) == PARAMETER_COUNTS[net]
    assert all((w >= 0).all() for w in model.lin)


def test_the_manifest_lists_the_six_files_with_their_sizes_and_licence():
    manifest = lin.load_manifest()
    assert sorted(manifest) == [
        f"v{v}/{n}.pth" for v in ("0.0", "0.1") for n in ("alex", "squeeze", "vgg")
    ]
    # lpips-bapps.md §10: six files, 46,356 bytes; v0.1/alex.pth sha256 starts df73285e.
    assert sum(e["bytes"] for e in manifest.values()) == 46356
    assert manifest["v0.1/alex.pth"]["sha256"].startswith("df73285e")
    for rel, entry in manifest.items():
        data = (lin.WEIGHTS_DIR / rel).read_bytes()
        assert len(data) == entry["bytes"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    licence = (lin.WEIGHTS_DIR / "LICENSE").read_text()
    assert "Richard Zhang" in licence
    assert "Redistribution and use in source and binary forms" in licence


def test_a_damaged_shipped_file_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "weights"
    shutil.copytree(lin.WEIGHTS_DIR, copy)
    target = copy / "v0.1" / "alex.pth"
    target.write_bytes(target.read_bytes()[:-1] + b"\x00")
    monkeypatch.setattr(lin, "WEIGHTS_DIR", copy)
    monkeypatch.setattr(lin, "MANIFEST", copy / "manifest.json")
    with pytest.raises(lin.WeightsChecksumError, match="sha256"):
        metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu")


def test_official_key_names_load_from_a_file(tmp_path):
    state = torch.load(lin.shipped_path("alex", "0.0"), map_location="cpu", weights_only=True)
    path = tmp_path / "custom.pth"
    torch.save(state, path)
    custom = metrics.create_metric(
        "lpips-alex", trunk_weights=None, lin_weights=str(path), device="cpu"
    )
    reference = ours("alex", "0.1")
    for a, b in zip(custom.lin, ours("alex", "0.0").lin, strict=True):
        assert torch.equal(a, b)
    # Same trunk, different lin weights: different distances.
    x0, x1 = images((2, 3, 64, 64), seed=1, low=-1.0), images((2, 3, 64, 64), seed=2, low=-1.0)
    assert not torch.allclose(custom(x0, x1), reference(x0, x1))


def test_our_key_names_and_the_export_round_trip():
    model = ours("squeeze")
    exported = model.export_lin_state_dict()
    assert sorted(exported) == [f"lin{k}.model.1.weight" for k in range(7)]
    assert exported["lin3.model.1.weight"].shape == (1, 384, 1, 1)
    ours_keys = {f"lin.{k}": w for k, w in enumerate(model.lin)}
    for state in (exported, ours_keys, model.state_dict()):
        state = {k: v for k, v in state.items() if "lin" in k}
        rebuilt = metrics.create_metric(
            "lpips-squeeze", trunk_weights=None, lin_weights=state, device="cpu"
        )
        for a, b in zip(rebuilt.lin, model.lin, strict=True):
            assert torch.equal(a, b)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torchvision's `pretrained` deprecation
def test_the_export_loads_into_the_official_package():
    import lpips

    net = lpips.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False)
    _, unexpected = net.load_state_dict(ours("alex").export_lin_state_dict(), strict=False)
    assert not unexpected
    for k, w in enumerate(ours("alex").lin):
        assert torch.equal(getattr(net, f"lin{k}").model[1].weight.flatten(), w)


def _state(net="alex", **changes):
    state = torch.load(lin.shipped_path(net, "0.1"), map_location="cpu", weights_only=True)
    state.update(changes)
    return state


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (_state(**{"lin0.model.1.weight": -torch.ones(1, 64, 1, 1)}), "negative weights"),
        (_state(**{"lin1.model.1.weight": torch.full((1, 192, 1, 1), float("nan"))}), "NaN"),
        (_state(**{"lin2.model.1.weight": torch.ones(1, 100, 1, 1)}), "shape"),
        (_state(**{"net.slice1.0.weight": torch.ones(1)}), "unexpected key"),
        ({k: v for k, v in _state().items() if not k.startswith("lin4")}, r"found \[0, 1, 2, 3\]"),
        (_state(**{"lin.0": torch.ones(64)}), "appears twice"),
    ],
)
def test_malformed_lin_weights_are_refused(state, message):
    with pytest.raises(ValueError, match=message):
        metrics.create_metric("lpips-alex", trunk_weights=None, lin_weights=state, device="cpu")


def test_a_missing_or_unreadable_lin_file_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        metrics.create_metric(
            "lpips-alex", trunk_weights=None, lin_weights=tmp_path / "nope.pth", device="cpu"
        )
    junk = tmp_path / "junk.pth"
    junk.write_text(json.dumps({"not": "torch"}))
    with pytest.raises(ValueError, match="could not read"):
        metrics.create_metric("lpips-alex", trunk_weights=None, lin_weights=junk, device="cpu")


def test_the_baseline_variant_has_no_lin_weights():
    model = ours("alex", "0.1", "baseline")
    assert model.lin is None
    with pytest.raises(ValueError, match="no lin weights"):
        model.export_lin_state_dict()
