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

import functools
import json
import random
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
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
    return _choice_of(item.trial.kind, item.swapped, answer)


def _choice_of(kind: str, swapped: bool, answer: str) -> str:
    if kind == TrialKind.JND:
        return answer
    # Not swapped: p0 on the left. Swapped: p1 on the left.
    left, right = ("p1", "p0") if swapped else ("p0", "p1")
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

    On PostgreSQL a new answer is stored by `_answer_pg` instead: the four statements as one
    prepared statement, in autocommit for a regular answer and with QC in one transaction at a
    checkpoint. It stores nothing for anything else (an error, a retry), which then takes the
    transaction above, so both give the same results.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        result = _answer_pg(
            assignment_token=assignment_token,
            client_uuid=client_uuid,
            position=position,
            answer=answer,
            rt_ms=rt_ms,
            display=display,
            timing=timing,
            now=now,
        )
        if result is not None:
            return result
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


# An answer on PostgreSQL: the four statements of the transaction above as one statement (one
# round trip instead of four, and no ORM compilation). It locks the assignment (as every writer
# of its items does first), then the item, so that `counts` is read as it is once the locks are
# held: a statement reads the tables as they were when it started, except the rows it locks,
# which it reads again after waiting for them, and an exclusion that committed while this
# statement waited for the assignment cleared `counts` on the participant's open items. It stores
# nothing and returns no row unless the assignment is active, the item exists, the answer is valid
# for the trial's kind, and no response exists for this item or this client UUID (ON CONFLICT DO
# NOTHING; the updates write only when the insert did). With `qc_free` it also stores nothing for
# an answer at a QC checkpoint (a sentinel, a hidden repeat, the last item).
_ANSWER_SQL = """
WITH a AS (
    SELECT a.id, a.participant_id, a.study_id, a.answered, a.total, a.status, s.lease_minutes
    FROM {assignment} a JOIN {study} s ON s.id = a.study_id
    WHERE a.token = %(token)s
    FOR UPDATE OF a
), i AS (
    SELECT i.id, i.trial_id, i.swapped, i.counts, a.id AS assignment_id, a.participant_id,
           a.study_id, a.answered, a.total, a.lease_minutes,
           t.is_sentinel OR i.is_repeat OR a.answered + 1 >= a.total AS checkpoint
    FROM {item} i JOIN a ON a.id = i.assignment_id JOIN {trial} t ON t.id = i.trial_id
    WHERE i.position = %(position)s AND a.status = %(active)s AND t.kind = %(kind)s
      AND NOT (%(qc_free)s AND (t.is_sentinel OR i.is_repeat OR a.answered + 1 >= a.total))
    FOR UPDATE OF i
), ins AS (
    INSERT INTO {response} (item_id, assignment_id, participant_id, trial_id, client_uuid,
                            choice, side, rt_ms, display, timing, received_at)
    SELECT i.id, i.assignment_id, i.participant_id, i.trial_id, %(client_uuid)s::uuid,
           CASE WHEN i.swapped THEN %(choice_swapped)s ELSE %(choice_straight)s END,
           %(answer)s, %(rt_ms)s, %(display)s::jsonb, %(timing)s::jsonb, %(received_at)s
    FROM i
    ON CONFLICT DO NOTHING
    RETURNING id, item_id, assignment_id, participant_id, trial_id, choice
), load AS (
    UPDATE {load} l SET leased_count = l.leased_count - 1, valid_count = l.valid_count + 1
    FROM i WHERE l.trial_id = i.trial_id AND i.counts AND EXISTS (SELECT FROM ins)
), counted AS (
    UPDATE {assignment} a SET answered = i.answered + 1,
        lease_expires_at = %(now)s + make_interval(mins => i.lease_minutes), updated_at = %(now)s
    FROM i WHERE a.id = i.assignment_id AND EXISTS (SELECT FROM ins)
    RETURNING a.answered, a.total
)
SELECT ins.id, ins.item_id, ins.assignment_id, ins.participant_id, ins.trial_id, ins.choice,
       counted.answered, counted.total, i.study_id, i.checkpoint
FROM ins, counted, i
"""


# `_ANSWER_SQL` is prepared once per database connection (PREPARE; a prepared statement lives as
# long as its session, whatever becomes of the transaction it was prepared in): parsing and
# planning it took more of PostgreSQL's time than running it. The parameters' types, in order.
_ANSWER_PARAMS = {
    "token": "text",
    "position": "integer",
    "active": "text",
    "kind": "text",
    "qc_free": "boolean",
    "client_uuid": "uuid",
    "choice_swapped": "text",
    "choice_straight": "text",
    "answer": "text",
    "rt_ms": "integer",
    "display": "jsonb",
    "timing": "jsonb",
    "received_at": "timestamptz",
    "now": "timestamptz",
}
_ANSWER_STATEMENT = "crowd_answer"
UNKNOWN_PREPARED_STATEMENT = "26000"  # PostgreSQL's SQLSTATE: invalid_sql_statement_name
_prepared_on: weakref.WeakSet = weakref.WeakSet()  # the connections that have it
_prepared_lock = threading.Lock()


@functools.cache
def _answer_prepare_sql() -> str:
    sql = _sql(_ANSWER_SQL)
    for number, name in enumerate(_ANSWER_PARAMS, start=1):
        sql = sql.replace(f"%({name})s", f"${number}")
    types = ", ".join(_ANSWER_PARAMS.values())
    return f"PREPARE {_ANSWER_STATEMENT} ({types}) AS {sql}"


_ANSWER_EXECUTE = f"EXECUTE {_ANSWER_STATEMENT} ({', '.join(['%s'] * len(_ANSWER_PARAMS))})"


def _answer_execute(cursor, params: dict):
    """Run `_ANSWER_SQL` (preparing it first on a new connection); its row or None.

    Should the session have lost the statement (`DEALLOCATE`, a pooler's reset), it is prepared
    again: at once in autocommit; inside a transaction, which the error aborted, on the
    connection's next request."""
    raw = connection.connection
    with _prepared_lock:
        prepared = raw in _prepared_on
    if not prepared:
        cursor.execute(_answer_prepare_sql())
        with _prepared_lock:
            _prepared_on.add(raw)
    values = [params[name] for name in _ANSWER_PARAMS]
    try:
        cursor.execute(_ANSWER_EXECUTE, values)
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) != UNKNOWN_PREPARED_STATEMENT:
            raise
        with _prepared_lock:
            _prepared_on.discard(raw)
        if connection.in_atomic_block:
            raise
        cursor.execute(_answer_prepare_sql())
        with _prepared_lock:
            _prepared_on.add(raw)
        cursor.execute(_ANSWER_EXECUTE, values)
    return cursor.fetchone()


def _answer_pg(
    *, assignment_token, client_uuid, position, answer, rt_ms, display, timing, now
) -> AnswerResult | None:
    """Store an answer with `_ANSWER_SQL` (PostgreSQL). A regular answer is one statement in
    autocommit; an answer at a QC checkpoint is that statement and QC in one transaction. None
    when nothing was stored (an unknown item, a closed assignment, an invalid answer, a retry):
    the ORM path then gives the stored answer or the error, with its own checks."""
    kinds = [kind for kind, answers in ANSWERS.items() if answer in answers]
    if len(kinds) != 1 or not 0 <= rt_ms <= MAX_RT_MS or not 0 <= position < 2**31:
        return None
    kind = kinds[0]
    params = {
        "token": assignment_token,
        "position": position,
        "active": Assignment.Status.ACTIVE.value,
        "kind": str(kind),
        "qc_free": True,
        "client_uuid": str(client_uuid),
        "choice_swapped": _choice_of(kind, True, answer),
        "choice_straight": _choice_of(kind, False, answer),
        "answer": answer,
        "rt_ms": rt_ms,
        "display": json.dumps(display),
        "timing": json.dumps(timing),
        "received_at": timezone.now(),
        "now": now,
    }
    with connection.cursor() as cursor:
        row = _answer_execute(cursor, params)
    if row is None:
        params["qc_free"] = False
        row = _checkpoint_answer_pg(params)
        if row is None:
            return None
    response_id, item_id, assignment_id, participant_id, trial_id, choice, answered, total = row[:8]
    response = Response(
        id=response_id,
        item_id=item_id,
        assignment_id=assignment_id,
        participant_id=participant_id,
        trial_id=trial_id,
        client_uuid=client_uuid,
        choice=choice,
        side=answer,
        rt_ms=rt_ms,
        display=display,
        timing=timing,
        received_at=params["received_at"],
    )
    response._state.adding = False
    return AnswerResult(response=response, duplicate=False, answered=answered, total=total)


DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
# Tries of a checkpoint's transaction that PostgreSQL aborted to break a deadlock: its answer's
# load row is updated before QC, and an exclusion updates the loads of all the participant's
# counted answers (in trial order), so two exclusions at once can wait on each other's rows.
DEADLOCK_TRIES = 3


def _checkpoint_answer_pg(params: dict):
    """`_ANSWER_SQL` and, at a QC checkpoint, QC, in one transaction; tried again when
    PostgreSQL aborts it to break a deadlock (all of it was rolled back, nothing acknowledged)."""
    for attempt in range(1, DEADLOCK_TRIES + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                row = _answer_execute(cursor, params)
                if row is not None and row[9]:  # at a checkpoint (unless the item changed since)
                    cursor.execute(_sql(_PARTICIPANT_LOCK_SQL), [row[3]])
                    status, excluded, reinstated, *thresholds = cursor.fetchone()
                    participant = Participant(
                        id=row[3],
                        status=status,
                        excluded_manually=excluded,
                        reinstated_manually=reinstated,
                    )
                    _qc_update(
                        participant=participant, final=False, thresholds=qc.Thresholds(*thresholds)
                    )
                return row
        except OperationalError as exc:
            # Tried again: a deadlock, or a statement the session lost (prepared again now).
            code = getattr(exc.__cause__, "pgcode", None)
            again = code in (DEADLOCK_DETECTED, UNKNOWN_PREPARED_STATEMENT)
            if not again or attempt == DEADLOCK_TRIES or connection.in_atomic_block:
                raise
    return None  # not reached


# A participant's QC state and their study's thresholds (in `qc.Thresholds`' order), locking the
# participant as `Participant.objects.select_for_update()` does.
_PARTICIPANT_LOCK_SQL = """
SELECT p.status, p.excluded_manually, p.reinstated_manually, s.qc_min_sentinel_accuracy,
       s.qc_rt_floor_ms, s.qc_max_fast_share, s.qc_max_side_bias
FROM {participant} p JOIN {study} s ON s.id = p.study_id
WHERE p.id = %s
FOR UPDATE OF p
"""


@functools.cache
def _sql(template: str) -> str:
    """`template` with the crowd tables' names."""
    return template.format(
        assignment=Assignment._meta.db_table,
        study=Study._meta.db_table,
        item=AssignmentItem._meta.db_table,
        trial=Trial._meta.db_table,
        response=Response._meta.db_table,
        load=TrialLoad._meta.db_table,
        participant=Participant._meta.db_table,
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
    assignments hold (answered or not): one query over their items (plain SQL: this runs at every
    QC checkpoint, and compiling it with the ORM took longer than running it)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(_PARTICIPANT_ANSWERS_SQL), [participant.pk])
        rows = cursor.fetchall()
    answers, sentinels = [], 0
    for trial_id, is_sentinel, expected, is_repeat, response_id, choice, side, rt_ms in rows:
        is_sentinel, is_repeat = bool(is_sentinel), bool(is_repeat)  # SQLite gives 0 and 1
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


_PARTICIPANT_ANSWERS_SQL = """
SELECT i.trial_id, t.is_sentinel, t.expected, i.is_repeat, r.id, r.choice, r.side, r.rt_ms
FROM {item} i
JOIN {assignment} a ON a.id = i.assignment_id
JOIN {trial} t ON t.id = i.trial_id
LEFT JOIN {response} r ON r.item_id = i.id
WHERE a.participant_id = %s
ORDER BY r.received_at, r.id
"""


def _qc_update(
    *, participant: Participant, final: bool, thresholds: qc.Thresholds | None = None
) -> qc.Verdict:
    """Recompute a participant's QC; exclude them (and free their quota) when the rules say so.
    Manual decisions by a researcher win over the automatic rules. `thresholds`: their study's
    (`thresholds_for`), when the caller has read them."""
    answers, planned = participant_answers(participant)
    verdict = qc.evaluate(
        answers,
        thresholds or thresholds_for(participant.study),
        sentinels_planned=planned,
        final=final,
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
