"""Benchmark: generating a duel study on the workers (issue #17's target: 6 metrics × 3 levels ×
10 pairs in under 10 minutes on 2 CPU cores).

Run it against a running platform: a Celery worker listening on the `stimuli` queue (for the
figure in docs/performance.md: one worker, `--concurrency 2`, on a 2-core machine) and the same
DATABASE_URL / REDIS_URL in this process::

    .venv/bin/python benchmarks/bench_duel_study.py                 # the issue's study, a few minutes
    .venv/bin/python benchmarks/bench_duel_study.py --quick         # 3 metrics, a smoke run

It creates a researcher (`bench-duels`), the sample image set, and a new duel study of the chosen
metrics (gMAD selection; the sample images, 2 patches each, 4 families × 48 severities: 3,456
candidates), moves it to generating, and waits until it is ready. It prints the wall time from
the request to `ready`, and per job kind (pool preparation, each metric's pool scoring, the
assembly with selection and trials, the sentinel/practice chunks) the time each took on the
worker, from the jobs' `started_at`/`finished_at`. Exit status 1 when generation fails or takes
longer than `--target` seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

METRICS = ["l2", "ssim", "psnr", "ms-ssim", "gmsd", "lpips-alex"]
QUICK = ["l2", "ssim", "psnr"]
FAMILIES = ("gaussian_blur", "gaussian_white_noise", "lightness_shift", "jpeg")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 metrics instead of 6")
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=10, help="pairs per ordered duel and level")
    parser.add_argument("--severity-steps", type=int, default=48)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--target", type=float, default=600.0, help="seconds")
    args = parser.parse_args()

    from config import local_state

    local_state.prepare()
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from common.models import Job
    from demo.management.commands.load_sample_images import load_sample_images
    from duels.models import DuelPair
    from duels.services import duel_study_create
    from studies import services as study_services
    from studies.models import Study

    user = get_user_model().objects.filter(username="bench-duels").first()
    if user is None:
        user = get_user_model().objects.create_user("bench-duels", is_staff=True)
    image_set = load_sample_images(owner=user)
    metrics = QUICK if args.quick else METRICS
    duel = duel_study_create(
        owner=user,
        name=f"bench duels {time.strftime('%Y-%m-%d %H:%M:%S')}",
        image_set=image_set,
        metrics=metrics,
        distortions=[{"name": name, "severity_min": 0.1, "severity_max": 1.0} for name in FAMILIES],
        method="selection",
        levels=args.levels,
        pairs_per_level=args.pairs,
        tolerance=args.tolerance,
        severity_steps=args.severity_steps,
        patches_per_image=2,
        patch_size=64,
        seed=2018,
    )
    study = duel.study
    candidates = image_set.images.count() * 2 * len(FAMILIES) * args.severity_steps
    print(
        f"{len(metrics)} metrics ({', '.join(metrics)}), {args.levels} levels × {args.pairs} "
        f"pairs, {candidates} candidates; study {study.pk}"
    )
    start = time.monotonic()
    study_services.study_transition(study=study, to=Study.Status.GENERATING)
    while True:
        study.refresh_from_db()
        if study.status != Study.Status.GENERATING:
            break
        time.sleep(1.0)
    wall = time.monotonic() - start
    if study.status != Study.Status.READY:
        print(f"generation {study.status}: {study.error}")
        return 1
    pairs = DuelPair.objects.filter(duel=duel, trial__isnull=False).count()
    print(f"ready in {wall:.1f} s: {pairs} duel trials, {study.generation_total} trials in all")
    jobs = Job.objects.filter(
        target__endswith="GeneratingStudy", target_id=study.pk, started_at__isnull=False
    )
    by_kind: dict[str, list[float]] = defaultdict(list)
    for job in jobs:
        if job.finished_at is None:
            continue
        kind = job.task.rsplit(".", 1)[-1]
        if kind == "duel_chunk" and job.args[1].startswith("score:"):
            kind = f"duel_chunk {duel.metrics[int(job.args[1].split(':')[1])]}"
        by_kind[kind].append((job.finished_at - job.started_at).total_seconds())
    for kind, seconds in sorted(by_kind.items()):
        print(f"  {kind:28s} {len(seconds):3d} job(s), {sum(seconds):7.1f} s in all")
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0 if wall <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
