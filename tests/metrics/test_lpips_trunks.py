"""Where trunk weights come from: a path, the torch hub cache, a download, or a seed."""

from __future__ import annotations

import urllib.error

import pytest
import torch

import metrics
from metrics.lpips import trunks
from tests.metrics.helpers import images


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty $TORCH_HOME, so no real cache is read or written."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def _fake_checkpoint(net: str, seed: int) -> dict[str, torch.Tensor]:
    """A torchvision-style checkpoint: our random features plus a classifier to be ignored."""
    trunk = trunks.Trunk(trunks.TRUNKS[net])
    trunk.reset_random(seed)
    state = {f"features.{k}": v for k, v in trunk.features.state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(2, 2)
    return state


def _lpips(**options):
    return metrics.create_metric("lpips-squeeze", device="cpu", **options)


def test_an_explicit_checkpoint_path_loads_the_features(tmp_path, torch_home):
    path = tmp_path / "squeezenet1_1-custom.pth"
    torch.save(_fake_checkpoint("squeeze", seed=7), path)
    loaded = _lpips(trunk_weights=str(path))
    seeded = _lpips(trunk_weights=None, seed=7)
    x0, x1 = images((2, 3, 32, 32), seed=1, low=-1.0), images((2, 3, 32, 32), seed=2, low=-1.0)
    assert torch.equal(loaded(x0, x1), seeded(x0, x1))


def test_the_torch_hub_cache_is_used_for_imagenet_weights(torch_home, monkeypatch):
    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(_fake_checkpoint("squeeze", seed=3), folder / "squeezenet1_1-b8a52dc0.pth")

    def no_download(*args, **kwargs):
        raise AssertionError("a cached checkpoint must not be downloaded")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    model = _lpips()  # trunk_weights="imagenet" is the default
    assert torch.equal(
        model.trunk.features[0].weight, _lpips(trunk_weights=None, seed=3).trunk.features[0].weight
    )


def test_without_weights_or_download_the_error_says_which_file_goes_where(torch_home):
    with pytest.raises(trunks.TrunkWeightsNotFound) as info:
        metrics.create_metric("lpips-alex", download=False, device="cpu")
    message = str(info.value)
    assert "alexnet-owt-7be5be79.pth" in message
    assert str(torch_home / "hub" / "checkpoints") in message
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in message


def test_a_failed_download_gives_the_same_advice(torch_home, monkeypatch):
    def offline(url, dst, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(trunks.TrunkWeightsNotFound, match=r"vgg16-397923af\.pth") as info:
        metrics.create_metric("lpips-vgg", device="cpu")
    assert "no network" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_a_missing_path_and_a_wrong_checkpoint_are_reported(tmp_path, torch_home):
    with pytest.raises(trunks.TrunkWeightsNotFound, match="does not exist"):
        _lpips(trunk_weights=str(tmp_path / "absent.pth"))
    wrong = tmp_path / "wrong-shape.pth"
    torch.save(
        {**_fake_checkpoint("squeeze", seed=0), "features.0.weight": torch.zeros(64, 3, 5, 5)},
        wrong,
    )
    with pytest.raises(ValueError, match=r"features.0.weight has shape \(64, 3, 5, 5\)"):
        _lpips(trunk_weights=str(wrong))
    alex = tmp_path / "alexnet.pth"
    torch.save(_fake_checkpoint("alex", seed=0), alex)
    with pytest.raises(ValueError, match="not a torchvision squeezenet1_1 checkpoint"):
        _lpips(trunk_weights=str(alex))
    empty = tmp_path / "empty.pth"
    torch.save({"classifier.weight": torch.zeros(1)}, empty)
    with pytest.raises(ValueError, match=r"lacks features\.0\.weight"):
        _lpips(trunk_weights=str(empty))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="could not read"):
        _lpips(trunk_weights=str(junk))


def test_random_trunks_are_reproducible_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = _lpips(trunk_weights=None, seed=1)
    after = torch.rand(3)
    assert torch.equal(before, after)
    b = _lpips(trunk_weights=None, seed=1)
    c = _lpips(trunk_weights=None, seed=2)
    assert torch.equal(a.trunk.features[0].weight, b.trunk.features[0].weight)
    assert not torch.equal(a.trunk.features[0].weight, c.trunk.features[0].weight)


def test_random_alexnet_matches_torchvision_default_initialisation():
    import torchvision

    torch.manual_seed(5)
    reference = torchvision.models.alexnet(weights=None).features
    ours_trunk = trunks.Trunk(trunks.TRUNKS["alex"])
    ours_trunk.reset_random(5)
    # AlexNet's features come first in torchvision's constructor, so the same seed gives the
    # same weights.
    for index in (0, 3, 10):
        assert torch.equal(ours_trunk.features[index].weight, reference[index].weight)
