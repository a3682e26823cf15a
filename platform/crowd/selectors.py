"""Reads of crowd collection: what a participant's browser may see, and researchers' progress.

A worker's assignment token is their only credential: an unknown token, like a position or slot
not in the assignment, is `NotFoundError`. Researchers reach a study's collection through
`studies.selectors` (owner/collaborator rule) before calling `study_progress`.
"""

from __future__ import annotations

import random
import re
import statistics
from datetime import timedelta

from django.db.models import Count, F, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from common.exceptions import ApplicationError, ConflictError, NotFoundError
from common.markdown import render_markdown
from studies.choices import TrialKind, trial_kinds
from studies.models import Study, Trial

from . import layout
from .models import Assignment, Participant, Response

PRACTICE_COUNT = {
    TrialKind.JND: 10,
    TrialKind.TWOAFC: 3,
}  # JND: 10 practice pairs as in the paper


def entry_study_get(*, slug: str) -> Study:
    """The study a recruitment link names."""
    study = Study.objects.filter(slug=slug).first()
    if study is None:
        raise NotFoundError("This study does not exist.")
    return study


def entry_check_open(study: Study) -> None:
    """Raise ConflictError unless the study accepts participants now."""
    if study.status != Study.Status.LIVE:
        raise ConflictError("This study is not accepting participants right now.", code="not_live")


# Seconds a worker takes per trial, for the consent page's estimate when the study states none:
# a 2AFC answer takes a few seconds; a JND trial shows its two patches, then waits for the answer.
_SECONDS_2AFC = 4.0
_SECONDS_JND_ANSWER = 2.5
_SECONDS_INSTRUCTIONS = 120


def consent_facts(study: Study) -> dict:
    """What a worker is told before agreeing: how long, how many trials, payment, contact."""
    kinds = (
        [TrialKind.TWOAFC, TrialKind.JND]
        if study.kind == Study.Kind.BOTH
        else [TrialKind(study.kind)]
    )
    practice_available = dict(
        Trial.objects.filter(study=study, is_practice=True)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    practice = max(min(PRACTICE_COUNT[k], practice_available.get(k, 0)) for k in kinds)
    jnd_seconds = (
        study.jnd_first_ms + study.jnd_gap_ms + study.jnd_second_ms
    ) / 1000 + _SECONDS_JND_ANSWER
    per_trial = max(_SECONDS_2AFC if k == TrialKind.TWOAFC else jnd_seconds for k in kinds)
    estimate = -(-(per_trial * (study.assignment_size + practice) + _SECONDS_INSTRUCTIONS) // 60)
    return {
        "minutes": study.estimated_minutes or int(estimate),
        "estimated": study.estimated_minutes is None,
        "trials": study.assignment_size,
        "practice": practice,
        "payment": study.payment,
        "contact": study.contact,
    }


def assignment_get(*, token: str) -> Assignment:
    assignment = (
        Assignment.objects.select_related("study", "participant").filter(token=token).first()
    )
    if assignment is None:
        raise NotFoundError("This assignment does not exist.")
    return assignment


def completion_payload(assignment: Assignment) -> dict:
    study = assignment.study
    participant = assignment.participant
    outcome = "failed_qc" if participant.status == Participant.Status.EXCLUDED else "ok"
    code = assignment.completion_code
    redirect_url = None
    # Only a Prolific entry goes back to Prolific: a plain-link participant was not sent by it
    # and sees the code instead (worker-api.md), MTurk participants submit the HIT.
    if study.completion_url and participant.recruiter == Participant.Recruiter.PROLIFIC:
        redirect_url = study.completion_url.replace("{code}", code)
    mturk = None
    if participant.recruiter == Participant.Recruiter.MTURK and assignment.turk_submit_to:
        mturk = {
            "submit_url": assignment.turk_submit_to.rstrip("/") + "/mturk/externalSubmit",
            "assignment_id": assignment.session_id,
        }
    return {
        "status": "completed",
        "outcome": outcome,
        "completion_code": code,
        "redirect_url": redirect_url,
        "mturk": mturk,
    }


def _slots(kind: str) -> tuple[str, ...]:
    return ("ref", "left", "right") if kind == TrialKind.TWOAFC else ("first", "second")


def _practice_answer(trial: Trial) -> str:
    if trial.kind == TrialKind.JND:
        return trial.expected or "different"
    return "left" if trial.expected == "p0" else "right"


def _practice_of(study: Study, kind: str) -> list[Trial]:
    return list(
        Trial.objects.filter(study=study, is_practice=True, kind=kind).order_by("index")[
            : PRACTICE_COUNT[kind]
        ]
    )


def practice_trials(assignment: Assignment) -> list[Trial]:
    kind = assignment.items.values_list("trial__kind", flat=True).first() or TrialKind.TWOAFC
    return _practice_of(assignment.study, kind)


def _study_payload(study: Study) -> dict:
    """The study as the worker app sees it (session payload and pilot mode)."""
    return {
        "name": study.name,
        "kind": study.kind,
        "instructions_html": render_markdown(study.instructions),
        "patch_size": study.patch_size,
        "display_scale": study.display_scale,
        "jnd": {
            "first_ms": study.jnd_first_ms,
            "gap_ms": study.jnd_gap_ms,
            "second_ms": study.jnd_second_ms,
        },
        "break_every": study.break_every,
    }


def session_payload(assignment: Assignment) -> dict:
    """Everything the worker app needs, and nothing it must not see (no sentinel flags, expected
    answers, categories, splits, distortion names or stimulus ids)."""
    study = assignment.study
    base = f"/w/{assignment.token}"
    items = list(
        assignment.items.select_related("trial")
        .annotate(has_response=Count("response"))
        .order_by("position")
    )
    trials = [
        {
            "position": item.position,
            "kind": item.trial.kind,
            "answered": bool(item.has_response),
            "images": {
                slot: f"{base}/img/{item.position}/{slot}" for slot in _slots(item.trial.kind)
            },
        }
        for item in items
    ]
    practice = [
        {
            "kind": trial.kind,
            "images": {slot: f"{base}/practice/{n}/{slot}" for slot in _slots(trial.kind)},
            "answer": _practice_answer(trial),
        }
        for n, trial in enumerate(practice_trials(assignment))
    ]
    answered = sum(1 for t in trials if t["answered"])
    return {
        "status": assignment.status,
        "study": _study_payload(study),
        "recruiter": {"kind": assignment.participant.recruiter},
        "practice": practice,
        "trials": trials,
        "progress": {"answered": answered, "total": len(trials)},
        "completion": completion_payload(assignment)
        if assignment.status == Assignment.Status.COMPLETED
        else None,
    }


def stimulus_for_slot(assignment: Assignment, *, position: int, slot: str, practice: bool = False):
    """The Stimulus behind an opaque image URL; NotFoundError for a position or slot that the
    assignment does not have."""
    missing = NotFoundError("No such image in this assignment.")
    if practice:
        trials = practice_trials(assignment)
        if not 0 <= position < len(trials):
            raise missing
        trial, swapped = trials[position], False
    else:
        item = assignment.items.select_related("trial").filter(position=position).first()
        if item is None:
            raise missing
        trial, swapped = item.trial, item.swapped
    stimulus = _slot_stimuli(trial, swapped).get(slot)
    if stimulus is None:
        raise missing
    return stimulus


def _slot_stimuli(trial: Trial, swapped: bool) -> dict:
    """{slot: Stimulus} of a trial shown with its sides `swapped` or not."""
    first, second = (trial.p1, trial.p0) if swapped else (trial.p0, trial.p1)
    if trial.kind == TrialKind.TWOAFC:
        return {"ref": trial.ref, "left": first, "right": second}
    return {"first": first, "second": second}


# ---------------------------------------------------------------------------------------------
# Pilot mode (researchers)
# ---------------------------------------------------------------------------------------------


def pilot_session(study: Study, *, kind: str | None = None, seed: int | None = None) -> dict:
    """What the worker app's `GET session` would give a new participant of `study`, built
    without writing anything (no participant, assignment or lease), for a researcher's pilot run.

    Trials are chosen and laid out by allocation's rules (`layout`): the least-judged regular
    trials of one kind, sentinels, a repeat, shuffled, sides at random. Images are the study's
    stimuli behind the researcher-only `stimulus-file` endpoint. The caller checks that the user
    may see the study (`studies.selectors.study_get`).
    """
    kinds = trial_kinds(study.kind)
    if kind is None:
        kind = kinds[0]
    elif kind not in kinds:
        raise ApplicationError(
            f"This study has no {kind!r} trials; choose one of: {', '.join(kinds)}.",
            code="bad_kind",
            fields={"kind": ["not a kind of this study"]},
        )
    rng = random.Random(seed)
    plan = layout.sizes(assignment_size=study.assignment_size, sentinel_rate=study.sentinel_rate)
    trials = Trial.objects.filter(study=study, kind=kind).select_related("ref", "p0", "p1")
    regular = list(
        trials.filter(is_sentinel=False, is_practice=False).order_by(
            Coalesce(F("load__valid_count") + F("load__leased_count"), 0), "sort_key"
        )[: plan.regular]
    )
    if not regular:
        raise ConflictError(
            "This study has no trials to pilot yet: generate its stimuli first.",
            code="no_trials",
        )
    sentinel_pool = list(trials.filter(is_sentinel=True, is_practice=False).order_by("index"))
    sentinels = rng.sample(sentinel_pool, min(plan.sentinels, len(sentinel_pool)))
    entries = layout.arrange(
        [(trial, rng.random() < 0.5) for trial in regular], sentinels, rng, repeat=plan.repeat
    )

    def urls(trial: Trial, swapped: bool) -> dict:
        return {
            slot: reverse("stimulus-file", args=[stimulus.pk])
            for slot, stimulus in _slot_stimuli(trial, swapped).items()
        }

    return {
        "status": "active",
        "study": _study_payload(study),
        "recruiter": {"kind": "pilot"},
        "practice": [
            {"kind": t.kind, "images": urls(t, False), "answer": _practice_answer(t)}
            for t in _practice_of(study, kind)
        ],
        "trials": [
            {"position": n, "kind": trial.kind, "answered": False, "images": urls(trial, swapped)}
            for n, (trial, swapped, _repeat, _counts) in enumerate(entries)
        ],
        "progress": {"answered": 0, "total": len(entries)},
        "completion": None,
    }


# ---------------------------------------------------------------------------------------------
# Researcher view
# ---------------------------------------------------------------------------------------------


def study_progress(study: Study, *, now=None) -> dict:
    """Judgments collected vs needed per kind/split/category, participants, QC pass rate, median
    time per trial and an estimate of the time to completion."""
    now = now or timezone.now()
    rows = (
        Trial.objects.filter(study=study, is_sentinel=False, is_practice=False)
        .values("kind", "split", "category")
        .annotate(
            trials=Count("id"),
            needed=Sum("judgments_needed"),
            valid=Coalesce(Sum("load__valid_count"), 0),
            leased=Coalesce(Sum("load__leased_count"), 0),
        )
        .order_by("kind", "split", "category")
    )
    groups = [
        {
            **row,
            "valid": min(row["valid"] or 0, row["needed"] or 0),
            "share": (
                (min(row["valid"] or 0, row["needed"] or 0) / row["needed"])
                if row["needed"]
                else 1.0
            ),
        }
        for row in rows
    ]
    needed = sum(g["needed"] or 0 for g in groups)
    valid = sum(g["valid"] for g in groups)
    participants = Participant.objects.filter(study=study)
    by_status = dict(
        participants.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    judged = sum(by_status.values())
    active = Assignment.objects.filter(
        study=study, status=Assignment.Status.ACTIVE, lease_expires_at__gte=now
    )
    recent = Response.objects.filter(assignment__study=study).order_by("-received_at")
    rts = list(recent.values_list("rt_ms", flat=True)[:2000])
    hour_ago = now - timedelta(hours=1)
    last_hour = (
        Response.objects.filter(
            assignment__study=study, received_at__gte=hour_ago, item__counts=True
        )
        .exclude(participant__status=Participant.Status.EXCLUDED)
        .count()
    )
    remaining = max(needed - valid, 0)
    eta_hours = (remaining / last_hour) if last_hour else None
    return {
        "groups": groups,
        "needed": needed,
        "valid": valid,
        "share": (valid / needed) if needed else 0.0,
        "percent": round(100 * valid / needed) if needed else 0,
        "participants": judged,
        "participants_by_status": by_status,
        "qc_pass_rate": ((judged - by_status.get("excluded", 0)) / judged) if judged else None,
        "active_assignments": active.count(),
        "median_rt_ms": statistics.median(rts) if rts else None,
        "judgments_last_hour": last_hour,
        "eta_hours": eta_hours,
    }


def participant_answers_table(participant: Participant) -> list[dict]:
    rows = (
        Response.objects.filter(participant=participant)
        .select_related("trial", "item")
        .order_by("received_at")
    )
    return [
        {
            "position": r.item.position,
            "trial": r.trial.index,
            "kind": r.trial.kind,
            "sentinel": r.trial.is_sentinel,
            "expected": r.trial.expected,
            "choice": r.choice,
            "side": r.side,
            "rt_ms": r.rt_ms,
            "repeat": r.item.is_repeat,
            "at": r.received_at,
        }
        for r in rows
    ]


MONITOR_POINTS = 120  # at most this many points on the judgments-over-time line


def study_monitor(study: Study, *, now=None) -> dict:
    """What the collection monitor draws: `study_progress` plus valid judgments over time (hours
    since the first one, cumulative, at most MONITOR_POINTS points), QC outcomes (participants
    per status and per QC reason) and participants answering now (an active, unexpired lease)."""
    now = now or timezone.now()
    progress = study_progress(study, now=now)
    times = list(
        Response.objects.filter(assignment__study=study, item__counts=True)
        .exclude(participant__status=Participant.Status.EXCLUDED)
        .order_by("received_at")
        .values_list("received_at", flat=True)
    )
    timeline = []
    if times:
        start = times[0]
        step = max(1, len(times) // MONITOR_POINTS)
        picks = list(range(step - 1, len(times), step))
        if picks[-1] != len(times) - 1:
            picks.append(len(times) - 1)
        timeline = [{"hours": 0.0, "valid": 0}] + [
            {"hours": (times[i] - start).total_seconds() / 3600, "valid": i + 1} for i in picks
        ]
        if progress["eta_hours"] is not None:
            timeline.append({"hours": (now - start).total_seconds() / 3600, "valid": len(times)})
    statuses = progress["participants_by_status"]
    reasons: dict[str, int] = {}
    for qc_reasons in Participant.objects.filter(study=study).values_list("qc_reasons", flat=True):
        for reason in qc_reasons or []:
            head = re.split(r"\s\d", str(reason).split(":")[0])[0].strip()
            reasons[head] = reasons.get(head, 0) + 1
    qc = [
        {"label": label, "count": statuses.get(value, 0)}
        for value, label in Participant.Status.choices
    ] + [{"label": f"reason: {r}", "count": n} for r, n in sorted(reasons.items())]
    active = (
        Assignment.objects.filter(
            study=study, status=Assignment.Status.ACTIVE, lease_expires_at__gte=now
        )
        .values("participant")
        .distinct()
        .count()
    )
    return {
        "at": now.isoformat(),
        "study": study.pk,
        "status": study.status,
        "needed": progress["needed"],
        "valid": progress["valid"],
        "percent": progress["percent"],
        "judgments_last_hour": progress["judgments_last_hour"],
        "eta_hours": progress["eta_hours"],
        "qc_pass_rate": progress["qc_pass_rate"],
        "participants": progress["participants"],
        "active_participants": active,
        "timeline": timeline,
        "qc": qc,
        "groups": [
            {k: g[k] for k in ("kind", "split", "category", "trials", "needed", "valid", "leased")}
            for g in progress["groups"]
        ],
    }
