"""Writes of duel studies: create one (a study, its distortion families and the duel design, in
one transaction), and the generator the study lifecycle calls (`studies.generators`).

Generation (run by `duels.tasks`, on workers; `duels.generation` does the work):
1. `duel_prepare` freezes the candidate pool (reference patches × families × severity grid)
   and fans out one chunk per metric (pool scoring, for selection) and one per ordered pair of
   differentiable metrics (MAD synthesis), each a job of its own;
2. each chunk stores its result (`DuelPoolScore`, or synthesised `DuelPair`s) and marks itself
   done; the last one to finish runs `duel_assemble`: gMAD selection for every ordered pair,
   then one regular 2AFC trial per pair, then the study's sentinels and practice through the
   standard chunks (`studies.tasks.generate_chunk`), after which the study is `ready`.

Nothing here imports torch; the web process calls only `duel_study_create` and the generator's
`validate`/`enqueue`/`discard`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from common.exceptions import ApplicationError
from studies import services as study_services
from studies.models import Study

from .models import DuelChunk, DuelMethod, DuelPair, DuelPoolScore, DuelStudy

GENERATOR = "duel"
DUEL_FIELDS = [
    "levels",
    "pairs_per_level",
    "tolerance",
    "severity_steps",
    "patches_per_image",
    "synthesis_steps",
]
# Study settings a duel study may set on creation (presentation, recruitment, QC, seed).
STUDY_FIELDS = [
    "seed",
    "patch_size",
    "display_scale",
    "judgments_val",
    "assignment_size",
    "sentinel_rate",
    "instructions",
    "completion_url",
    "estimated_minutes",
    "payment",
    "contact",
    "desktop_only",
    "break_every",
    "max_assignments_per_participant",
    "lease_minutes",
    "qc_min_sentinel_accuracy",
    "qc_rt_floor_ms",
    "qc_max_fast_share",
    "qc_max_side_bias",
]
MAX_POOL = 200_000  # candidates per study (references × families × severities)


def _differentiable(metric: str) -> bool:
    from metrics.duels import is_differentiable  # torch-free for names

    return bool(is_differentiable(metric))


def duel_metrics_check(
    *, owner: AbstractBaseUser, metrics: Iterable[str], method: str
) -> list[str]:
    """The metrics as stored, or the first problem: fewer than two, a repeated one, one that is
    unknown or not `owner`'s to use (the same message as a missing one), or, for synthesis, one
    without gradients."""
    from analysis.selectors import metric_ref_resolve

    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise ApplicationError(
            "metrics must be a list of metric names.", fields={"metrics": ["not a list"]}
        )
    names = list(metrics)
    if len(names) < 2:
        raise ApplicationError(
            f"A duel needs at least two metrics (got {len(names)}).",
            code="too_few_metrics",
            fields={"metrics": ["at least two"]},
        )
    resolved = []
    for name in names:
        try:
            resolved.append(str(metric_ref_resolve(user=owner, metric=name)))
        except ApplicationError as exc:
            raise ApplicationError(
                exc.message, code=exc.code, fields={"metrics": [exc.message]}
            ) from None
    repeated = sorted({m for m in resolved if resolved.count(m) > 1})
    if repeated:
        raise ApplicationError(
            f"Each metric may be chosen once ({', '.join(repeated)} is repeated).",
            fields={"metrics": ["repeated"]},
        )
    if method not in DuelMethod.values:
        raise ApplicationError(
            f"Unknown method {method!r}; methods are {', '.join(DuelMethod.values)}.",
            fields={"method": ["unknown"]},
        )
    if method in (DuelMethod.SYNTHESIS, DuelMethod.BOTH):
        flat = [m for m in resolved if not _differentiable(m)]
        if flat:
            raise ApplicationError(
                f"MAD synthesis needs gradients: {', '.join(flat)} "
                f"{'is' if len(flat) == 1 else 'are'} not differentiable "
                "(choose method 'selection' or other metrics).",
                code="not_differentiable",
                fields={"metrics": [f"{m}: not differentiable" for m in flat]},
            )
    return resolved


def _distortions_check(distortions) -> list[dict]:
    import experiments

    if not isinstance(distortions, list | tuple) or not distortions:
        raise ApplicationError(
            "Choose at least one distortion family: the candidate pool would be empty.",
            code="empty_pool",
            fields={"distortions": ["none"]},
        )
    known = {info.name: info for info in experiments.list_distortions()}
    out = []
    for item in distortions:
        item = {"name": item} if isinstance(item, str) else dict(item)
        name = item.get("name")
        if name in known and known[name].model_kind:
            raise ApplicationError(
                f"Distortion {name!r} needs networks trained for the study; duel pools use "
                "distortions without models.",
                fields={"distortions": [f"{name}: needs trained models"]},
            )
        out.append(
            {
                "name": name,
                "severity_min": float(item.get("severity_min", 0.0)),
                "severity_max": float(item.get("severity_max", 1.0)),
            }
        )
    names = [d["name"] for d in out]
    if len(set(names)) != len(names):
        raise ApplicationError(
            "Each distortion family may be chosen once.", fields={"distortions": ["repeated"]}
        )
    return out


def _pool_check(*, duel: DuelStudy, study: Study) -> int:
    images = study.image_set.images.count() if study.image_set else 0
    families = study.distortion_specs.count()
    size = images * duel.patches_per_image * families * duel.severity_steps
    if images == 0:
        raise ApplicationError(
            "The image set has no images: the candidate pool would be empty.",
            code="empty_pool",
            fields={"image_set": ["empty"]},
        )
    if families == 0:
        raise ApplicationError(
            "Choose at least one distortion family: the candidate pool would be empty.",
            code="empty_pool",
            fields={"distortions": ["none"]},
        )
    if size > MAX_POOL:
        raise ApplicationError(
            f"The candidate pool would hold {size} candidates (at most {MAX_POOL}).",
            code="pool_too_large",
            fields={"severity_steps": ["too many"]},
        )
    return size


@transaction.atomic
def duel_study_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    image_set,
    metrics: list[str],
    distortions: list[dict],
    method: str = DuelMethod.SELECTION,
    slug: str | None = None,
    collaborators: Iterable[AbstractBaseUser] = (),
    **settings,
) -> DuelStudy:
    """Create a draft duel study: a 2AFC `Study` (generator "duel"), its distortion families
    (`studies.services.distortion_spec_add`) and the `DuelStudy`. Every check runs before the
    commit, so a bad input stores nothing."""
    unknown = sorted(set(settings) - set(DUEL_FIELDS) - set(STUDY_FIELDS))
    if unknown:
        raise ApplicationError(f"Unknown duel study fields: {unknown}")
    metric_names = duel_metrics_check(owner=owner, metrics=metrics, method=method)
    families = _distortions_check(distortions)
    if image_set is None:
        raise ApplicationError("Choose an image set.", fields={"image_set": ["required"]})
    study_settings = {k: v for k, v in settings.items() if k in STUDY_FIELDS}
    study = study_services.study_create(
        owner=owner,
        name=name,
        slug=slug,
        collaborators=collaborators,
        kind=Study.Kind.TWOAFC,
        image_set=image_set,
        **study_settings,
    )
    Study.objects.filter(pk=study.pk).update(generator=GENERATOR)
    study.generator = GENERATOR
    for family in families:
        study_services.distortion_spec_add(study=study, category="duel", **family)
    duel = DuelStudy(
        study=study,
        metrics=metric_names,
        method=method,
        **{k: v for k, v in settings.items() if k in DUEL_FIELDS},
    )
    duel.full_clean(exclude=["study"])
    _pool_check(duel=duel, study=study)
    duel.save()
    return duel


# ---------------------------------------------------------------------------------------------
# The generator the study lifecycle calls (studies.generators)
# ---------------------------------------------------------------------------------------------


def duel_generation_validate(study: Study) -> None:
    duel = DuelStudy.objects.filter(study=study).first()
    if duel is None:
        raise ApplicationError("This study has no duel design.", code="invalid_design")
    _pool_check(duel=duel, study=study)
    if len(duel.metrics) < 2:
        raise ApplicationError(
            "A duel needs at least two metrics.", fields={"metrics": ["too few"]}
        )


def duel_generation_enqueue(study_id: int) -> None:
    from common import jobs
    from studies.models import GeneratingStudy

    jobs.enqueue(
        "duels.tasks.duel_prepare",
        study_id,
        target=(GeneratingStudy, study_id),
        failed={"status": Study.Status.FAILED},
    )


def duel_generation_discard(study: Study) -> None:
    """Going back to draft (or deleting): forget the pool, its scores, chunks and pairs; the
    study's trials and stimuli are then deleted by `studies.generation.generation_discard`."""
    duel = DuelStudy.objects.filter(study=study).first()
    if duel is None:
        return
    DuelPair.objects.filter(duel=duel).delete()
    DuelPoolScore.objects.filter(duel=duel).delete()
    DuelChunk.objects.filter(duel=duel).delete()
    DuelStudy.objects.filter(pk=duel.pk).update(pool={}, assembled=False)
