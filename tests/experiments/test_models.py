"""Trained models: hyperparameter sampling, architectures, deterministic training, the storage
format, the per-process cache and its errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import experiments
from experiments import models
from experiments.models import autoencoder
from experiments.models._format import pack_model, unpack_model


def test_autoencoder_hparams_cover_the_papers_choices():
    drawn = [models.sample_hparams("autoencoder", np.random.default_rng(i)) for i in range(200)]
    for h in drawn:
        assert autoencoder.check_hparams(dict(h)) == h
        if h["force_top_skip"]:
            assert h["skips"][0]
    assert {h["corruption"] for h in drawn} == set(autoencoder.CORRUPTIONS)
    assert {h["upsampling"] for h in drawn} == set(autoencoder.UPSAMPLING)
    assert {h["norm"] for h in drawn} == set(autoencoder.NORMS)
    assert {h["depth"] for h in drawn} == {2, 3, 4}
    assert {h["first_stride"] for h in drawn} == {1, 2}
    assert {h["n_dropout"] for h in drawn} == {0, 1, 2}
    assert {sum(h["skips"]) for h in drawn} >= {0, 1, 2, 3}


@pytest.mark.parametrize("seed", range(12))
def test_every_sampled_architecture_maps_any_patch_size_to_itself(seed):
    import torch

    h = models.sample_hparams("autoencoder", np.random.default_rng(seed))
    net = autoencoder.build(h).eval()
    with torch.no_grad():
        for height, width in ((16, 16), (20, 36), (64, 64)):
            assert net(torch.rand(1, 3, height, width)).shape == (1, 3, height, width)


def test_training_is_deterministic_on_cpu(patches):
    first = experiments.train_model("autoencoder", patches[:8], seed=11, steps=3, device="cpu")
    again = experiments.train_model("autoencoder", patches[:8], seed=11, steps=3, device="cpu")
    other = experiments.train_model("autoencoder", patches[:8], seed=12, steps=3, device="cpu")
    assert first.sha256 == again.sha256
    assert first.data == again.data
    assert other.sha256 != first.sha256
    assert first.sha256 == hashlib.sha256(first.data).hexdigest()
    assert (
        first.training["patches_sha256"]
        == hashlib.sha256(np.stack(patches[:8]).tobytes()).hexdigest()
    )


def test_stored_models_carry_hparams_and_training_record(trained):
    for kind, model in trained.items():
        blob = experiments.read_model(model.data)
        assert blob.kind == kind
        assert blob.hparams == model.hparams
        assert blob.training["seed"] == 5
        assert blob.training["n_patches"] == 24
        assert blob.library_version == experiments.__version__
        assert blob.sha256 == model.sha256


def test_feature_loss_uses_a_supplied_trunk(patches):
    import torch

    trunk = torch.nn.Conv2d(3, 4, 3, padding=1).requires_grad_(False)
    h = {**models.sample_hparams("autoencoder", np.random.default_rng(1)), "feature_weight": 0.5}
    with_trunk = experiments.train_model(
        "autoencoder",
        patches[:4],
        seed=1,
        steps=2,
        hparams=h,
        feature_trunk=("conv4", lambda x: [trunk(x)]),
    )
    without = experiments.train_model("autoencoder", patches[:4], seed=1, steps=2, hparams=h)
    assert with_trunk.training["feature_trunk"] == "conv4"
    assert with_trunk.training["feature_weight_used"] == 0.5
    assert without.training["feature_weight_used"] == 0.0
    assert with_trunk.sha256 != without.sha256


def test_the_format_round_trips_and_rejects_damage():
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(3, np.int64)}
    data = pack_model("sr_net", {"a": 1}, {"seed": 0}, arrays, "9.9")
    blob = unpack_model(data, expected_sha256=hashlib.sha256(data).hexdigest())
    assert blob.kind == "sr_net"
    assert blob.library_version == "9.9"
    assert np.array_equal(blob.arrays["w"], arrays["w"])
    assert blob.arrays["n"] == 3
    assert data == pack_model("sr_net", {"a": 1}, {"seed": 0}, arrays, "9.9")
    with pytest.raises(ValueError, match="expected"):
        unpack_model(data, expected_sha256="0" * 64)
    with pytest.raises(ValueError, match="truncated"):
        unpack_model(data[:-4])
    with pytest.raises(ValueError, match="trailing bytes"):
        unpack_model(data + b"\0")
    with pytest.raises(ValueError, match="bad magic"):
        unpack_model(b"PK\x03\x04" + data[4:])


def test_applying_loads_through_the_callers_store_once(
    trained, model_store, patches, empty_model_cache
):
    sha = trained["autoencoder"].sha256
    distortion = experiments.get_distortion("cnn_autoencoder")
    params = {"model": sha, "strength": 1.0, "seed": 4}
    expected = distortion.apply(patches[0], load_model=model_store.__getitem__, **params)
    models.clear()
    with pytest.raises(ValueError, match="is not loaded in this process; pass load_model"):
        distortion.apply(patches[0], **params)
    calls = []

    def load(digest):
        calls.append(digest)
        return model_store[digest]

    assert np.array_equal(distortion.apply(patches[0], load_model=load, **params), expected)
    assert np.array_equal(distortion.apply(patches[0], load_model=load, **params), expected)
    assert calls == [sha]


def test_a_model_of_the_wrong_kind_or_with_wrong_bytes_is_refused(
    trained, model_store, patches, empty_model_cache
):
    sr = trained["sr_net"].sha256
    with pytest.raises(ValueError, match="is a 'sr_net' model, expected 'autoencoder'"):
        experiments.get_distortion("cnn_autoencoder").apply(
            patches[0], model=sr, strength=1.0, seed=0, load_model=model_store.__getitem__
        )
    models.clear()
    wrong = trained["colorizer_lut"].data
    with pytest.raises(ValueError, match="model bytes have sha256"):
        experiments.get_distortion("superres_net").apply(
            patches[0], model=sr, factor=2, down="box", load_model=lambda _: wrong
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "gan"}, "unknown model kind 'gan'"),
        ({"patches": []}, "non-empty list"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"seed": -3}, "seed must be an integer >= 0"),
        ({"hparams": {"channels": 16}}, "sr_net hparams need keys"),
        ({"mixed": True}, "must share one shape"),
        ({"float": True}, "training patch 0 must have dtype uint8"),
    ],
)
def test_training_rejects_bad_input_and_caches_nothing(kwargs, message, patches):
    arguments = {"kind": "sr_net", "patches": patches[:2], "seed": 0, "steps": 1}
    if kwargs.pop("mixed", False):
        arguments["patches"] = [patches[0], patches[1][:32, :32].copy()]
    if kwargs.pop("float", False):
        arguments["patches"] = [patches[0].astype(np.float32)]
    arguments.update(kwargs)
    from experiments.models import cache

    before = set(cache._runtimes)
    with pytest.raises(ValueError, match=message):
        experiments.train_model(arguments.pop("kind"), arguments.pop("patches"), **arguments)
    assert set(cache._runtimes) == before
