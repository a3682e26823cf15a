"""gMAD selection (Ma et al., TPAMI 2018): the pairs of a pool one metric calls equal and another
calls most different.

Given the distances of every candidate of a pool to its reference under two metrics, a defender D
and an attacker A (R references × C candidates each), ``select_gmad_pairs``:

1. cuts D's distances over the whole pool into ``levels`` quantile bins (level 0 holds the
   candidates D rates closest to their references);
2. in each level, lists every pair (x0, x1) of candidates of the *same* reference, both in the
   level, that D rates nearly equal: ``|D(x0) − D(x1)| <= tolerance`` (see below);
3. picks ``pairs_per_level`` of them, greedy best-first by the attacker's gap ``|A(x0) − A(x1)|``,
   each candidate at most once per level and spread across references: a round takes at most one
   pair per reference, in order of gap, and the next round starts only when a round found no more;
   within a round the best remaining pair always comes first.

**Tolerance.** ``tolerance_mode="level"`` (the default): a fraction of the level's span, the
difference between its upper and lower quantile edges, so one value suits metrics of any scale
(0.1: the two candidates lie within a tenth of the level's width of each other; 1: any two
candidates of the level). ``tolerance_mode="absolute"``: in the defender's own units.

A candidate is usable when both its distances are finite; NaN marks absent candidates (a ragged
pool padded to C columns, as ``score_pool`` returns it).

Numpy only: no torch, so the platform can select on stored scores anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE_MODES = ("level", "absolute")


@dataclass(frozen=True)
class GmadPair:
    """One selected pair: two candidates of one reference that the defender rates nearly equal.

    Attributes:
        ref_index: Row of the reference in the distance matrices.
        level: Defender quality level, 0 = closest to the reference.
        i0: Column of the candidate the attacker rates closer to the reference.
        i1: Column of the other candidate.
        defender: Defender distances (D(x_i0), D(x_i1)).
        attacker: Attacker values (A(x_i0), A(x_i1)), as given (similarities stay similarities).
    """

    ref_index: int
    level: int
    i0: int
    i1: int
    defender: tuple[float, float]
    attacker: tuple[float, float]

    @property
    def attacker_gap(self) -> float:
        """|A(x_i0) − A(x_i1)|."""
        return abs(self.attacker[1] - self.attacker[0])

    @property
    def defender_gap(self) -> float:
        """|D(x_i0) − D(x_i1)|."""
        return abs(self.defender[1] - self.defender[0])


def level_edges(defender: np.ndarray, levels: int) -> np.ndarray:
    """The ``levels + 1`` quantile edges of the finite defender distances (level l: [e_l, e_l+1))."""
    values = np.asarray(defender, dtype=np.float64)
    values = values[np.isfinite(values)]
    return np.quantile(values, np.linspace(0.0, 1.0, levels + 1))


def assign_levels(defender: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Level of each distance for the given edges (the top edge belongs to the last level)."""
    return np.searchsorted(edges[1:-1], defender, side="right")


def _check(
    defender: object,
    attacker: object,
    levels: object,
    pairs_per_level: object,
    tolerance: object,
    tolerance_mode: str,
) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(defender, dtype=np.float64)
    a = np.asarray(attacker, dtype=np.float64)
    if d.ndim != 2 or a.ndim != 2:
        raise ValueError(
            "defender and attacker must be R×C distance matrices (references × candidates), "
            f"got shapes {d.shape} and {a.shape}"
        )
    if d.shape != a.shape:
        raise ValueError(
            f"defender and attacker must score the same pool: shapes {d.shape} and {a.shape} differ"
        )
    for name, value in (("levels", levels), ("pairs_per_level", pairs_per_level)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float | np.floating | np.integer)
        or not np.isfinite(tolerance)
        or tolerance < 0
    ):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    if tolerance_mode not in TOLERANCE_MODES:
        raise ValueError(
            f"tolerance_mode must be one of {', '.join(TOLERANCE_MODES)}, got {tolerance_mode!r}"
        )
    usable = np.isfinite(d) & np.isfinite(a)
    if d.size == 0 or not usable.any():
        raise ValueError("the candidate pool is empty: no candidate has finite distances")
    if usable.sum(axis=1).max() < 2:
        raise ValueError("the candidate pool has no reference with two or more usable candidates")
    return d, a


def _level_pairs(
    d: np.ndarray, a_closeness: np.ndarray, in_level: np.ndarray, tol: float
) -> list[tuple[float, int, int, int]]:
    """Every feasible pair of the level as (−gap, ref, i, j) with i < j."""
    found: list[tuple[float, int, int, int]] = []
    for r in range(d.shape[0]):
        cols = np.flatnonzero(in_level[r])
        if cols.size < 2:
            continue
        dr, ar = d[r, cols], a_closeness[r, cols]
        ok = np.abs(dr[:, None] - dr[None, :]) <= tol
        ok &= np.triu(np.ones_like(ok), k=1)
        ii, jj = np.nonzero(ok)
        gaps = np.abs(ar[ii] - ar[jj])
        found.extend(
            zip((-gaps).tolist(), [r] * len(ii), cols[ii].tolist(), cols[jj].tolist(), strict=True)
        )
    found.sort()  # best gap first; ties by reference, then columns (deterministic)
    return found


def select_gmad_pairs(
    defender: np.ndarray,
    attacker: np.ndarray,
    *,
    levels: int,
    pairs_per_level: int,
    tolerance: float,
    attacker_lower_is_more_similar: bool = True,
    tolerance_mode: str = "level",
    allow_fewer: bool = False,
) -> list[GmadPair]:
    """Pick, per defender level, the pairs the defender calls equal and the attacker most unequal.

    Args:
        defender: R×C defender distances d(ref_r, candidate_rc) (lower = more similar); NaN
            marks an absent candidate.
        attacker: R×C attacker values over the same pool.
        levels: Number of quantile bins of the defender's distances over the pool.
        pairs_per_level: Pairs to pick in each level.
        tolerance: Largest defender difference within a pair, as ``tolerance_mode`` says.
        attacker_lower_is_more_similar: False when ``attacker`` holds similarities.
        tolerance_mode: ``"level"`` (fraction of the level's span, default) or ``"absolute"``
            (defender units). See the module docstring.
        allow_fewer: Return fewer than ``pairs_per_level`` pairs for a level that has fewer
            disjoint feasible pairs instead of raising (a level with none still raises).

    Returns:
        The pairs, level by level (level 0 first), best attacker gap first within a round.

    Raises:
        ValueError: Malformed or mismatched matrices, an empty pool, bad parameters, or a level
            without (enough) feasible pairs; the message names the level.
    """
    d, a = _check(defender, attacker, levels, pairs_per_level, tolerance, tolerance_mode)
    usable = np.isfinite(d) & np.isfinite(a)
    # The attacker's "closeness" order: lower means rated closer to the reference.
    closeness = a if attacker_lower_is_more_similar else -a
    edges = level_edges(np.where(usable, d, np.nan), levels)
    level_of = np.where(usable, assign_levels(np.where(usable, d, edges[0]), edges), -1)
    chosen: list[GmadPair] = []
    for level in range(levels):
        span = float(edges[level + 1] - edges[level])
        tol = float(tolerance) * span if tolerance_mode == "level" else float(tolerance)
        in_level = level_of == level
        feasible = _level_pairs(d, closeness, in_level, tol)
        if not feasible:
            raise ValueError(
                f"level {level} (defender distances in [{edges[level]:.6g}, "
                f"{edges[level + 1]:.6g}]) has no feasible pair: no two candidates of one "
                f"reference within tolerance {tol:.6g} of each other; raise the tolerance, "
                "lower the number of levels or grow the pool"
            )
        picked = _greedy_spread(feasible, pairs_per_level)
        if len(picked) < pairs_per_level and not allow_fewer:
            raise ValueError(
                f"level {level} has only {len(picked)} disjoint feasible pair(s), "
                f"{pairs_per_level} requested (tolerance {tol:.6g}); raise the tolerance, lower "
                "pairs_per_level or grow the pool (or pass allow_fewer=True)"
            )
        for _, r, i, j in picked:
            i0, i1 = (i, j) if closeness[r, i] <= closeness[r, j] else (j, i)
            chosen.append(
                GmadPair(
                    ref_index=int(r),
                    level=level,
                    i0=int(i0),
                    i1=int(i1),
                    defender=(float(d[r, i0]), float(d[r, i1])),
                    attacker=(float(a[r, i0]), float(a[r, i1])),
                )
            )
    return chosen


def _greedy_spread(
    feasible: list[tuple[float, int, int, int]], wanted: int
) -> list[tuple[float, int, int, int]]:
    """Greedy best-first, each candidate once, at most one pair per reference per round."""
    used: set[tuple[int, int]] = set()
    picked: list[tuple[float, int, int, int]] = []
    remaining = feasible
    while len(picked) < wanted and remaining:
        refs_this_round: set[int] = set()
        left: list[tuple[float, int, int, int]] = []
        for item in remaining:
            _, r, i, j = item
            if (r, i) in used or (r, j) in used:
                continue  # never usable again
            if r in refs_this_round or len(picked) >= wanted:
                left.append(item)
                continue
            picked.append(item)
            used.update(((r, i), (r, j)))
            refs_this_round.add(r)
        if not refs_this_round:
            break
        remaining = left
    return picked
