"""The work of duel generation, run by `duels.tasks` on workers (never in the web process: this
module imports NumPy, `experiments` and, inside its functions, `metrics` and torch).

The candidate pool is a pure function of the frozen `DuelStudy.pool` (reference patches, and
one column per (family, severity, parameters)), so every chunk renders the same pixels; pool
scores are stored per metric (`DuelPoolScore`), chosen and synthesised pairs as `DuelPair`s with
their stimuli (content-addressed PNGs, as every study's), and trials are made once, by the last
chunk (`assemble`).
"""

from __future__ import annotations

import itertools

import numpy as np
from django.db import transaction

from common.exceptions import ApplicationError
from common.jobs import heartbeat
from studies import generation as study_generation
from studies.models import ReferenceImage, Stimulus, Study, Trial

from .models import DuelChunk, DuelMethod, DuelPair, DuelPoolScore, DuelStudy

SCORE_BATCH = 64
CATEGORY = "duel"


def _experiments():
    import experiments

    return experiments


# ---------------------------------------------------------------------------------------------
# The pool
# ---------------------------------------------------------------------------------------------


def freeze_pool(duel: DuelStudy) -> dict:
    """Draw the reference patches and the (family, severity, parameters) columns."""
    ex = _experiments()
    study = duel.study
    load = study_generation.image_loader(study)
    shas = sorted(
        ReferenceImage.objects.filter(image_set=study.image_set).values_list("sha256", flat=True)
    )
    refs = []
    for sha in shas:
        for record in ex.sample_patches(
            load(sha),
            image_sha256=sha,
            seed=study.seed,
            count=duel.patches_per_image,
            size=study.patch_size,
        ):
            refs.append(
                {
                    "image": sha,
                    "index": record.index,
                    "box": list(record.box),
                    "scale": record.scale,
                }
            )
    columns = []
    for f, spec in enumerate(study.distortion_specs.all().order_by("id")):
        distortion = ex.get_distortion(spec.name)
        grid = np.linspace(spec.severity_min, spec.severity_max, duel.severity_steps)
        for s, severity in enumerate(grid):
            rng = np.random.default_rng([study.seed, 7177, f, s])
            columns.append(
                {
                    "name": spec.name,
                    "severity": float(severity),
                    "params": distortion.sample_params(rng, float(severity)),
                }
            )
    return {"refs": refs, "columns": columns, "size": study.patch_size}


def _patch(study: Study, ref: dict, size: int) -> np.ndarray:
    ex = _experiments()
    image = study_generation.image_loader(study)(ref["image"])
    record = ex.sample_patch(
        image, image_sha256=ref["image"], seed=study.seed, index=ref["index"], size=size
    )
    return record.pixels


def _candidate(ref_pixels: np.ndarray, column: dict) -> np.ndarray:
    return _experiments().get_distortion(column["name"]).apply(ref_pixels, **column["params"])


def render_pool(duel: DuelStudy) -> tuple[np.ndarray, np.ndarray]:
    """References R×H×W×3 and candidates R×C×H×W×3, uint8."""
    pool, study = duel.pool, duel.study
    refs = np.stack([_patch(study, ref, pool["size"]) for ref in pool["refs"]])
    candidates = np.stack(
        [np.stack([_candidate(ref, col) for col in pool["columns"]]) for ref in refs]
    )
    return refs, candidates


def _to_metric_range(pixels: np.ndarray, input_range) -> np.ndarray:
    """uint8 …×H×W×3 → float32 …×3×H×W in the metric's input range."""
    low, high = (float(v) for v in input_range)
    x = pixels.astype(np.float32) / 255.0
    x = np.moveaxis(x, -1, -3)
    return np.ascontiguousarray(low + (high - low) * x)


def _from_metric_range(x, input_range) -> np.ndarray:
    """float 3×H×W (tensor or array) in the metric's range → uint8 H×W×3."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    while x.ndim > 3:
        x = x[0]
    low, high = (float(v) for v in input_range)
    unit = np.clip((x - low) / (high - low), 0.0, 1.0)
    return np.round(np.moveaxis(unit, 0, -1) * 255.0).astype(np.uint8)


def metric_options(name: str) -> dict:
    """Options a duel builds a registry metric with: the deployment's default trunk
    (PERCEPTLAB_DEFAULT_TRUNK) for the metrics that take `trunk_weights` (the LPIPS family), as
    score runs do; none otherwise (fitted and uploaded metrics carry their own)."""
    from django.conf import settings

    import metrics
    from metrics.refs import IMAGENET_TRUNK, MetricRef, trunk_option

    if not MetricRef.parse(name).is_registry:
        return {}
    info = metrics.get_metric_info(name)
    option = trunk_option(settings.PERCEPTLAB_DEFAULT_TRUNK)
    takes_trunk = any(o.name == "trunk_weights" for o in info.options)
    return {"trunk_weights": option} if takes_trunk and option != IMAGENET_TRUNK else {}


def _metric(name: str):
    import metrics

    metric = metrics.create_metric(name, **metric_options(name))
    metric.eval()
    return metric


# ---------------------------------------------------------------------------------------------
# Chunks
# ---------------------------------------------------------------------------------------------


def chunk_keys(duel: DuelStudy) -> list[str]:
    keys = []
    if duel.uses_selection:
        keys += [f"score:{i}" for i in range(len(duel.metrics))]
    if duel.uses_synthesis:
        keys += [f"synth:{i}:{j}" for i, j in itertools.permutations(range(len(duel.metrics)), 2)]
    return keys


def prepare(duel: DuelStudy) -> list[str]:
    """Freeze the pool and plan the chunks (idempotent: a retry keeps what is done)."""
    if not duel.pool:
        pool = freeze_pool(duel)
        if not pool["refs"] or len(pool["columns"]) < 2:
            raise ApplicationError(
                "The candidate pool is empty (no reference patches or fewer than two candidates "
                "per reference).",
                code="empty_pool",
            )
        DuelStudy.objects.filter(pk=duel.pk).update(pool=pool)
        duel.pool = pool
    keys = chunk_keys(duel)
    for key in keys:
        DuelChunk.objects.get_or_create(duel=duel, key=key)
    return [c.key for c in DuelChunk.objects.filter(duel=duel, done=False).order_by("id")]


def run_chunk(duel: DuelStudy, key: str) -> None:
    chunk = DuelChunk.objects.filter(duel=duel, key=key).first()
    if chunk is None or chunk.done:
        return
    kind, *indices = key.split(":")
    if kind == "score":
        _score(duel, duel.metrics[int(indices[0])])
    elif kind == "synth":
        _synthesise(duel, int(indices[0]), int(indices[1]))
    else:  # pragma: no cover - keys come from chunk_keys
        raise ApplicationError(f"Unknown duel chunk {key!r}.")
    DuelChunk.objects.filter(pk=chunk.pk).update(done=True)


def _score(duel: DuelStudy, name: str) -> None:
    import torch

    from metrics.duels import score_pool

    refs, candidates = render_pool(duel)
    heartbeat()
    metric = _metric(name)
    with torch.no_grad():
        distances = score_pool(
            metric,
            torch.from_numpy(_to_metric_range(refs, metric.info.input_range)),
            torch.from_numpy(_to_metric_range(candidates, metric.info.input_range)),
            batch_size=SCORE_BATCH,
        )
    heartbeat()
    values = np.asarray(distances, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        raise ApplicationError(f"{name} gave no finite distance on the candidate pool.")
    # A non-finite distance (PSNR of an undistorted candidate) marks a candidate selection
    # cannot use: stored as null, read back as NaN.
    rows = [
        [float(v) if ok else None for v, ok in zip(row, oks, strict=False)]
        for row, oks in zip(values, finite, strict=False)
    ]
    DuelPoolScore.objects.update_or_create(duel=duel, metric=name, defaults={"values": rows})


def _provenance_of_candidate(duel: DuelStudy, r: int, c: int | None) -> dict:
    ex = _experiments()
    ref = duel.pool["refs"][r]
    chain = []
    if c is not None:
        col = duel.pool["columns"][c]
        chain = [{"name": col["name"], "params": col["params"], "severity": col["severity"]}]
    return ex.make_provenance(
        source_sha256=ref["image"],
        box=ref["box"],
        scale=ref["scale"],
        size=duel.pool["size"],
        chain=chain,
        seed=duel.study.seed,
        patch_index=ref["index"],
    )


def _store(study: Study, pixels: np.ndarray, provenance: dict, cache: dict) -> Stimulus:
    ex = _experiments()
    return study_generation.store_stimulus(
        study, ex.Stimulus(pixels=pixels, provenance=provenance, label=""), cache
    )


def _sides(duel: DuelStudy, key: tuple) -> bool:
    """Whether the attacker's preferred image goes to p1 (a seeded coin per pair)."""
    rng = np.random.default_rng([duel.study.seed, 4099, *key])
    return bool(rng.random() < 0.5)


def _synthesise(duel: DuelStudy, fixed: int, moved: int) -> None:
    """MAD pairs of one ordered pair, in one batched search: for each level and pair, a pool
    candidate of the level's severity (families and references in turn) is the start image; the
    fixed metric is held within the tolerance (a fraction of its value at the start) while the
    moved one is pushed to its max and to its min."""
    import torch

    from metrics.duels import synthesize_mad_pairs

    study = duel.study
    fixed_name, moved_name = duel.metrics[fixed], duel.metrics[moved]
    pool = duel.pool
    n_refs, families = len(pool["refs"]), sorted({c["name"] for c in pool["columns"]})
    by_family = {f: [i for i, c in enumerate(pool["columns"]) if c["name"] == f] for f in families}
    plan = []  # (level, k, ref index, column index)
    for level in range(duel.levels):
        for k in range(duel.pairs_per_level):
            n = level * duel.pairs_per_level + k
            column_ids = by_family[families[n % len(families)]]
            c = column_ids[
                min(int((level + 0.5) / duel.levels * len(column_ids)), len(column_ids) - 1)
            ]
            plan.append((level, k, n % n_refs, c))
    refs = {r: _patch(study, pool["refs"][r], pool["size"]) for r in {p[2] for p in plan}}
    starts = [_candidate(refs[r], pool["columns"][c]) for _, _, r, c in plan]
    heartbeat()
    results = synthesize_mad_pairs(
        _metric(fixed_name),
        _metric(moved_name),
        torch.from_numpy(_to_metric_range(np.stack([refs[p[2]] for p in plan]), (0.0, 1.0))),
        torch.from_numpy(_to_metric_range(np.stack(starts), (0.0, 1.0))),
        tolerance=duel.tolerance,
        steps=duel.synthesis_steps,
        seed=(study.seed + 1009 * fixed + 7 * moved) % (2**31),
    )
    heartbeat()
    with transaction.atomic():
        # A re-run chunk starts over (its stimuli are content-addressed: the same rows).
        DuelPair.objects.filter(
            duel=duel, method=DuelMethod.SYNTHESIS, defender=fixed_name, attacker=moved_name
        ).delete()
        cache: dict = {}
        for (level, k, r, c), result in zip(plan, results, strict=True):
            x_max = _from_metric_range(result.x_max, (0.0, 1.0))
            x_min = _from_metric_range(result.x_min, (0.0, 1.0))
            base = _provenance_of_candidate(duel, r, c)
            ref = _store(study, refs[r], _provenance_of_candidate(duel, r, None), cache)
            made = {}
            for label, pixels in (("max", x_max), ("min", x_min)):
                provenance = {
                    **base,
                    "duel": {
                        "method": "mad",
                        "fixed": fixed_name,
                        "moved": moved_name,
                        "towards": label,
                        "tolerance": duel.tolerance,
                        "steps": duel.synthesis_steps,
                    },
                }
                made[label] = _store(study, pixels, provenance, cache)
            # The attacker (the moved metric) rates x_min closer to the reference.
            flip = _sides(duel, (fixed, moved, level, k))
            p0, p1 = (made["max"], made["min"]) if flip else (made["min"], made["max"])
            fixed_scores = [result.fixed[2], result.fixed[1]]  # (at x_min, at x_max)
            moved_scores = [result.moved[2], result.moved[1]]
            if flip:
                fixed_scores, moved_scores = fixed_scores[::-1], moved_scores[::-1]
            DuelPair.objects.create(
                duel=duel,
                method=DuelMethod.SYNTHESIS,
                defender=fixed_name,
                attacker=moved_name,
                level=level,
                ref=ref,
                p0=p0,
                p1=p1,
                attacker_prefers="p1" if flip else "p0",
                defender_scores=[float(v) for v in fixed_scores],
                attacker_scores=[float(v) for v in moved_scores],
                info={
                    "start": {
                        "name": pool["columns"][c]["name"],
                        "severity": pool["columns"][c]["severity"],
                    },
                    "fixed": [float(v) for v in result.fixed],
                    "moved": [float(v) for v in result.moved],
                    "steps_run": int(result.steps_run),
                    "reference": pool["refs"][r]["image"],
                },
            )


# ---------------------------------------------------------------------------------------------
# Assembling: selection, trials, sentinels and practice
# ---------------------------------------------------------------------------------------------


def _select(duel: DuelStudy) -> None:
    from metrics.duels import select_gmad_pairs

    study = duel.study
    DuelPair.objects.filter(duel=duel, method=DuelMethod.SELECTION).delete()
    scores = {
        s.metric: np.array(
            [[np.nan if v is None else v for v in row] for row in s.values], dtype=np.float64
        )
        for s in DuelPoolScore.objects.filter(duel=duel)
    }
    missing = [m for m in duel.metrics if m not in scores]
    if missing:
        raise ApplicationError(f"Pool scores missing for {', '.join(missing)}.")
    pixels: dict[tuple[int, int | None], np.ndarray] = {}

    def image(r: int, c: int | None) -> np.ndarray:
        if (r, None) not in pixels:
            pixels[(r, None)] = _patch(study, duel.pool["refs"][r], duel.pool["size"])
        if c is not None and (r, c) not in pixels:
            pixels[(r, c)] = _candidate(pixels[(r, None)], duel.pool["columns"][c])
        return pixels[(r, c)]

    cache: dict = {}
    for d, a in itertools.permutations(range(len(duel.metrics)), 2):
        heartbeat()
        defender, attacker = duel.metrics[d], duel.metrics[a]
        try:
            chosen = select_gmad_pairs(
                scores[defender],
                scores[attacker],
                levels=duel.levels,
                pairs_per_level=duel.pairs_per_level,
                tolerance=duel.tolerance,
                allow_fewer=True,
            )
        except ValueError as exc:
            raise ApplicationError(
                f"gMAD selection, {attacker} attacking {defender}: {exc}.", code="no_pairs"
            ) from None
        for k, pair in enumerate(chosen):
            r, i0, i1 = int(pair.ref_index), int(pair.i0), int(pair.i1)
            ref = _store(study, image(r, None), _provenance_of_candidate(duel, r, None), cache)
            near = _store(study, image(r, i0), _provenance_of_candidate(duel, r, i0), cache)
            far = _store(study, image(r, i1), _provenance_of_candidate(duel, r, i1), cache)
            flip = _sides(duel, (d, a, int(pair.level), k))
            p0, p1 = (far, near) if flip else (near, far)
            d_scores, a_scores = list(pair.defender), list(pair.attacker)
            if flip:
                d_scores, a_scores = d_scores[::-1], a_scores[::-1]
            DuelPair.objects.create(
                duel=duel,
                method=DuelMethod.SELECTION,
                defender=defender,
                attacker=attacker,
                level=int(pair.level),
                ref=ref,
                p0=p0,
                p1=p1,
                attacker_prefers="p1" if flip else "p0",
                defender_scores=[float(v) for v in d_scores],
                attacker_scores=[float(v) for v in a_scores],
                info={
                    "candidates": [
                        {k2: duel.pool["columns"][c][k2] for k2 in ("name", "severity")}
                        for c in ((i1, i0) if flip else (i0, i1))
                    ],
                    "reference": duel.pool["refs"][r]["image"],
                },
            )


def assemble(duel: DuelStudy) -> list[tuple[int, int]]:
    """Select the gMAD pairs, make one regular trial per pair (indices 0 … n-1), and plan the
    study's sentinels and practice; returns the standard chunks to run for those."""
    study = duel.study
    with transaction.atomic():
        if duel.uses_selection:
            _select(duel)
        pairs = list(DuelPair.objects.filter(duel=duel).order_by("method", "id"))
        if not pairs:
            raise ApplicationError(
                "No pair met the tolerance: widen the tolerance or the severity ranges, or add "
                "images.",
                code="no_pairs",
            )
        Trial.objects.filter(study=study).delete()
        for index, pair in enumerate(pairs):
            trial = Trial.objects.create(
                study=study,
                kind="2afc",
                split="val",
                category=CATEGORY,
                index=index,
                ref=pair.ref,
                p0=pair.p0,
                p1=pair.p1,
                judgments_needed=study.judgments_val,
            )
            DuelPair.objects.filter(pk=pair.pk).update(trial=trial)
        designs = study_generation.sentinel_design(study, regular=len(pairs))
        blocks = study_generation.plan_blocks(designs)
        planned = len(pairs) + sum(b.total - b.practice_from for b in blocks)
        Study.objects.filter(pk=study.pk).update(
            design=designs, generation_total=planned, generation_done=len(pairs)
        )
        DuelStudy.objects.filter(pk=duel.pk).update(assembled=True)
    return study_generation.chunks(blocks)
