"""The web process imports the library and lists distortions without torch or Django."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import experiments
infos = experiments.list_distortions()
assert len(infos) >= 36, len(infos)
experiments.get_distortion("cnn_autoencoder").validate_params(
    {"model": "a" * 64, "strength": 1.0, "seed": 1})
design = experiments.TrialDesign.from_dict({
    "seed": 1, "kind": "2afc", "images": ["b" * 64], "sentinel_rate": 0.2,
    "categories": {
        "cnn": {"choices": [{"name": "cnn_autoencoder", "models": ["a" * 64]}]},
        "sr": {"choices": [{"name": "superres_net", "models": ["c" * 64]}, "superres_bicubic"]}},
    "counts": {"train": {"cnn": 2}, "val": {"sr": 2}}})
[experiments.plan_trial(design, i) for i in range(design.total_trials)]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchvision", "django"))
print(",".join(heavy))
"""


def test_listing_and_planning_import_neither_torch_nor_django():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"heavy modules imported: {result.stdout.strip()}"


def test_the_library_source_never_imports_django():
    for path in (ROOT / "experiments").rglob("*.py"):
        text = path.read_text()
        assert "import django" not in text, path
        assert "from django" not in text, path
