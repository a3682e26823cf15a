"""Writes of crowd collection: entry, allocation, answers, completion, exclusion.

Invariants (tested, see tests/crowd):
- a `Response` is stored at most once per assignment item and per client UUID; a retry with the
  same UUID returns the stored row and changes nothing;
- `TrialLoad.valid_count` counts the responses that count toward the trial's quota (first
  occurrence of a non-sentinel trial, participant not excluded); `TrialLoad.leased_count` counts
  unanswered items of active assignments that would count; allocation never lets valid + leased
  exceed the quota (`Trial.judgments_needed`);
- only the database is on the response path (no broker, no cache).
Allocation locks the chosen load rows (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL), so
concurrent arrivals take different trials; on SQLite, writes are serialised by IMMEDIATE
transactions (settings). The load rows exist from the moment the study goes live
(`trial_loads_open`, run inside the transition), so allocation never creates them.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from common.exceptions import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from studies.choices import TrialKind, trial_kinds
from studies.models import Study, Trial

from . import layout, qc
from .models import Assignment, AssignmentItem, Participant, Response, TrialLoad
from .selectors import completion_payload, entry_check_open

# A trial is open while its valid judgments plus its leased slots are below its quota.
_OPEN = Q(valid_count__lt=F("trial__judgments_needed") - F("leased_count"))
_REGULAR = Q(trial__is_sentinel=False, trial__is_practice=False)
# When every open trial is locked by other arrivals, look again this many times, waiting
# 20 ms, 40 ms, ... (about 1.1 s in all) before answering "study full".
ALLOCATION_RETRIES = 10
ALLOCATION_RETRY_SECONDS = 0.02


# ---------------------------------------------------------------------------------------------
# Opening collection
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def trial_loads_open(*, study: Study) -> int:
    """Create the `TrialLoad` of every regular trial of `study` that has none; returns how many.

    Runs when the study goes live (inside `study_transition`, see `crowd.receivers`), before any
    participant can arrive, so allocation only ever reads and locks existing rows. Idempotent:
    re-opening a closed study keeps its counts (rows that exist are skipped, also when two
    callers race: the primary key is the trial).
    """
    missing = list(
        Trial.objects.filter(
            study=study, is_sentinel=False, is_practice=False, load__isnull=True
        ).values_list("pk", flat=True)
    )
    TrialLoad.objects.bulk_create(
        [TrialLoad(trial_id=pk) for pk in missing], ignore_conflicts=True, batch_size=1000
    )
    return len(missing)


# ---------------------------------------------------------------------------------------------
# Entry and allocation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One arrival through a recruiter's link. `resume_token` is what the browser kept of an
    earlier visit (the token of an assignment it was given, from localStorage), or ""."""

    recruiter: str
    external_id: str
    session_id: str = ""
    recruiter_study_id: str = ""
    turk_submit_to: str = ""
    resume_token: str = ""


# Recruiter ids that others may know (a Prolific id is shown to researchers and in shared
# screenshots, an MTurk workerId to every requester the worker worked for): they name a
# participant but do not prove who is at the keyboard. A plain link's id is a random secret the
# server put in the browser's cookie; bots are the server's own simulations.
_KNOWABLE_IDS = (Participant.Recruiter.PROLIFIC, Participant.Recruiter.MTURK)


def _returning_participant_proven(participant: Participant, entry: Entry) -> bool:
    """Whether this arrival may act as `participant`, who already has assignments.

    A recruiter id alone is not enough (issue #12, defect 5). It must come with a secret only
    that participant has: the recruiter's per-session id of one of their assignments (Prolific
    `SESSION_ID`, MTurk `assignmentId`: given to them alone, and the same when they switch
    browsers within one session), or the token of one of their assignments, which the worker
    page keeps in the browser's storage and the consent form sends back (so a worker who returns
    an MTurk HIT and accepts it again, getting a new assignmentId, resumes in that browser).
    """
    if entry.recruiter not in _KNOWABLE_IDS:
        return True
    theirs = Assignment.objects.filter(participant=participant)
    if not theirs.exists():
        return True  # nobody's work to protect
    if entry.session_id and theirs.filter(session_id=entry.session_id).exists():
        return True
    return bool(entry.resume_token) and theirs.filter(token=entry.resume_token).exists()


def entry_check_link(entry: Entry) -> None:
    """Refuse links a recruiter would never send: Prolific placeholders left unfilled (the template
    link clicked by hand), and an MTurk `turkSubmitTo` that is not one of MTurk's own hosts (the
    browser POSTs the assignment there at the end)."""
    values = (entry.external_id, entry.session_id, entry.recruiter_study_id)
    if any("{{%" in v or "%}}" in v for v in values):
        raise ApplicationError(
            "This is the study's link template: its placeholders (such as {{%PROLIFIC_PID%}}) "
            "were never filled in. Open the study from your recruiter's page instead.",
            code="unfilled_link",
        )
    if entry.recruiter == Participant.Recruiter.MTURK:
        target = urlsplit(entry.turk_submit_to)
        allowed = settings.PERCEPTLAB_TURK_SUBMIT_HOSTS
        origin = f"{target.scheme}://{target.netloc}"
        mturk_host = target.scheme == "https" and target.hostname in allowed and target.port is None
        if (
            not (mturk_host or origin in settings.PERCEPTLAB_TURK_SUBMIT_TEST_ORIGINS)
            or target.path not in ("", "/")
            or target.query
            or target.fragment
            or target.username
        ):
            raise ApplicationError(
                f"The MTurk link's turkSubmitTo must be https://{' or https://'.join(allowed)}.",
                code="bad_turk_submit_to",
                fields={"turkSubmitTo": ["not an MTurk host"]},
            )


def participant_enter(*, study: Study, entry: Entry, now=None) -> Assignment:
    """Return the participant's active assignment, or lease a new one.

    Raises ConflictError when the study is not live, the participant has used up their
    assignments, or no trials are left; ForbiddenError (`resume_refused`, nothing written) when a
    Prolific or MTurk id that already has assignments comes without proof that it is that
    participant (`_returning_participant_proven`).
    """
    now = now or timezone.now()
    entry_check_open(study)
    if not entry.external_id or len(entry.external_id) > 128:
        raise ApplicationError(
            "A participant id is required (at most 128 characters).", code="bad_participant"
        )
    for name, value in (
        ("session_id", entry.session_id),
        ("recruiter_study_id", entry.recruiter_study_id),
        ("turk_submit_to", entry.turk_submit_to),
    ):
        limit = Assignment._meta.get_field(name).max_length
        if len(value) > limit:  # a recruiter id cut short would no longer match theirs
            raise ApplicationError(
                f"The link's {name} is longer than {limit} characters.",
                code="bad_participant",
                fields={name: ["too long"]},
            )
    entry_check_link(entry)
    assignments_expire(study=study, now=now)
    with transaction.atomic():
        participant, _ = Participant.objects.get_or_create(
            study=study, recruiter=entry.recruiter, external_id=entry.external_id
        )
        # Locks in the order every writer takes them: the active assignment, then the participant.
        active_pk = (
            participant.assignments.filter(status=Assignment.Status.ACTIVE)
            .values_list("pk", flat=True)
            .first()
        )
        if active_pk is not None:
            Assignment.objects.select_for_update().filter(pk=active_pk).first()
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if entry.recruiter == Participant.Recruiter.MTURK and entry.session_id:
            return _mturk_acceptance(study=study, participant=participant, entry=entry, now=now)
        if not _returning_participant_proven(participant, entry):
            raise ForbiddenError(
                "This study was already started with your id, in another browser or from "
                "another session. To protect that work, it can be continued only in the browser "
                "where it was started, or from the same recruiter session. Please open the study "
                "there; if you cannot, contact the researcher.",
                code="resume_refused",
            )
        active = participant.assignments.filter(status=Assignment.Status.ACTIVE).first()
        if active is not None:
            return _resume(active, entry)
        return _assignment_new(study=study, participant=participant, entry=entry, now=now)


def _resume(active: Assignment, entry: Entry) -> Assignment:
    """Continue `active`, recording the entry's recruiter session: a worker who returned a HIT and
    accepted it again comes back with a new MTurk assignmentId (Prolific: a new SESSION_ID), and
    the completion must name this one."""
    changed = {
        name: value
        for name, value in (
            ("session_id", entry.session_id),
            ("turk_submit_to", entry.turk_submit_to),
        )
        if value and getattr(active, name) != value
    }
    if changed:
        for name, value in changed.items():
            setattr(active, name, value)
        active.save(update_fields=[*changed, "updated_at"])
    return active


def _mturk_acceptance(*, study: Study, participant: Participant, entry: Entry, now) -> Assignment:
    """An MTurk acceptance (an assignmentId) continues the assignment in progress only with proof
    that it is that work: the same assignmentId (the same acceptance, in any browser), or the
    token the worker page kept in this browser (a HIT returned and accepted again: the new
    assignmentId is recorded, so the completion names it). Any other acceptance (another HIT, or a
    browser that could keep nothing, as in a frame with third-party storage blocked) starts
    afresh: the assignment in progress is abandoned (its open trials go back to the pool, its
    answers stay) and never handed over, so knowing a workerId opens no one's work."""
    active = participant.assignments.filter(status=Assignment.Status.ACTIVE).first()
    if active is not None and (
        active.session_id == entry.session_id
        or (entry.resume_token and active.token == entry.resume_token)
    ):
        return _resume(active, entry)
    _abandon_active(participant=participant)
    return _assignment_new(study=study, participant=participant, entry=entry, now=now)


def _assignment_new(*, study: Study, participant: Participant, entry: Entry, now) -> Assignment:
    used = participant.assignments.exclude(status=Assignment.Status.EXPIRED).count()
    if used >= study.max_assignments_per_participant:
        raise ConflictError(
            "You have already completed the work available to you in this study. Thank you!",
            code="quota_reached",
        )
    if participant.status == Participant.Status.EXCLUDED:
        raise ConflictError("You cannot take part in this study again.", code="excluded")
    return _assignment_create(study=study, participant=participant, entry=entry, now=now)


def _release(assignment: Assignment) -> None:
    """Close an active assignment early (expired): its unanswered counted trials go back to the
    pool. Call with the assignment's and its participant's locks held."""
    open_items = assignment.items.filter(counts=True, response__isnull=True)
    for trial_id in open_items.order_by("trial_id").values_list("trial_id", flat=True):
        TrialLoad.objects.filter(pk=trial_id).update(leased_count=F("leased_count") - 1)
    assignment.status = Assignment.Status.EXPIRED
    assignment.save(update_fields=["status", "updated_at"])


def _abandon_active(*, participant: Participant) -> None:
    for assignment in participant.assignments.filter(status=Assignment.Status.ACTIVE):
        _release(assignment)


def _pick_kind(study: Study) -> str:
    """For a study of both kinds, serve the kind with more open judgment slots (one kind per
    assignment keeps the instructions and practice coherent)."""
    kinds = trial_kinds(study.kind)
    if len(kinds) == 1:
        return kinds[0]
    rows = (
        TrialLoad.objects.filter(_OPEN, _REGULAR, trial__study=study)
        .values("trial__kind")
        .annotate(open=Sum(F("trial__judgments_needed") - F("valid_count") - F("leased_count")))
    )
    open_by_kind = {row["trial__kind"]: row["open"] or 0 for row in rows}
    return max(kinds, key=lambda k: open_by_kind.get(k, 0))


def _assignment_create(*, study: Study, participant: Participant, entry: Entry, now) -> Assignment:
    kind = _pick_kind(study)
    seen = AssignmentItem.objects.filter(assignment__participant=participant).values("trial_id")
    plan = layout.sizes(assignment_size=study.assignment_size, sentinel_rate=study.sentinel_rate)

    # Lock the loads of the least-judged open trials; rows another transaction holds are
    # skipped, so two arrivals never both take the last slot of a trial.
    candidates = (
        TrialLoad.objects.filter(_OPEN, _REGULAR, trial__study=study, trial__kind=kind)
        .exclude(trial_id__in=seen)
        .order_by(F("valid_count") + F("leased_count"), "trial__sort_key")
    )
    for attempt in range(ALLOCATION_RETRIES + 1):
        regular = list(
            candidates.select_related("trial").select_for_update(skip_locked=True, of=("self",))[
                : plan.regular
            ]
        )
        # Nothing unlocked but open trials exist: they are locked by arrivals still choosing
        # theirs. Without waiting for them, a burst of arrivals was turned away as "study full"
        # while slots remained. Waiting on the rows themselves (FOR UPDATE without SKIP LOCKED)
        # deadlocked, as the order of the rows changes while they are updated; so step back and
        # look again, holding no trial locks meanwhile.
        if regular or attempt == ALLOCATION_RETRIES or not candidates.exists():
            break
        time.sleep(ALLOCATION_RETRY_SECONDS * (attempt + 1))
    if not regular:
        raise ConflictError(
            "All trials of this study have been taken. Thank you for your interest!",
            code="study_full",
        )
    sentinel_ids = list(
        Trial.objects.filter(study=study, kind=kind, is_sentinel=True)
        .exclude(pk__in=seen)
        .values_list("pk", flat=True)
    )
    rng = random.Random(f"{study.seed}:{participant.pk}:{participant.assignments.count()}")
    sentinels = list(
        Trial.objects.filter(
            pk__in=rng.sample(sentinel_ids, min(plan.sentinels, len(sentinel_ids)))
        )
    )

    assignment = Assignment.objects.create(
        study=study,
        participant=participant,
        lease_expires_at=now + timedelta(minutes=study.lease_minutes),
        session_id=entry.session_id,
        recruiter_study_id=entry.recruiter_study_id,
        turk_submit_to=entry.turk_submit_to,
    )
    sides: list[tuple[Trial, bool]] = []
    for load in regular:
        # Balance left/right per trial; a trial shown equally often both ways (its first viewer
        # included) gets a random side, so no participant sees p0 on the left throughout.
        if load.shown_swapped == load.shown_straight:
            swapped = rng.random() < 0.5
        else:
            swapped = load.shown_swapped < load.shown_straight
        sides.append((load.trial, swapped))
    # trial, swapped, is_repeat, counts; one regular trial repeated later with the sides swapped
    entries = layout.arrange(sides, sentinels, rng, repeat=plan.repeat)
    items = [
        AssignmentItem(assignment=assignment, position=i, trial=t, swapped=s, is_repeat=r, counts=c)
        for i, (t, s, r, c) in enumerate(entries)
    ]
    AssignmentItem.objects.bulk_create(items)
    assignment.total = len(items)
    assignment.save(update_fields=["total"])

    swapped_ids = [t.pk for t, s, r, c in entries if c and s]
    straight_ids = [t.pk for t, s, r, c in entries if c and not s]
    TrialLoad.objects.filter(pk__in=swapped_ids).update(
        leased_count=F("leased_count") + 1, shown_swapped=F("shown_swapped") + 1
    )
    TrialLoad.objects.filter(pk__in=straight_ids).update(
        leased_count=F("leased_count") + 1, shown_straight=F("shown_straight") + 1
    )
    return assignment


def assignments_expire(*, study: Study | None = None, now=None) -> int:
    """Expire idle assignments and return their unanswered trials to the pool."""
    now = now or timezone.now()
    qs = Assignment.objects.filter(status=Assignment.Status.ACTIVE, lease_expires_at__lt=now)
    if study is not None:
        qs = qs.filter(study=study)
    expired = 0
    for pk in list(qs.values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            assignment = (
                Assignment.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Assignment.Status.ACTIVE, lease_expires_at__lt=now)
                .first()
            )
            if assignment is None:
                continue  # answered meanwhile (lease extended) or being handled elsewhere
            # The participant's lock too (the order answers take: assignment, then participant),
            # so an exclusion releasing the same open items cannot also decrement their loads.
            Participant.objects.select_for_update().filter(pk=assignment.participant_id).first()
            _release(assignment)
            expired += 1
    return expired


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------

ANSWERS = {TrialKind.TWOAFC: ("left", "right"), TrialKind.JND: ("same", "different")}
MAX_RT_MS = 30 * 60 * 1000


@dataclass(frozen=True)
class AnswerResult:
    response: Response
    duplicate: bool
    answered: int
    total: int


def _choice(item: AssignmentItem, answer: str) -> str:
    if item.trial.kind == TrialKind.JND:
        return answer
    # Not swapped: p0 on the left. Swapped: p1 on the left.
    left, right = ("p1", "p0") if item.swapped else ("p0", "p1")
    return left if answer == "left" else right


def response_record(
    *,
    assignment_token: str,
    client_uuid: uuid.UUID,
    position: int,
    answer: str,
    rt_ms: int,
    display: dict,
    timing: dict,
    now=None,
) -> AnswerResult:
    """Store one answer exactly once. See the module docstring for the counting rules.

    A regular answer is one transaction of four statements: the item with its assignment, trial
    and study, locking the assignment (every writer of an assignment's items takes that lock
    first: answers, exclusion, expiry, completion, entry); the insert; the trial's load, moved
    from leased to valid only if the item still counts (read by that statement, so after any
    exclusion that committed while this request waited for the lock); the assignment's count and
    lease. Retries are recognised by the unique constraints (one response per item, per client
    UUID): the insert fails, the transaction rolls back, and the stored row is looked up.

    Quality control runs in the same transaction at its checkpoints: a sentinel (the only
    answers that can exclude a participant before the end), a hidden repeat, and the last item;
    completion runs it once more with the final rules. Between checkpoints the stored QC stats
    and flags (too fast, side bias) wait for the next one.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            item = (
                AssignmentItem.objects.select_related("trial", "assignment__study")
                .select_for_update(of=("assignment",))
                .filter(assignment__token=assignment_token, position=position)
                .first()
            )
            if item is None:
                stored = _stored(client_uuid)
                if stored is not None:
                    return _duplicate(stored, assignment_token)
                _refuse_missing_item(assignment_token, position)
            assignment = item.assignment
            if assignment.status != Assignment.Status.ACTIVE:
                stored = _stored(client_uuid)
                if stored is not None:
                    return _duplicate(stored, assignment_token)
                raise ConflictError(
                    f"This assignment is {assignment.status}; no more answers are accepted.",
                    code="assignment_closed",
                )
            if answer not in ANSWERS[item.trial.kind]:
                raise ApplicationError(
                    f"answer must be one of {list(ANSWERS[item.trial.kind])} for this trial, not {answer!r}.",
                    fields={"answer": ["invalid"]},
                )
            if not 0 <= rt_ms <= MAX_RT_MS:
                raise ApplicationError(
                    f"rt_ms must be between 0 and {MAX_RT_MS}.", fields={"rt_ms": ["out of range"]}
                )
            response = Response.objects.create(
                item=item,
                assignment=assignment,
                participant_id=assignment.participant_id,
                trial=item.trial,
                client_uuid=client_uuid,
                choice=_choice(item, answer),
                side=answer,
                rt_ms=rt_ms,
                display=display,
                timing=timing,
            )
            # An item counts only while its participant is not excluded (exclusion clears
            # `counts` on their open items under this assignment's lock), so a counted answer
            # moves its slot from leased to valid.
            TrialLoad.objects.filter(
                pk=item.trial_id,
                trial__assignment_items__pk=item.pk,
                trial__assignment_items__counts=True,
            ).update(leased_count=F("leased_count") - 1, valid_count=F("valid_count") + 1)
            # The assignment's lock serialises its answers, so the count read above is current.
            assignment.answered += 1
            assignment.lease_expires_at = now + timedelta(minutes=assignment.study.lease_minutes)
            assignment.updated_at = now
            Assignment.objects.filter(pk=assignment.pk).update(
                answered=assignment.answered,
                lease_expires_at=assignment.lease_expires_at,
                updated_at=now,
            )
            if item.trial.is_sentinel or item.is_repeat or assignment.answered >= assignment.total:
                participant = Participant.objects.select_for_update().get(
                    pk=assignment.participant_id
                )
                participant.study = assignment.study
                _qc_update(participant=participant, final=False)
    except IntegrityError:
        # This UUID or this item was stored first, by a retry or a concurrent request.
        existing = _stored(client_uuid)
        if existing is not None:
            return _duplicate(existing, assignment_token)
        raise ConflictError(
            f"Position {position} was already answered.", code="already_answered"
        ) from None
    return AnswerResult(
        response=response, duplicate=False, answered=assignment.answered, total=assignment.total
    )


def _stored(client_uuid: uuid.UUID) -> Response | None:
    return Response.objects.filter(client_uuid=client_uuid).select_related("assignment").first()


def _refuse_missing_item(assignment_token: str, position: int):
    """No such item: say whether the assignment or the position is unknown."""
    if not Assignment.objects.filter(token=assignment_token).exists():
        raise NotFoundError("Unknown assignment.")
    raise ApplicationError(
        f"Position {position} is not part of this assignment.",
        code="unknown_position",
        fields={"position": ["unknown"]},
    )


def _duplicate(existing: Response, token: str) -> AnswerResult:
    if existing.assignment.token != token:
        raise ConflictError(
            "This answer id was already used by another assignment.", code="uuid_conflict"
        )
    return AnswerResult(
        response=existing,
        duplicate=True,
        answered=existing.assignment.answered,
        total=existing.assignment.total,
    )


# ---------------------------------------------------------------------------------------------
# Quality control and exclusion
# ---------------------------------------------------------------------------------------------


def thresholds_for(study: Study) -> qc.Thresholds:
    return qc.Thresholds(
        min_sentinel_accuracy=study.qc_min_sentinel_accuracy,
        rt_floor_ms=study.qc_rt_floor_ms,
        max_fast_share=study.qc_max_fast_share,
        max_side_bias=study.qc_max_side_bias,
    )


def participant_answers(participant: Participant) -> tuple[list[qc.Answer], int]:
    """The participant's answers in the order received, and the number of sentinels their
    assignments hold (answered or not): one query over their items."""
    rows = (
        AssignmentItem.objects.filter(assignment__participant=participant)
        .order_by("response__received_at", "response__id")
        .values_list(
            "trial_id",
            "trial__is_sentinel",
            "trial__expected",
            "is_repeat",
            "response__id",
            "response__choice",
            "response__side",
            "response__rt_ms",
        )
    )
    answers, sentinels = [], 0
    for trial_id, is_sentinel, expected, is_repeat, response_id, choice, side, rt_ms in rows:
        sentinels += is_sentinel
        if response_id is None:
            continue
        answers.append(
            qc.Answer(
                trial_id=trial_id,
                is_sentinel=is_sentinel,
                correct=(choice == expected) if is_sentinel else None,
                rt_ms=rt_ms,
                side=side,
                choice=choice,
                is_repeat=is_repeat,
            )
        )
    return answers, sentinels


def _qc_update(*, participant: Participant, final: bool) -> qc.Verdict:
    """Recompute a participant's QC; exclude them (and free their quota) when the rules say so.
    Manual decisions by a researcher win over the automatic rules."""
    answers, planned = participant_answers(participant)
    verdict = qc.evaluate(
        answers, thresholds_for(participant.study), sentinels_planned=planned, final=final
    )
    status = verdict.status
    if participant.excluded_manually:
        status = Participant.Status.EXCLUDED
    elif participant.reinstated_manually and status == Participant.Status.EXCLUDED:
        status = Participant.Status.FLAGGED
    if status == Participant.Status.EXCLUDED and participant.status != Participant.Status.EXCLUDED:
        _set_validity(participant=participant, valid=False)
    elif (
        status != Participant.Status.EXCLUDED and participant.status == Participant.Status.EXCLUDED
    ):
        _set_validity(participant=participant, valid=True)
    participant.status = status
    participant.qc_reasons = verdict.reasons
    participant.qc_stats = verdict.stats
    participant.updated_at = timezone.now()
    Participant.objects.filter(pk=participant.pk).update(
        status=status,
        qc_reasons=verdict.reasons,
        qc_stats=verdict.stats,
        updated_at=participant.updated_at,
    )
    return verdict


def _set_validity(*, participant: Participant, valid: bool) -> None:
    """Move a participant's counted judgments in or out of the trials' quotas.

    Excluding also releases their unanswered leased items (their later answers will not count),
    so those trials return to the pool at once.
    """
    delta = 1 if valid else -1
    # Load rows are updated in trial order, so concurrent exclusions cannot deadlock on them.
    counted = (
        Response.objects.filter(participant=participant, item__counts=True)
        .order_by("trial_id")
        .values_list("trial_id", flat=True)
    )
    for trial_id in counted:
        TrialLoad.objects.filter(pk=trial_id).update(valid_count=F("valid_count") + delta)
    if not valid:
        open_items = AssignmentItem.objects.filter(
            assignment__participant=participant,
            assignment__status=Assignment.Status.ACTIVE,
            counts=True,
            response__isnull=True,
        )
        for trial_id in open_items.order_by("trial_id").values_list("trial_id", flat=True):
            TrialLoad.objects.filter(pk=trial_id).update(leased_count=F("leased_count") - 1)
        open_items.update(counts=False)


@transaction.atomic
def participant_set_excluded(*, participant: Participant, excluded: bool) -> Participant:
    """A researcher's manual decision: exclude, or reinstate (reinstated judgments count again,
    which may take a trial above its quota if its slots were re-filled meanwhile)."""
    # The order every writer takes: the active assignment (whose open items exclusion releases),
    # then the participant.
    active = participant.assignments.filter(status=Assignment.Status.ACTIVE).order_by("pk")
    list(Assignment.objects.select_for_update().filter(pk__in=active.values("pk")).order_by("pk"))
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    participant.excluded_manually = excluded
    participant.reinstated_manually = not excluded
    participant.save(update_fields=["excluded_manually", "reinstated_manually"])
    _qc_update(participant=participant, final=False)
    return participant


# ---------------------------------------------------------------------------------------------
# Completion
# ---------------------------------------------------------------------------------------------


def assignment_complete(*, assignment_token: str, now=None) -> dict:
    """Close an assignment once every item has a stored answer and release the completion code."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update()
            .select_related("study", "participant")
            .filter(token=assignment_token)
            .first()
        )
        if assignment is None:
            raise NotFoundError("Unknown assignment.")
        if assignment.status == Assignment.Status.COMPLETED:
            return completion_payload(assignment)
        if assignment.status == Assignment.Status.EXPIRED:
            raise ConflictError("This assignment expired.", code="assignment_closed")
        missing = list(
            assignment.items.filter(response__isnull=True).values_list("position", flat=True)
        )
        if missing:
            raise ConflictError(
                f"{len(missing)} answer(s) have not reached the server yet.",
                code="incomplete",
                fields={"missing_positions": missing},
            )
        participant = Participant.objects.select_for_update().get(pk=assignment.participant_id)
        _qc_update(participant=participant, final=True)
        study = assignment.study
        failed = participant.status == Participant.Status.EXCLUDED
        assignment.completion_code = (
            study.completion_code_failed if failed else study.completion_code
        )
        assignment.status = Assignment.Status.COMPLETED
        assignment.completed_at = now
        assignment.save(update_fields=["completion_code", "status", "completed_at", "updated_at"])
        assignment.participant = participant
        return completion_payload(assignment)
