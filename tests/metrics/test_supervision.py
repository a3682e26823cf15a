"""Declared supervision of trunk checkpoints (``metrics.supervision``) and its provenance."""

from __future__ import annotations

import json

import pytest
import torch

import metrics
from metrics.lpips.trunks import TRUNKS, Trunk
from metrics.supervision import (
    read_trunk_meta,
    sidecar_path,
    trunk_declaration,
    write_trunk_meta,
)


def test_builtin_trunks_declare_themselves():
    assert trunk_declaration(None)["supervision"] == "random"
    assert trunk_declaration(None)["method"] == "gaussian"
    assert trunk_declaration("imagenet")["supervision"] == "supervised"


def test_a_sidecar_declares_a_checkpoint(tmp_path):
    ckpt = tmp_path / "kmeans-alex.pth"
    path = write_trunk_meta(
        ckpt, supervision="unsupervised", method="kmeans", label="K-means", seed=3
    )
    assert path == sidecar_path(ckpt) == tmp_path / "kmeans-alex.pth.meta.json"
    meta = read_trunk_meta(ckpt)
    assert meta["supervision"] == "unsupervised" and meta["seed"] == 3
    declared = trunk_declaration(str(ckpt))
    assert declared == {
        "weights": "kmeans-alex.pth",
        "supervision": "unsupervised",
        "method": "kmeans",
        "label": "K-means",
        "declared_by": "sidecar",
    }


def test_a_checkpoint_without_sidecar_is_undeclared(tmp_path):
    declared = trunk_declaration(str(tmp_path / "mystery.pth"))
    assert declared["supervision"] == "undeclared" and declared["declared_by"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not readable"),
        ('{"perceptlab_trunk_meta": 1, "supervision": "magic", "method": "x"}', "supervision"),
        ('{"perceptlab_trunk_meta": 1, "supervision": "random", "method": ""}', "method"),
        ('{"supervision": "random", "method": "gaussian"}', "perceptlab_trunk_meta"),
        (
            '{"perceptlab_trunk_meta": 1, "supervision": "supervised", "method": "bigan"}',
            "self-supervised",
        ),
    ],
)
def test_a_bad_sidecar_is_a_clear_error(tmp_path, content, message):
    ckpt = tmp_path / "t.pth"
    sidecar_path(ckpt).write_text(content)
    with pytest.raises(ValueError, match=message):
        read_trunk_meta(ckpt)


def test_write_refuses_a_paper_method_under_another_level(tmp_path):
    with pytest.raises(ValueError, match="self-supervised"):
        write_trunk_meta(tmp_path / "t.pth", supervision="unsupervised", method="puzzle")
    assert not sidecar_path(tmp_path / "t.pth").exists()


def _alex_checkpoint(path):
    trunk = Trunk(TRUNKS["alex"])
    trunk.reset_random(5)
    torch.save({f"features.{k}": v for k, v in trunk.features.state_dict().items()}, path)
    return path


def test_lpips_and_zoo_provenance_carry_the_declaration(tmp_path):
    ckpt = _alex_checkpoint(tmp_path / "bigan-tv.pth")
    write_trunk_meta(ckpt, supervision="self-supervised", method="bigan", label="BiGAN")
    for name in ("lpips-alex", "deep-alexnet"):
        metric = metrics.create_metric(
            name, trunk_weights=str(ckpt), variant="baseline", device="cpu"
        )
        trunk = metric.provenance()["trunk"]
        assert trunk["supervision"] == "self-supervised" and trunk["method"] == "bigan"
        json.dumps(metric.provenance())  # stored as JSON by the platform
    random = metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu")
    assert random.provenance()["trunk"]["supervision"] == "random"
