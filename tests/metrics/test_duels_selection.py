"""gMAD selection: the chosen pairs keep the defender within tolerance and maximise the attacker's
gap, checked against an exhaustive search on small synthetic pools; bad input is refused."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metrics.duels import GmadPair, assign_levels, level_edges, select_gmad_pairs

REPO_ROOT = Path(__file__).resolve().parents[2]


def synthetic_pool(refs: int, cands: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two known metrics on a pool described by two hidden distortion amounts per candidate.

    Candidate (u, v): the defender sees u + v/10, the attacker u/10 + v, so pairs of equal
    defender value can differ a lot for the attacker.
    """
    rng = np.random.default_rng(seed)
    u, v = rng.uniform(0, 1, (refs, cands)), rng.uniform(0, 1, (refs, cands))
    return u + v / 10, u / 10 + v


def exhaustive(d, a, levels, tol_fraction, lower=True):
    """Per level, the feasible pairs (same reference, both in the level, within tolerance)."""
    edges = level_edges(d, levels)
    lv = assign_levels(d, edges)
    best = {}
    for level in range(levels):
        tol = tol_fraction * (edges[level + 1] - edges[level])
        pairs = []
        for r in range(d.shape[0]):
            cols = [c for c in range(d.shape[1]) if lv[r, c] == level]
            for i, j in itertools.combinations(cols, 2):
                if abs(d[r, i] - d[r, j]) <= tol:
                    pairs.append((abs(a[r, i] - a[r, j]), r, i, j))
        best[level] = pairs
    return edges, best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_one_pair_per_level_is_the_exhaustive_maximum(seed):
    d, a = synthetic_pool(3, 12, seed)
    levels, tol = 3, 0.2
    chosen = select_gmad_pairs(d, a, levels=levels, pairs_per_level=1, tolerance=tol)
    edges, feasible = exhaustive(d, a, levels, tol)
    assert [p.level for p in chosen] == list(range(levels))
    for pair in chosen:
        top = max(g for g, *_ in feasible[pair.level])
        assert pair.attacker_gap == pytest.approx(top, abs=1e-12)
        span = edges[pair.level + 1] - edges[pair.level]
        assert pair.defender_gap <= tol * span + 1e-12
        assert (pair.ref_index, pair.i0, pair.i1) in {
            (r, i, j) for _, r, i, j in feasible[pair.level]
        } | {(r, j, i) for _, r, i, j in feasible[pair.level]}


def test_greedy_picks_match_an_exhaustive_greedy_on_one_reference():
    """One reference: each pick is the best pair disjoint from the earlier picks."""
    d, a = synthetic_pool(1, 16, seed=7)
    chosen = select_gmad_pairs(d, a, levels=2, pairs_per_level=3, tolerance=0.5)
    _, feasible = exhaustive(d, a, 2, 0.5)
    for level in range(2):
        remaining = sorted(feasible[level], key=lambda t: -t[0])
        expect = []
        used: set[int] = set()
        for gap, _, i, j in remaining:
            if len(expect) < 3 and i not in used and j not in used:
                expect.append(gap)
                used |= {i, j}
        got = [p.attacker_gap for p in chosen if p.level == level]
        assert got == pytest.approx(expect, abs=1e-12)


def test_every_pair_respects_tolerance_and_uses_each_candidate_once():
    d, a = synthetic_pool(6, 40, seed=11)
    chosen = select_gmad_pairs(d, a, levels=4, pairs_per_level=5, tolerance=0.05)
    edges = level_edges(d, 4)
    assert len(chosen) == 20
    for level in range(4):
        pairs = [p for p in chosen if p.level == level]
        used = [(p.ref_index, i) for p in pairs for i in (p.i0, p.i1)]
        assert len(used) == len(set(used))
        # Spread: five pairs over six references come from five different references.
        assert len({p.ref_index for p in pairs}) == 5
        for p in pairs:
            assert p.defender_gap <= 0.05 * (edges[level + 1] - edges[level]) + 1e-12
            assert edges[level] <= min(p.defender) and max(p.defender) <= edges[level + 1]
            assert p.attacker[0] <= p.attacker[1]  # i0: the attacker's closer candidate
            assert p.defender == (d[p.ref_index, p.i0], d[p.ref_index, p.i1])


def test_absolute_tolerance_and_similarity_attackers():
    d, a = synthetic_pool(2, 20, seed=5)
    chosen = select_gmad_pairs(
        d,
        -a,
        levels=2,
        pairs_per_level=2,
        tolerance=0.02,
        tolerance_mode="absolute",
        attacker_lower_is_more_similar=False,
    )
    for p in chosen:
        assert p.defender_gap <= 0.02
        assert p.attacker[0] >= p.attacker[1]  # a similarity: i0 is the more similar
    plain = select_gmad_pairs(
        d, a, levels=2, pairs_per_level=2, tolerance=0.02, tolerance_mode="absolute"
    )
    assert [(p.ref_index, p.i0, p.i1) for p in plain] == [(p.ref_index, p.i0, p.i1) for p in chosen]


def test_nan_marks_absent_candidates():
    d, a = synthetic_pool(2, 10, seed=3)
    d[1, 5:] = np.nan
    a[1, 5:] = np.nan
    chosen = select_gmad_pairs(d, a, levels=2, pairs_per_level=1, tolerance=1.0)
    assert all(not (p.ref_index == 1 and max(p.i0, p.i1) >= 5) for p in chosen)


def test_pair_fields():
    p = GmadPair(ref_index=0, level=1, i0=2, i1=3, defender=(0.5, 0.52), attacker=(0.1, 0.4))
    assert p.attacker_gap == pytest.approx(0.3)
    assert p.defender_gap == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("d", "a", "kwargs", "match"),
    [
        (np.zeros((0, 0)), np.zeros((0, 0)), {}, "pool is empty"),
        (np.full((2, 3), np.nan), np.full((2, 3), np.nan), {}, "pool is empty"),
        (np.zeros((2, 3)), np.zeros((2, 4)), {}, "shapes .* differ"),
        (np.zeros(6), np.zeros(6), {}, "R×C distance matrices"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"levels": 0}, "levels must be a positive"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"tolerance": -1.0}, "tolerance must be"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"tolerance_mode": "pct"}, "tolerance_mode"),
        (np.arange(3.0)[:, None], np.arange(3.0)[:, None], {}, "two or more usable"),
    ],
)
def test_bad_input_is_refused_clearly(d, a, kwargs, match):
    args = {"levels": 2, "pairs_per_level": 1, "tolerance": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        select_gmad_pairs(d, a, **args)


def test_a_level_without_feasible_pairs_is_named():
    # Median 0.125. Level 0: 0.10 and 0.11 of reference 0 (feasible). Level 1: 0.90 of
    # reference 0 alone, 0.13 and 0.95 of reference 1, 0.82 apart: more than half the span.
    d = np.array([[0.10, 0.11, 0.90], [0.12, 0.13, 0.95]])
    with pytest.raises(
        ValueError, match=r"level 1 \(defender distances in \[0.125, 0.95\]\) has no"
    ):
        select_gmad_pairs(d, d.copy(), levels=2, pairs_per_level=1, tolerance=0.5)


def test_too_few_pairs_raise_unless_allowed():
    d, a = synthetic_pool(1, 6, seed=2)
    with pytest.raises(ValueError, match=r"level 0 has only \d disjoint"):
        select_gmad_pairs(d, a, levels=1, pairs_per_level=4, tolerance=1.0)
    got = select_gmad_pairs(d, a, levels=1, pairs_per_level=4, tolerance=1.0, allow_fewer=True)
    assert len(got) == 3


def test_importing_duels_never_imports_torch():
    code = (
        "import sys, json, numpy as np\n"
        "from metrics.duels import select_gmad_pairs, is_differentiable, bradley_terry\n"
        "d = np.random.default_rng(0).uniform(size=(2, 8))\n"
        "select_gmad_pairs(d, d[::-1], levels=2, pairs_per_level=1, tolerance=1.0)\n"
        "flags = [is_differentiable(n) for n in ('l2', 'fsim', 'fitted:3')]\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'flags': flags}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert json.loads(out.stdout) == {"torch": False, "flags": [True, False, True]}
