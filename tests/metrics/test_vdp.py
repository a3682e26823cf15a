"""ColorVideoVDP (``cvvdp``): registry entry, display model, errors, parity with calling cvvdp.

The tests that run cvvdp need the optional ``vdp`` extra (``pip install -e '.[vdp]'``, which CI
installs); without it they are skipped with that reason, and the missing-extra error is tested.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from PIL import Image

import metrics
from metrics._extras import MissingExtraError
from metrics.cli import main
from metrics.display import DEFAULT_PPI, image_ppd
from tests.metrics.helpers import images, near

try:
    import pycvvdp
except ImportError:  # the optional extra
    pycvvdp = None

needs_cvvdp = pytest.mark.skipif(
    pycvvdp is None, reason="the optional 'vdp' extra (cvvdp) is not installed"
)
# ColorVideoVDP's standard_fhd display (24-inch 1920×1080 at 0.6 m), as cvvdp 0.5.7 computes it.
FHD_PPD = 37.842503853602885


def test_it_is_registered_with_its_display_model_as_options():
    info = metrics.get_metric_info("cvvdp")  # no import of pycvvdp or torch needed
    assert info.input_range == (0.0, 1.0) and info.lower_is_more_similar
    names = {opt.name for opt in info.options}
    assert {"display_scale", "viewing_distance_m", "display_ppi", "pixels_per_degree"} <= names
    assert {"peak_luminance", "contrast", "ambient_lux"} <= names
    assert info.option("display_ppi").default == pytest.approx(DEFAULT_PPI)
    assert "'vdp' extra" in info.summary


def test_pixels_per_degree_follow_the_display_scale_and_distance():
    ppd1 = image_ppd(display_scale=1, viewing_distance_m=0.6, display_ppi=DEFAULT_PPI)
    assert ppd1 == pytest.approx(FHD_PPD, rel=1e-12)
    ppd4 = image_ppd(display_scale=4, viewing_distance_m=0.6, display_ppi=DEFAULT_PPI)
    assert ppd4 == pytest.approx(FHD_PPD / 4, rel=1e-12)
    far = image_ppd(display_scale=4, viewing_distance_m=1.2, display_ppi=DEFAULT_PPI)
    assert far == pytest.approx(2 * ppd4, rel=1e-3)  # small angles: twice as far, twice the ppd
    fixed = image_ppd(
        display_scale=4, viewing_distance_m=0.6, display_ppi=DEFAULT_PPI, pixels_per_degree=30
    )
    assert fixed == 30.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"display_scale": 0}, "display_scale"),
        ({"display_scale": 1.5}, "display_scale"),
        ({"viewing_distance_m": -1}, "viewing_distance_m"),
        ({"display_ppi": 0}, "display_ppi"),
        ({"pixels_per_degree": float("nan")}, "pixels_per_degree"),
        ({"peak_luminance": 0}, "peak_luminance"),
        ({"ambient_lux": -3}, "ambient_lux"),
    ],
)
def test_bad_display_options_are_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        metrics.create_metric("cvvdp", device="cpu", **options)


def test_a_missing_extra_is_an_error_naming_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pycvvdp", None)  # import pycvvdp now raises ImportError
    with pytest.raises(MissingExtraError, match=r"'vdp' extra.*pip install -e '\.\[vdp\]'"):
        metrics.create_metric("cvvdp", device="cpu")
    # The command line reports it as one line, exit status 2.
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(tmp_path / name / "x.png")
    code = main(["score-pairs", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "cvvdp"])
    err = capsys.readouterr().err
    assert code == 2 and "'vdp' extra" in err and "Traceback" not in err


@needs_cvvdp
def test_range_and_shape_errors_as_for_other_metrics():
    metric = metrics.create_metric("cvvdp", device="cpu")
    x = images((2, 3, 32, 32), seed=0)
    with pytest.raises(ValueError, match="must have the same shape"):
        metric(x, x[:1])
    with pytest.raises(ValueError, match=r"\[0(\.0)?, 1(\.0)?\]"):
        metric(x, x * 2)
    with pytest.raises(ValueError, match="at least 4×4"):
        metric(x[:, :, :2, :2], x[:, :, :2, :2])


@needs_cvvdp
def test_distance_is_zero_for_identical_images_and_grows_with_noise():
    metric = metrics.create_metric("cvvdp", device="cpu")
    x = images((3, 3, 32, 32), seed=1)
    small = metric(x, near(x, seed=2, noise=0.02))
    large = metric(x, near(x, seed=2, noise=0.2))
    assert metric(x, x).abs().max() < 1e-4
    assert torch.all(small < large) and small.shape == (3,) and small.dtype == torch.float32


def _direct(vdp, ref: torch.Tensor, test: torch.Tensor) -> list[float]:
    """10 − JOD from cvvdp called directly, one 8-bit H×W×3 image pair at a time."""
    out = []
    for r, t in zip(ref, test, strict=True):
        r8 = (r.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        t8 = (t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        jod, _ = vdp.predict(t8, r8, dim_order="HWC")
        out.append(10.0 - float(jod))
    return out


def _eight_bit(x: torch.Tensor) -> torch.Tensor:
    return (x * 255).round() / 255


@needs_cvvdp
@pytest.mark.parametrize("display_scale", [1, 4])
def test_parity_with_calling_cvvdp_directly(display_scale):
    ref = _eight_bit(images((3, 3, 48, 48), seed=3))
    test = _eight_bit(near(ref, seed=4, noise=0.08))
    ours = metrics.create_metric("cvvdp", device="cpu", display_scale=display_scale)
    if display_scale == 1:  # exactly cvvdp's own standard_fhd display, by name
        direct = pycvvdp.cvvdp(display_name="standard_fhd", device=torch.device("cpu"), quiet=True)
    else:
        geometry = pycvvdp.vvdp_display_geometry([1920, 1080], ppd=FHD_PPD / display_scale)
        photometry = pycvvdp.vvdp_display_photometry.load("standard_fhd", [])
        direct = pycvvdp.cvvdp(
            display_photometry=photometry,
            display_geometry=geometry,
            device=torch.device("cpu"),
            quiet=True,
        )
    assert ours.ppd == pytest.approx(direct.pix_per_deg, rel=1e-12)
    expected = _direct(direct, ref, test)
    assert ours(ref, test).tolist() == pytest.approx(expected, abs=1e-4)
    provenance = ours.provenance()
    assert provenance["display"]["pixels_per_degree"] == pytest.approx(FHD_PPD / display_scale)
    assert provenance["cvvdp"] == "0.5.7"
