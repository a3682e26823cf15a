"""Online quality control of participants (pure functions: no database, no Django).

Checks, from the answers a participant has given so far:
- sentinel accuracy: sentinels have a known answer; the paper's Turkers passed at least 14 of 15;
- response-time floor: answers faster than the floor are counted; too large a share is flagged;
- hidden repeat consistency: one trial is shown twice with sides swapped; a different answer is
  flagged (a single repeat is weak evidence, so it flags but never excludes on its own);
- left/right bias: answering one side nearly always is flagged.

Exclusion happens as soon as the participant can no longer reach the sentinel threshold for the
sentinels their assignments hold, so trials go back to the pool early and a careful participant
is never excluded on early bad luck.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Answer:
    """One answer as QC sees it."""

    trial_id: int
    is_sentinel: bool
    correct: bool | None  # sentinels only: the answer matched the expected one
    rt_ms: int
    side: str  # left/right (2AFC) or same/different (JND), as clicked
    choice: str  # in trial terms, after undoing counterbalancing
    is_repeat: bool = False


@dataclass(frozen=True)
class Thresholds:
    min_sentinel_accuracy: float = 0.93
    rt_floor_ms: int = 250
    max_fast_share: float = 0.2
    max_side_bias: float = 0.85
    min_answers_for_bias: int = 20


@dataclass
class Verdict:
    status: str  # ok | flagged | excluded
    reasons: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(
    answers: Iterable[Answer], thresholds: Thresholds, *, sentinels_planned: int, final: bool
) -> Verdict:
    """Judge a participant from their answers.

    Args:
        answers: every answer the participant gave in this study.
        thresholds: the study's QC settings.
        sentinels_planned: how many sentinels the participant's assignments hold in total.
        final: True once the participant finished (then the accuracy rule applies to what was
            answered; before, only when the threshold can no longer be reached).
    """
    answers = list(answers)
    sentinels = [a for a in answers if a.is_sentinel]
    s_total, s_correct = len(sentinels), sum(1 for a in sentinels if a.correct)
    misses = s_total - s_correct
    planned = max(sentinels_planned, s_total)
    allowed_misses = math.floor(planned * (1.0 - thresholds.min_sentinel_accuracy) + 1e-9)
    fast = sum(1 for a in answers if a.rt_ms < thresholds.rt_floor_ms)
    n = len(answers)
    sides = [a.side for a in answers if a.side in ("left", "right")]
    left_share = (sum(1 for s in sides if s == "left") / len(sides)) if sides else None
    by_trial: dict[int, list[str]] = {}
    for a in answers:
        by_trial.setdefault(a.trial_id, []).append(a.choice)
    repeats = [choices for choices in by_trial.values() if len(choices) > 1]
    inconsistent = sum(1 for choices in repeats if len(set(choices)) > 1)

    stats = {
        "answers": n,
        "sentinels": s_total,
        "sentinels_correct": s_correct,
        "sentinels_planned": planned,
        "sentinel_accuracy": (s_correct / s_total) if s_total else None,
        "fast_answers": fast,
        "fast_share": (fast / n) if n else 0.0,
        "left_share": left_share,
        "repeats": len(repeats),
        "repeats_inconsistent": inconsistent,
    }
    reasons: list[str] = []
    excluded = False
    if misses > allowed_misses or (
        final and s_total and s_correct / s_total < thresholds.min_sentinel_accuracy
    ):
        excluded = True
        reasons.append(
            f"failed sentinels: {s_correct}/{s_total} correct "
            f"(needs {thresholds.min_sentinel_accuracy:.0%} of {planned})"
        )
    if (
        n
        and fast / n > thresholds.max_fast_share
        and (final or fast > thresholds.max_fast_share * max(n, 20))
    ):
        reasons.append(f"too fast: {fast}/{n} answers under {thresholds.rt_floor_ms} ms")
    if left_share is not None and len(sides) >= thresholds.min_answers_for_bias:
        bias = max(left_share, 1.0 - left_share)
        if bias > thresholds.max_side_bias:
            reasons.append(f"side bias: {bias:.0%} of answers on one side")
    if inconsistent:
        reasons.append(f"inconsistent on {inconsistent} of {len(repeats)} hidden repeat(s)")
    status = "excluded" if excluded else ("flagged" if reasons else "ok")
    return Verdict(status=status, reasons=reasons, stats=stats)
