"""Agreement between distance metrics and human judgments: 2AFC scores, JND mAP, bootstraps.

Re-implemented from the LPIPS paper's protocol (Zhang et al., CVPR 2018, §3 and its official
scoring code), with bootstrap intervals and paired tests added.
Everything here works on NumPy arrays and imports neither Django nor torch, so the web process
can use it. All scores are fractions in [0, 1]; multiply by 100 for the paper's tables.

Quick use::

    from metrics.scoring import twoafc_score, jnd_map, score_2afc
    twoafc_score(d0, d1, judge)            # one set, a float
    jnd_map(distances, same)               # one JND set, a float
    report = score_2afc({"traditional": (d0, d1, judge), ...}, metric="l2")
    report.to_json()                       # per-category scores, intervals, aggregate columns

See ``docs/scoring.md`` for the rules and their edge cases.
"""

from metrics.scoring.bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    PairedTest,
    bootstrap_indices,
    bootstrap_mean_ci,
    jnd_ci,
    make_rng,
    paired_bootstrap_2afc,
    paired_bootstrap_credits,
    paired_bootstrap_jnd,
    twoafc_ci,
)
from metrics.scoring.jnd import jnd_map, jnd_pr_curve, voc_ap
from metrics.scoring.report import (
    DISTORTION_SETS,
    PAPER_COLUMNS,
    REAL_ALGORITHM_SETS,
    VAL_SETS,
    AggregateScore,
    CategoryScore,
    ScoreReport,
    score_2afc,
    score_2afc_set,
    score_jnd,
    score_jnd_set,
)
from metrics.scoring.twoafc import (
    TripletCredits,
    credit_table,
    human_ceiling,
    human_credit,
    oracle_credit,
    oracle_score,
    twoafc_credit,
    twoafc_score,
)

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "DISTORTION_SETS",
    "PAPER_COLUMNS",
    "REAL_ALGORITHM_SETS",
    "VAL_SETS",
    "AggregateScore",
    "CategoryScore",
    "PairedTest",
    "ScoreReport",
    "TripletCredits",
    "bootstrap_indices",
    "bootstrap_mean_ci",
    "credit_table",
    "human_ceiling",
    "human_credit",
    "jnd_ci",
    "jnd_map",
    "jnd_pr_curve",
    "make_rng",
    "oracle_credit",
    "oracle_score",
    "paired_bootstrap_2afc",
    "paired_bootstrap_credits",
    "paired_bootstrap_jnd",
    "score_2afc",
    "score_2afc_set",
    "score_jnd",
    "score_jnd_set",
    "twoafc_ci",
    "twoafc_credit",
    "twoafc_score",
    "voc_ap",
]
