"""Reads of duel studies: only what the user may see (a duel study is visible with its study,
`studies.selectors`), and the results computed from the valid judgments.

Results (`duel_results`) use only NumPy (`metrics.duels` outcomes: no torch in the web process):
a vote is valid as it is for datasets (`analysis.datasets`): the answer counts (first showing of
the trial, not a hidden repeat) and its participant is not excluded by QC.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from django.db.models import QuerySet

from common.exceptions import NotFoundError
from crowd.models import Participant, Response
from studies import selectors as study_selectors

from .models import DuelPair, DuelStudy

N_BOOT = 1000
CONFIDENCE = 0.95


def duel_study_list(*, user) -> QuerySet[DuelStudy]:
    visible = study_selectors.study_list(user=user).values("pk")
    return DuelStudy.objects.filter(study__in=visible).select_related("study", "study__owner")


def duel_study_get(*, user, pk) -> DuelStudy:
    """The duel study of study `pk` (the duel endpoints name a duel by its study's id)."""
    duel = DuelStudy.objects.select_related("study", "study__owner").filter(study_id=pk).first()
    if duel is None or not study_selectors.user_can_access_study(user=user, study=duel.study):
        raise NotFoundError(f"Duel study {pk} not found.")
    return duel


def _votes(duel: DuelStudy) -> dict[int, dict[str, int]]:
    """Valid votes per trial: {trial_id: {"p0": n, "p1": m}}."""
    rows = (
        Response.objects.filter(trial__duel_pair__duel=duel, item__counts=True)
        .exclude(participant__status=Participant.Status.EXCLUDED)
        .values_list("trial_id", "choice")
    )
    out: dict[int, dict[str, int]] = defaultdict(lambda: {"p0": 0, "p1": 0})
    for trial_id, choice in rows:
        if choice in ("p0", "p1"):
            out[trial_id][choice] += 1
    return out


def _interval(ci) -> list[float]:
    return [round(float(ci[0]), 6), round(float(ci[1]), 6)]


def _share(value: float) -> float | None:
    return None if value != value else round(float(value), 6)  # NaN → None


def duel_results(*, duel: DuelStudy, n_boot: int = N_BOOT) -> dict:
    """Who people side with: per ordered duel, per pair of metrics, per metric (gMAD
    aggressiveness and resistance) and overall (Bradley–Terry), with 95% bootstrap intervals,
    and every pair people saw with its vote split."""
    from metrics.duels.outcomes import DuelOutcome, bradley_terry, gmad_scores, wins_matrix

    names = list(duel.metrics)
    seed = duel.study.seed
    votes = _votes(duel)
    pairs = list(
        DuelPair.objects.filter(duel=duel, trial__isnull=False)
        .select_related("trial")
        .order_by("defender", "attacker", "method", "level", "id")
    )
    per_duel: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    examples = []
    for pair in pairs:
        split = votes.get(pair.trial_id, {"p0": 0, "p1": 0})
        with_attacker = split[pair.attacker_prefers]
        total = split["p0"] + split["p1"]
        per_duel[(pair.attacker, pair.defender)].append((with_attacker, total))
        examples.append(
            {
                "attacker": pair.attacker,
                "defender": pair.defender,
                "method": pair.method,
                "level": pair.level,
                "trial": pair.trial_id,
                "ref": pair.ref_id,
                "p0": pair.p0_id,
                "p1": pair.p1_id,
                "attacker_prefers": pair.attacker_prefers,
                "defender_scores": pair.defender_scores,
                "attacker_scores": pair.attacker_scores,
                "votes": {"p0": split["p0"], "p1": split["p1"]},
                "with_attacker": with_attacker,
                "total": total,
            }
        )
    outcomes = []
    duels = []
    for k, (defender, attacker) in enumerate(itertools.permutations(names, 2)):
        trials = per_duel.get((attacker, defender), [])
        outcome = DuelOutcome.from_trials(
            attacker,
            defender,
            [w for w, _ in trials],
            [t for _, t in trials],
            n_boot=n_boot,
            seed=seed + k,
        )
        outcomes.append(outcome)
        duels.append(
            {
                "attacker": attacker,
                "defender": defender,
                "pairs": len(trials),
                "votes": outcome.total,
                "with_attacker": outcome.attacker_votes,
                "share_with_attacker": _share(outcome.share),
                "ci": _interval(outcome.interval),
                "decisive": bool(outcome.total and outcome.decisive),
                "winner": outcome.winner if outcome.total else None,
            }
        )
    matchups = []
    matrix = [[None] * len(names) for _ in names]
    for i, j in itertools.combinations(range(len(names)), 2):
        a, b = names[i], names[j]
        # Votes siding with a: when a attacks b, those with the attacker; when b attacks a, the
        # others. One bootstrap over the trials of both directions.
        trials = [(w, t) for w, t in per_duel.get((a, b), [])]
        trials += [(t - w, t) for w, t in per_duel.get((b, a), [])]
        outcome = DuelOutcome.from_trials(
            a,
            b,
            [w for w, _ in trials],
            [t for _, t in trials],
            n_boot=n_boot,
            seed=seed + 7919 + i * 31 + j,
        )
        winner = outcome.winner if outcome.total else None
        matchups.append(
            {
                "a": a,
                "b": b,
                "votes": outcome.total,
                "with_a": outcome.attacker_votes,
                "share_a": _share(outcome.share),
                "ci": _interval(outcome.interval),
                "winner": winner,
                "verdict": (f"{winner} wins" if winner else "no decisive winner")
                if outcome.total
                else "no votes yet",
            }
        )
        if outcome.total:
            matrix[i][j] = _share(outcome.share)
            matrix[j][i] = _share(1.0 - outcome.share)
    roles = gmad_scores(outcomes)
    gmad = []
    for name in names:
        entry = {"metric": name}
        for role in ("aggressiveness", "resistance"):
            score = roles.get(name, {}).get(role)
            entry[role] = (
                {
                    "share": _share(score.share),
                    "ci": _interval(score.interval),
                    "votes_for": score.votes_for,
                    "votes": score.total,
                }
                if score is not None and score.total
                else None
            )
        gmad.append(entry)
    ranking = []
    total_votes = sum(o.total for o in outcomes)
    if total_votes:
        bt = bradley_terry(wins_matrix(outcomes, names), n_boot=n_boot, seed=seed)
        for rank, index in enumerate(bt.ranking(), start=1):
            ranking.append(
                {
                    "rank": rank,
                    "metric": names[index],
                    "strength": round(float(bt.strength[index]), 6),
                    "ci": [round(float(bt.low[index]), 6), round(float(bt.high[index]), 6)],
                }
            )
    return {
        "study": duel.study_id,
        "name": duel.study.name,
        "status": duel.study.status,
        "method": duel.method,
        "metrics": names,
        "levels": duel.levels,
        "pairs_per_level": duel.pairs_per_level,
        "tolerance": duel.tolerance,
        "confidence": CONFIDENCE,
        "resamples": n_boot,
        "votes": total_votes,
        "duels": duels,
        "matchups": matchups,
        "matrix": {"metrics": names, "share_row_over_column": matrix},
        "gmad": gmad,
        "ranking": ranking,
        "examples": examples,
    }
