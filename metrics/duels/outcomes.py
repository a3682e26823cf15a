"""Duel results: who people side with, gMAD aggressiveness and resistance, a Bradley–Terry ranking.

Vocabulary. In a duel one metric, the **defender**, rates the two images of a trial (nearly) equal
and the other, the **attacker**, rates them far apart: in gMAD selection the roles are chosen; in
MAD synthesis the metric held fixed defends and the metric moved attacks. A person who picks the
image the attacker rates closer to the reference **sides with the attacker**; the opposite choice
sides with the defender.

- ``DuelOutcome``: one ordered pair's votes, the share siding with the attacker and its interval
  (a bootstrap over trials when per-trial counts are given, since votes on one image pair are
  correlated; Wilson otherwise).
- ``gmad_scores``: per metric, **aggressiveness** (share of votes siding with it when it attacks,
  pooled over its duels) and **resistance** (share siding with it when it defends).
- ``wins_matrix`` and ``bradley_terry``: every vote is a game between the two metrics; the MM
  algorithm (Hunter 2004) fits strengths, with a symmetric prior so unbeaten metrics stay finite,
  and a bootstrap over games gives intervals.

Numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, total: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial share; (0, 1) when ``total`` is 0."""
    if total <= 0:
        return (0.0, 1.0)
    p = successes / total
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class DuelOutcome:
    """The votes of one ordered pair (attacker, defender).

    Attributes:
        attacker: Attacker metric name.
        defender: Defender metric name.
        attacker_votes: Votes for the image the attacker rates closer to the reference.
        total: All votes of the duel's trials.
        interval: 95% interval of the share siding with the attacker.
        method: ``"bootstrap"`` (over trials) or ``"wilson"``.
    """

    attacker: str
    defender: str
    attacker_votes: int
    total: int
    interval: tuple[float, float]
    method: str = "wilson"

    @property
    def share(self) -> float:
        """Share of votes siding with the attacker (NaN without votes)."""
        return self.attacker_votes / self.total if self.total else float("nan")

    @property
    def decisive(self) -> bool:
        """True when the interval excludes chance (0.5)."""
        return self.interval[0] > 0.5 or self.interval[1] < 0.5

    @property
    def winner(self) -> str | None:
        """The metric people side with, when decisive; else None."""
        if not self.decisive:
            return None
        return self.attacker if self.interval[0] > 0.5 else self.defender

    @classmethod
    def from_counts(
        cls, attacker: str, defender: str, attacker_votes: int, total: int
    ) -> DuelOutcome:
        """Outcome from pooled counts, with a Wilson interval."""
        _check_counts([attacker_votes], [total])
        return cls(
            attacker,
            defender,
            int(attacker_votes),
            int(total),
            wilson_interval(attacker_votes, total),
        )

    @classmethod
    def from_trials(
        cls,
        attacker: str,
        defender: str,
        attacker_votes: Sequence[int],
        totals: Sequence[int],
        *,
        n_boot: int = 1000,
        seed: int = 0,
    ) -> DuelOutcome:
        """Outcome from per-trial counts, with a percentile bootstrap over trials.

        Args:
            attacker_votes: Per trial, the votes siding with the attacker.
            totals: Per trial, all votes.
            n_boot: Bootstrap resamples of the trials.
            seed: Seed of the resampling.
        """
        wins, tot = _check_counts(attacker_votes, totals)
        if tot.sum() == 0:
            return cls(attacker, defender, 0, 0, (0.0, 1.0), "bootstrap")
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(wins), size=(n_boot, len(wins)))
        w, t = wins[idx].sum(axis=1), tot[idx].sum(axis=1)
        shares = w[t > 0] / t[t > 0]
        low, high = np.quantile(shares, [0.025, 0.975])
        return cls(
            attacker,
            defender,
            int(wins.sum()),
            int(tot.sum()),
            (float(low), float(high)),
            "bootstrap",
        )


def _check_counts(wins: Iterable[int], totals: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(list(wins), dtype=np.int64)
    t = np.asarray(list(totals), dtype=np.int64)
    if w.shape != t.shape or w.ndim != 1:
        raise ValueError("attacker votes and totals must be sequences of the same length")
    if (w < 0).any() or (w > t).any():
        raise ValueError("vote counts must satisfy 0 <= attacker votes <= total")
    return w, t


@dataclass(frozen=True)
class RoleScore:
    """Share of votes siding with a metric in one role, pooled over its duels, with Wilson CI."""

    votes_for: int
    total: int
    interval: tuple[float, float]

    @property
    def share(self) -> float:
        return self.votes_for / self.total if self.total else float("nan")


def gmad_scores(outcomes: Iterable[DuelOutcome]) -> dict[str, dict[str, RoleScore]]:
    """Per metric: ``{"aggressiveness": RoleScore, "resistance": RoleScore}``.

    Aggressiveness: share of votes siding with the metric over the duels it attacks. Resistance:
    share of votes siding with it (against the attacker) over the duels it defends.
    """
    tallies: dict[str, dict[str, list[int]]] = {}
    for o in outcomes:
        att = tallies.setdefault(o.attacker, {"aggressiveness": [0, 0], "resistance": [0, 0]})
        dfn = tallies.setdefault(o.defender, {"aggressiveness": [0, 0], "resistance": [0, 0]})
        att["aggressiveness"][0] += o.attacker_votes
        att["aggressiveness"][1] += o.total
        dfn["resistance"][0] += o.total - o.attacker_votes
        dfn["resistance"][1] += o.total
    return {
        name: {role: RoleScore(v, t, wilson_interval(v, t)) for role, (v, t) in roles.items()}
        for name, roles in sorted(tallies.items())
    }


def wins_matrix(outcomes: Iterable[DuelOutcome], names: Sequence[str]) -> np.ndarray:
    """K×K games won: ``wins[i, j]`` counts votes siding with metric i against metric j."""
    index = {n: k for k, n in enumerate(names)}
    wins = np.zeros((len(names), len(names)))
    for o in outcomes:
        for name in (o.attacker, o.defender):
            if name not in index:
                raise ValueError(f"metric {name!r} of a duel is not among {list(names)}")
        a, d = index[o.attacker], index[o.defender]
        wins[a, d] += o.attacker_votes
        wins[d, a] += o.total - o.attacker_votes
    return wins


@dataclass(frozen=True)
class BTResult:
    """Bradley–Terry strengths on the log scale (mean 0) with 95% bootstrap intervals.

    P(i beats j) = 1 / (1 + exp(−(strength[i] − strength[j]))).
    """

    strength: np.ndarray
    low: np.ndarray
    high: np.ndarray
    iterations: int

    def ranking(self) -> list[int]:
        """Indices from strongest to weakest."""
        return [int(i) for i in np.argsort(-self.strength, kind="stable")]

    def win_probability(self) -> np.ndarray:
        """K×K model probabilities that i beats j."""
        diff = self.strength[:, None] - self.strength[None, :]
        return 1.0 / (1.0 + np.exp(-diff))


def _mm(wins: np.ndarray, prior: float, tol: float, max_iter: int) -> tuple[np.ndarray, int]:
    """Hunter's (2004) MM iterations on wins plus ``prior`` pseudo-games per pair, split evenly."""
    k = wins.shape[0]
    w = wins + (prior / 2.0) * (1.0 - np.eye(k))
    games = w + w.T
    won = w.sum(axis=1)
    p = np.ones(k)
    for it in range(1, max_iter + 1):
        denom = (games / (p[:, None] + p[None, :])).sum(axis=1)
        new = np.where(denom > 0, won / np.where(denom > 0, denom, 1.0), p)
        new = new / np.exp(np.mean(np.log(new)))
        if np.max(np.abs(np.log(new) - np.log(p))) < tol:
            return np.log(new), it
        p = new
    return np.log(p), max_iter


def bradley_terry(
    wins: np.ndarray,
    *,
    prior: float = 1.0,
    n_boot: int = 1000,
    seed: int = 0,
    tol: float = 1e-10,
    max_iter: int = 10_000,
) -> BTResult:
    """Fit Bradley–Terry strengths to a K×K matrix of games won, with bootstrap intervals.

    Args:
        wins: ``wins[i, j]`` = games i won against j (non-negative; the diagonal must be 0).
        prior: Pseudo-games added to every pair, half won by each side (a symmetric prior
            that keeps the strengths of unbeaten or unplayed metrics finite); > 0.
        n_boot: Bootstrap resamples: each pair's games are redrawn binomially with its observed
            win share (0 skips intervals: low = high = strength).
        seed: Seed of the bootstrap.
        tol: Convergence threshold on the log strengths.
        max_iter: Iteration cap of the MM algorithm.

    Returns:
        ``BTResult`` with log strengths centred on 0.

    Raises:
        ValueError: Not square, negative or non-finite counts, a non-zero diagonal, fewer than
            two metrics, or ``prior <= 0``.
    """
    w = np.asarray(wins, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError(f"wins must be a K×K matrix with K >= 2, got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("wins must be finite, non-negative counts")
    if np.any(np.diag(w) != 0):
        raise ValueError("wins must have a zero diagonal (a metric does not duel itself)")
    if not prior > 0:
        raise ValueError(f"prior must be > 0, got {prior!r}")
    strength, iterations = _mm(w, prior, tol, max_iter)
    if n_boot <= 0:
        return BTResult(strength, strength.copy(), strength.copy(), iterations)
    rng = np.random.default_rng(seed)
    games = w + w.T
    iu = np.triu_indices(w.shape[0], k=1)
    n = np.rint(games[iu]).astype(np.int64)
    share = np.divide(w[iu], games[iu], out=np.full(n.shape, 0.5), where=games[iu] > 0)
    draws = np.empty((n_boot, w.shape[0]))
    for b in range(n_boot):
        won = rng.binomial(n, share)
        sample = np.zeros_like(w)
        sample[iu] = won
        sample[(iu[1], iu[0])] = n - won
        draws[b], _ = _mm(sample, prior, 1e-8, max_iter)
    low, high = np.quantile(draws, [0.025, 0.975], axis=0)
    return BTResult(strength, low, high, iterations)
