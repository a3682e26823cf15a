"""Metric references (`metrics.refs`): parsing, clear errors, round trip, the random-trunk rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import metrics
from metrics.refs import MetricRef, trunk_option, trunk_stored

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [
        ("l2", "registry", "l2"),
        ("lpips-alex", "registry", "lpips-alex"),
        ("fitted:42", "fitted", "42"),
        ("uploaded:7", "uploaded", "7"),
    ],
)
def test_it_parses_and_round_trips(text, kind, key):
    ref = MetricRef.parse(text)
    assert (ref.kind, ref.key) == (kind, key)
    assert str(ref) == text
    assert MetricRef.parse(str(ref)) == ref


def test_every_registered_metric_parses():
    for info in metrics.list_metrics():
        assert str(MetricRef.parse(info.name)) == info.name


def test_ids_of_stored_metrics():
    assert MetricRef.parse("fitted:42").pk == 42
    assert MetricRef.fitted(3) == MetricRef.parse("fitted:3")
    assert MetricRef.uploaded(5) == MetricRef.parse("uploaded:5")
    assert not MetricRef.fitted(3).is_registry and MetricRef.parse("l2").is_registry
    with pytest.raises(ValueError, match="registry metric"):
        _ = MetricRef.parse("l2").pk


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no-such-metric", "unknown metric 'no-such-metric'.*Known metrics: .*lpips-alex"),
        ("lpips_alex", "Did you mean lpips-alex"),
        ("", "needs a name"),
        ("fitted:", "bad id ''"),
        ("fitted:abc", "bad id 'abc'"),
        ("fitted:-1", "bad id '-1'"),
        ("fitted:0", "bad id '0'"),
        ("fitted:007", "bad id '007'"),
        ("uploaded:1.5", "bad id '1.5'"),
        ("fitted:²", "bad id"),
        ("fitted:1:2", "bad id '1:2'"),
        ("trained:3", "unknown metric prefix 'trained'"),
        (":3", "unknown metric prefix ''"),
    ],
)
def test_it_names_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        MetricRef.parse(text)


def test_it_rejects_non_strings():
    with pytest.raises(ValueError, match="is a string"):
        MetricRef.parse(42)


def test_refs_are_frozen_and_hashable():
    ref = MetricRef.parse("fitted:1")
    with pytest.raises(AttributeError):
        ref.key = "2"
    assert {ref, MetricRef.fitted(1)} == {ref}


@pytest.mark.parametrize(
    ("stored", "option"),
    [("random", None), ("", "imagenet"), ("/ckpt/alex.pth", "/ckpt/alex.pth")],
)
def test_trunk_rule_both_ways(stored, option):
    assert trunk_option(stored) == option
    assert trunk_stored(option) == stored


def test_stored_imagenet_means_the_imagenet_trunk():
    assert trunk_option("imagenet") == "imagenet"


def test_it_is_exported_and_torch_free():
    code = (
        "import sys; import metrics; from metrics.refs import MetricRef; "
        "MetricRef.parse('lpips-alex'); MetricRef.parse('fitted:3'); "
        "assert metrics.MetricRef is MetricRef; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
