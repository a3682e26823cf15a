"""Leaderboard row labels in words (`analysis.leaderboard.labels`)."""

from __future__ import annotations

import pytest

from analysis.leaderboard import labels


@pytest.mark.parametrize(
    ("name", "options", "label"),
    [
        ("lpips-alex", {"trunk_weights": None}, "LPIPS alex (random trunk)"),
        ("lpips-alex", {"trunk_weights": None, "seed": 0}, "LPIPS alex (random trunk)"),
        ("lpips-vgg", {}, "LPIPS vgg"),
        ("lpips-alex", {"trunk_weights": "imagenet"}, "LPIPS alex"),
        ("lpips-alex", {"trunk_weights": "/ckpt/alex.pth"}, "LPIPS alex (trunk alex.pth)"),
        (
            "lpips-squeeze",
            {"variant": "baseline", "version": "0.0"},
            "LPIPS squeeze (baseline, v0.0)",
        ),
        ("ssim", {"preset": "lpips-baseline"}, "SSIM (preset lpips-baseline)"),
        ("l2", {"device": "cuda"}, "L2"),
        ("psnr", {}, "PSNR"),
        ("deep-resnet18", {}, "deep-resnet18"),
        ("something-new", {}, "something-new"),
    ],
)
def test_registry_metrics_read_as_words(name, options, label):
    assert labels.registry_label(name, options) == label


def test_a_fit_names_its_net_and_trunk():
    assert (
        labels.fit_label(net="alex", variant="lin", pk=4, trunk_weights="random", options={})
        == "LPIPS alex-lin, fit 4 (random trunk)"
    )
    assert (
        labels.fit_label(net="deep-vgg16", variant="lin", pk=5, trunk_weights="", options={})
        == "deep-vgg16-lin, fit 5"
    )
