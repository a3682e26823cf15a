"""The LPIPS options, declared once (metrics.lpips.options), the cpu_engine option, and the
provenance that metrics and fits report."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import metrics
from metrics.lpips import LPIPS, options
from metrics.training import Trainer, TripletArrays, fit

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_catalog_registers_the_one_declaration_for_every_trunk():
    common = [opt.name for opt in metrics.get_metric_info("l2").options]
    for net in ("alex", "vgg", "squeeze"):
        info = metrics.get_metric_info(f"lpips-{net}")
        assert info.options[: len(options.LPIPS_OPTIONS)] == options.LPIPS_OPTIONS
        assert [o.name for o in info.options[len(options.LPIPS_OPTIONS) :]] == common
    assert metrics.get_metric_info("lpips-alex").option("cpu_engine").choices == ("fast", "eager")
    assert metrics.get_metric_info("lpips-alex").option("cpu_engine").default == "fast"


def test_the_model_takes_its_defaults_and_choices_from_the_declaration(monkeypatch):
    # No option is spelled out in the model's signature: it has one source.
    params = inspect.signature(LPIPS.__init__).parameters
    assert list(params) == ["self", "net", "options"]
    model = LPIPS("squeeze", trunk_weights=None, device="cpu")
    assert (model.version, model.variant, model.spatial, model.cpu_engine) == (
        "0.1",
        "lin",
        False,
        "fast",
    )
    # A changed declaration changes what the model accepts, and the registry's listing.
    changed = tuple(
        opt if opt.name != "version" else type(opt)(opt.name, "0.0", opt.help, opt.choices)
        for opt in options.LPIPS_OPTIONS
    )
    monkeypatch.setattr(options, "LPIPS_OPTIONS", changed)
    assert LPIPS("squeeze", trunk_weights=None, device="cpu").version == "0.0"


def test_the_declaration_imports_without_torch():
    code = (
        "import sys, json\n"
        "from metrics.lpips import options\n"
        "import metrics\n"
        "metrics.get_metric_info('lpips-alex').option('cpu_engine')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'n': len(options.LPIPS_OPTIONS)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert json.loads(out.stdout) == {"torch": False, "n": len(options.LPIPS_OPTIONS)}


@pytest.mark.parametrize("value", ["turbo", "native", None, True])
def test_a_bad_cpu_engine_is_a_clear_value_error(value):
    with pytest.raises(ValueError, match=r"cpu_engine.*'fast', 'eager'"):
        metrics.create_metric("lpips-alex", trunk_weights=None, cpu_engine=value)
    with pytest.raises(ValueError, match=r"cpu_engine must be one of 'fast', 'eager', got"):
        LPIPS("alex", trunk_weights=None, cpu_engine=value)


def test_unknown_options_and_nets_are_refused_by_the_model_too():
    with pytest.raises(TypeError, match=r"unknown option\(s\) engine; it accepts: .*cpu_engine"):
        LPIPS("alex", trunk_weights=None, engine="fast")
    with pytest.raises(ValueError, match="unknown LPIPS trunk 'resnet'"):
        LPIPS("resnet", trunk_weights=None)


def test_metric_provenance_is_json_safe_and_names_what_computed():
    l2 = metrics.create_metric("l2", device="cpu")
    assert l2.provenance() == {
        "metric": "l2",
        "options": {"device": "cpu", "range_check": "strict"},
        "torch": torch.__version__,
        "device": "cpu",
        "dtype": "float32",
    }
    lpips = metrics.create_metric("lpips-alex", trunk_weights=None, lin_weights=None, device="cpu")
    prov = lpips.provenance()
    assert json.loads(json.dumps(prov)) == prov
    assert prov["metric"] == "lpips-alex" and prov["dtype"] == "float32"
    assert prov["options"]["cpu_engine"] == "fast" and prov["options"]["trunk_weights"] is None
    assert {k: prov[k] for k in ("net", "version", "variant", "cpu_engine", "engine_used")} == {
        "net": "alex",
        "version": "0.1",
        "variant": "lin",
        "cpu_engine": "fast",
        "engine_used": "fast",
    }
    assert prov["fast_layers"] == ["6", "8", "10"]


def test_provenance_says_which_engine_is_actually_used():
    def used(**kwargs):
        model = metrics.create_metric(f"lpips-{kwargs.pop('net', 'alex')}", **kwargs)
        return model.provenance()["engine_used"]

    assert used(trunk_weights=None, device="cpu", cpu_engine="eager") == "eager"
    assert used(trunk_weights=None, device="cpu", net="squeeze") == "eager"  # nothing to swap
    double = metrics.create_metric("lpips-alex", trunk_weights=None, device="cpu").double()
    assert double.provenance()["dtype"] == "float64"
    assert double.provenance()["engine_used"] == "eager"
    state = {"lin.0": torch.ones(64), **{f"lin.{k}": torch.ones(c) for k, c in
             enumerate((192, 384, 256, 256), start=1)}}  # fmt: skip
    prov = metrics.create_metric(
        "lpips-alex", trunk_weights=None, lin_weights=state, device="cpu"
    ).provenance()
    assert prov["options"]["lin_weights"] == "<dict>"
    if torch.cuda.is_available():
        assert used(trunk_weights=None, device="cuda") == "eager"


def _arrays(n, seed):
    g = torch.Generator().manual_seed(seed)
    ref, p0, p1 = (torch.rand(n, 3, 32, 32, generator=g) * 2 - 1 for _ in range(3))
    return TripletArrays(ref, p0, p1, torch.rand(n, generator=g))


@pytest.mark.parametrize(("variant", "engine", "used"), [("lin", "fast", "fast"),
                         ("lin", "eager", "eager"), ("tune", "fast", "eager")])  # fmt: skip
def test_fits_report_their_provenance(variant, engine, used):
    kwargs = {"val": {"val": _arrays(8, 1)}, "trunk_weights": None, "device": "cpu"}
    trainer = Trainer(
        _arrays(8, 0), variant=variant, epochs=1, decay_epochs=0, cpu_engine=engine, **kwargs
    )
    prov = trainer.provenance()
    assert prov["metric"] == "lpips-alex" and prov["torch"] == torch.__version__
    assert (prov["variant"], prov["cpu_engine"], prov["engine_used"]) == (variant, engine, used)
    assert prov["training_path"] == ("fast" if variant == "lin" else "full")
    result = trainer.run()
    assert result.provenance == prov
    assert result.summary()["provenance"] == prov
    json.dumps(result.summary())


def test_fit_passes_the_engine_on():
    result = fit(_arrays(8, 0), val=None, trunk_weights=None, epochs=1, decay_epochs=0,
                 cpu_engine="eager", device="cpu")  # fmt: skip
    assert result.provenance["cpu_engine"] == "eager"
    assert result.create_metric(device="cpu").provenance()["cpu_engine"] == "fast"
