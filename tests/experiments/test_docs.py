"""docs/distortions.md stays in step with the registry, and its pictures exist."""

from __future__ import annotations

import pathlib
import re

import numpy as np

import experiments
from experiments import gallery

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def test_the_parameter_table_matches_the_registry():
    text = (DOCS / "distortions.md").read_text()
    table = text[text.index(gallery.BEGIN) + len(gallery.BEGIN) : text.index(gallery.END)]
    assert table.strip() == gallery.registry_markdown(), (
        "regenerate with: .venv/bin/python -m experiments.gallery docs"
    )


def test_every_family_has_a_picture_and_every_picture_exists():
    families = {f for group in gallery.GROUPS.values() for f in group}
    assert families == set(experiments.FAMILIES)
    text = (DOCS / "distortions.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", text)
    assert sorted(images) == sorted(f"img/distortions_{g}.png" for g in gallery.GROUPS)
    for image in images:
        assert (DOCS / image).stat().st_size > 10_000


def test_a_grid_has_one_row_per_distortion_and_one_column_per_severity(patches):
    grid = gallery.render_grid(["jpeg", "shift"], patches[0], (0.5, 1.0), scale=1)
    assert grid.shape == (18 + 2 * (64 + 4), 170 + 3 * (64 + 4), 3)
    top, left = 18 + 64 + 4, 170  # second row, reference column
    assert (grid[top : top + 64, left : left + 64] == patches[0]).all()
    shifted = experiments.get_distortion("shift")
    params = shifted.sample_params(np.random.default_rng(0), 1.0)
    left = 170 + 2 * (64 + 4)  # second row, severity 1 column
    assert (grid[top : top + 64, left : left + 64] == shifted.apply(patches[0], **params)).all()
