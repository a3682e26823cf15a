"""Provenance: every registered distortion and every rendered trial regenerates byte-identically
from its JSON record in a fresh model cache; malformed records are clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import experiments
from experiments import models
from tests.experiments.conftest import sampling_options

NAMES = [info.name for info in experiments.list_distortions()]


def _record(images, trained, model_store, name, seed=0):
    sha, image = sorted(images.items())[seed % len(images)]
    patch = experiments.sample_patch(
        image, image_sha256=sha, seed=seed, index=3, rescale=(0.7, 1.4)
    )
    distortion = experiments.get_distortion(name)
    params = distortion.sample_params(
        np.random.default_rng(seed), 0.6, **sampling_options(name, trained)
    )
    pixels = distortion.apply(patch.pixels, load_model=model_store.__getitem__, **params)
    provenance = experiments.make_provenance(
        source_sha256=sha,
        box=patch.box,
        scale=patch.scale,
        size=64,
        chain=[{"name": name, "params": params, "severity": 0.6}],
        seed=seed,
        patch_index=3,
    )
    return pixels, json.loads(json.dumps(provenance))


@pytest.mark.parametrize("name", NAMES)
def test_every_distortion_regenerates_byte_identically(
    name, images, trained, model_store, empty_model_cache
):
    pixels, provenance = _record(images, trained, model_store, name)
    models.clear()  # regeneration must work from the stored bytes alone
    again = experiments.regenerate(
        provenance, load_image=images.__getitem__, load_model=model_store.__getitem__
    )
    assert experiments.encode_png(again) == experiments.encode_png(pixels)
    kind = experiments.get_distortion(name).info.model_kind
    assert provenance["models"] == ([trained[kind].sha256] if kind else [])


def test_rendered_trials_of_every_family_regenerate(
    images, trained, model_store, empty_model_cache
):
    traditional = [i.name for i in experiments.list_distortions(category="traditional")]
    design = experiments.TrialDesign.from_dict(
        {
            "seed": 4,
            "kind": "2afc",
            "images": sorted(images),
            "rescale": [0.5, 1.5],
            "sentinel_rate": 0.1,
            "categories": {
                "traditional": {"choices": traditional},
                "cnn": {
                    "choices": [
                        {"name": "cnn_autoencoder", "models": [trained["autoencoder"].sha256]}
                    ]
                },
                "color": {
                    "choices": [
                        "colorize_grey",
                        {"name": "colorize_lut", "models": [trained["colorizer_lut"].sha256]},
                        {"name": "colorize_net", "models": [trained["colorizer_net"].sha256]},
                    ]
                },
                "deblur": {"choices": ["deblur_wiener", "deblur_richardson_lucy"]},
            },
            "counts": {"train": {"traditional": 24, "cnn": 3}, "val": {"color": 3, "deblur": 2}},
        }
    )
    families, stored = set(), []
    for index in range(design.total_trials):
        plan = experiments.plan_trial(design, index)
        stimuli = experiments.render_trial(
            plan, load_image=images.__getitem__, load_model=model_store.__getitem__
        )
        for stimulus in (stimuli.reference, stimuli.p0, stimuli.p1):
            stored.append((json.dumps(stimulus.provenance), stimulus.png()))
            families.update(
                experiments.get_distortion(step["name"]).family
                for step in stimulus.provenance["chain"]
            )
    assert families == set(experiments.FAMILIES)
    models.clear()
    for record, png in stored:
        again = experiments.regenerate(
            json.loads(record), load_image=images.__getitem__, load_model=model_store.__getitem__
        )
        assert experiments.encode_png(again) == png


def test_composed_records_list_the_steps_actually_drawn(images, trained, model_store):
    _, provenance = _record(images, trained, model_store, "composed", seed=2)
    (step,) = provenance["chain"]
    inner = [s["name"] for s in step["params"]["steps"]]
    assert len(inner) == 2
    assert inner[0] != inner[1]
    assert provenance["source"]["size"] == 64
    assert len(provenance["source"]["box"]) == 4
    assert provenance["library_version"] == experiments.__version__


def test_a_record_from_another_library_version_is_refused_unless_allowed(
    images, trained, model_store
):
    pixels, provenance = _record(images, trained, model_store, "jpeg")
    provenance["library_version"] = "0.0.1"
    with pytest.raises(ValueError, match=r"written by experiments 0\.0\.1"):
        experiments.regenerate(provenance, load_image=images.__getitem__)
    again = experiments.regenerate(
        provenance, load_image=images.__getitem__, allow_version_mismatch=True
    )
    assert np.array_equal(again, pixels)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.pop("chain"), r"record is missing \['chain'\]"),
        (lambda p: p["source"].pop("box"), r"source is missing \['box'\]"),
        (lambda p: p.update(chain={"name": "jpeg"}), "chain must be a list"),
        (lambda p: p["chain"][0].update(name="jpg"), "unknown distortion 'jpg'"),
        (lambda p: p["chain"][0]["params"].update(quality=1000), "'quality' must be in"),
        (lambda p: p["source"].update(box=[0, 0, 5000, 5000]), "not a square inside"),
        (lambda p: p["source"].update(sha256="nope"), "source sha256 must be"),
        (lambda p: p.update(source=[1, 2]), "source must be a dict"),
    ],
)
def test_malformed_records_are_clear_errors(damage, message, images, trained, model_store):
    _, provenance = _record(images, trained, model_store, "jpeg")
    damage(provenance)
    with pytest.raises(ValueError, match=message):
        experiments.regenerate(provenance, load_image=images.__getitem__)


def test_a_missing_model_store_is_a_clear_error(images, trained, model_store, empty_model_cache):
    _, provenance = _record(images, trained, model_store, "cnn_autoencoder")
    models.clear()
    with pytest.raises(ValueError, match="not loaded in this process; pass load_model"):
        experiments.regenerate(provenance, load_image=images.__getitem__)
