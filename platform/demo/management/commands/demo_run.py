"""The demo's pipeline, run against the live platform: generate the demo study on the worker,
go live, let simulated participants take part through the HTTP interface, freeze a dataset, fit
LPIPS-lin on the worker, score the baselines, the fitted metric and the rows of the paper's Table 5
that need no downloaded weights, then generate the demo duel (L2 vs SSIM vs PSNR, docs/duels.md)
and let bots that judge by L2 answer it, and print the leaderboard's URLs (all metrics, and its
"Table 5" preset) and the duel results URL.

Every heavy step runs in the Celery worker; this command only enqueues and waits (with progress
bars), so it never imports torch. Running it again continues where the demo stands.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metrics.refs import trunk_option
from studies.models import Study

DEMO_SLUG = "demo-study"
DUEL_SLUG = "demo-duel"
DUEL_BOTS = 20  # more than the duel needs: the last ones find it full
DUEL_BOT_SEED = 17


def log_mse(a, b) -> float:
    """The duel bots' judgment: L2 as log MSE (so their noise is relative, Weber-like)."""
    import math

    from experiments.observers import mse

    return math.log(mse(a, b) + 1e-6)


def _wait(label: str, total_fn, done_fn, finished_fn, *, timeout: float = 1800, poll: float = 1.0):
    start = time.monotonic()
    with tqdm(total=max(total_fn(), 1), desc=label, unit="step", leave=True) as bar:
        while True:
            bar.total = max(total_fn(), 1)
            bar.n = min(done_fn(), bar.total)
            bar.refresh()
            result = finished_fn()
            if result:
                bar.n = bar.total
                bar.refresh()
                return result
            if time.monotonic() - start > timeout:
                raise CommandError(
                    f"{label}: gave up after {timeout:.0f} s (is the Celery worker running? "
                    "see var/log/worker.log)"
                )
            time.sleep(poll)


def table5_rows(*, random_trunk: bool, display_scale: int) -> list[tuple[str, dict]]:
    """Further score runs for the leaderboard's "Table 5" preset: the paper's low-level rows as
    the official baselines compute them, ColorVideoVDP when its extra is installed (checked
    without importing it), the random (Gaussian) AlexNet, and the supervised nets with uniform
    weights (on a random trunk when the deployment has no ImageNet weights; the preset says so)."""
    import importlib.util

    rows = [
        ("l2-lab", {}),
        ("ssim", {"preset": "lpips-baseline"}),
        ("fsimc", {}),
        ("lpips-alex", {"variant": "baseline", "trunk_weights": None}),
    ]
    if importlib.util.find_spec("pycvvdp") is not None:
        rows.append(("cvvdp", {"display_scale": display_scale}))  # the study's
    if not random_trunk:
        rows += [(f"lpips-{net}", {"variant": "baseline"}) for net in ("squeeze", "alex", "vgg")]
    return rows


class Command(BaseCommand):
    help = "Run the demo pipeline (generate, collect with bots, freeze, fit, score) against the running platform."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.SITE_URL)
        # 8 bots: the first six take 2AFC assignments (more open slots), the seventh a JND one, so the
        # leaderboard has both kinds; room is left for people who open the worker link.
        parser.add_argument(
            "--bots", type=int, default=8, help="simulated participants (15%% careless)"
        )

    def handle(self, *args, base_url: str, bots: int, **options):
        study = Study.objects.filter(slug=DEMO_SLUG).first()
        if study is None:
            raise CommandError("No demo study: run `manage.py demo_setup` first.")
        self._generate(study)
        self._go_live(study)
        self._collect(study, base_url, bots)
        dataset = self._freeze(study)
        fit = self._fit(dataset)
        self._score(dataset, fit)
        duel = self._duel(base_url)
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo pipeline finished.\n"
                f"  Leaderboard:  {base_url}/leaderboards/{dataset.pk}/\n"
                f"  Table 5:      {base_url}/leaderboards/{dataset.pk}/?preset=table5\n"
                + (f"  Duel results: {base_url}/duels/{duel.pk}/results/\n" if duel else "")
                + f"  Worker link:  {base_url}/s/{study.slug}/   (open it in a browser to take part)\n"
                f"  Progress:     {base_url}/admin/crowd/studycollection/{study.pk}/progress/\n"
            )
        )

    def _duel(self, base_url: str) -> Study | None:
        """The demo duel (L2 vs SSIM vs PSNR): generate on the worker, go live, and let bots that
        judge by L2 (log MSE plus noise) answer it through the HTTP interface."""
        from experiments.observers import fill_study, summarise

        duel = Study.objects.filter(slug=DUEL_SLUG).first()
        if duel is None:
            self.stdout.write("  No demo duel (run `manage.py demo_setup` again to create it).")
            return None
        self._generate(duel)
        self._go_live(duel)
        if duel.participants.filter(external_id__startswith="bot-").exists():
            return duel
        with tqdm(
            total=DUEL_BOTS, desc="Duel: simulated participants (HTTP)", unit="participant"
        ) as bar:
            results = fill_study(
                base_url,
                duel.slug,
                participants=DUEL_BOTS,
                careless_share=0.0,
                seed=DUEL_BOT_SEED,
                concurrency=2,
                observer_kwargs={"metric": log_mse, "noise": 0.25, "lapse": 0.02},
                progress=lambda _r: bar.update(1),
            )
        summary = summarise(results)
        self.stdout.write(f"  Duel: {summary['completed']} completed, {summary['answers']} answers")
        return duel

    def _generate(self, study: Study) -> None:
        from studies import services

        if study.status == Study.Status.DRAFT:
            services.study_transition(study=study, to=Study.Status.GENERATING, note="demo")
        elif study.status == Study.Status.FAILED:  # a rerun retries a failed generation
            services.study_generation_retry(study=study)
        if (
            study.status == Study.Status.GENERATING
            or Study.objects.get(pk=study.pk).status == Study.Status.GENERATING
        ):

            def finished():
                current = Study.objects.get(pk=study.pk)
                if current.status == Study.Status.FAILED:
                    raise CommandError(f"Generation failed: {current.error}")
                return current.status != Study.Status.GENERATING

            _wait(
                "Generating stimuli (worker, queue stimuli)",
                lambda: Study.objects.get(pk=study.pk).generation_total,
                lambda: Study.objects.get(pk=study.pk).generation_done,
                finished,
            )
        study.refresh_from_db()

    def _go_live(self, study: Study) -> None:
        from studies import services

        if study.status in (Study.Status.READY, Study.Status.CLOSED):
            services.study_transition(study=study, to=Study.Status.LIVE, note="demo")
            study.refresh_from_db()

    def _collect(self, study: Study, base_url: str, bots: int) -> None:
        from crowd.models import Participant
        from experiments.observers import fill_study, summarise

        already = Participant.objects.filter(
            study=study, recruiter="prolific", external_id__startswith="bot-"
        ).count()
        if already >= bots:
            return
        with tqdm(
            total=bots - already, desc="Simulated participants (HTTP)", unit="participant"
        ) as bar:
            results = fill_study(
                base_url,
                study.slug,
                participants=bots - already,
                careless_share=0.15,
                seed=already + 1,
                concurrency=2,
                progress=lambda _r: bar.update(1),
            )
        summary = summarise(results)
        self.stdout.write(
            f"  {summary['completed']} completed, {summary['failed_qc']} failed QC, "
            f"{summary['answers']} answers"
        )

    def _freeze(self, study: Study):
        from analysis.datasets import dataset_freeze
        from analysis.models import Dataset

        existing = Dataset.objects.filter(study=study, status="ready").order_by("-version").first()
        if existing is not None:
            return existing
        dataset = dataset_freeze(study=study, by=study.owner, name="Demo dataset")
        self.stdout.write(f"  Froze {dataset} with {dataset.items.count()} items")
        return dataset

    def _fit(self, dataset):
        from analysis import services
        from analysis.models import FitRun

        fit = (
            FitRun.objects.filter(dataset=dataset)
            .exclude(status__in=["failed", "cancelled"])
            .first()
        )
        if fit is None:
            fit = services.fit_run_create(
                dataset=dataset, by=dataset.owner, trunk_weights=settings.PERCEPTLAB_DEFAULT_TRUNK
            )

        def finished():
            fit.refresh_from_db()
            if fit.status == "failed":
                raise CommandError(f"Fit failed: {fit.error}")
            return fit.status == "done"

        _wait(
            "Fitting LPIPS alex-lin (worker, queue gpu)",
            lambda: fit.epochs + fit.epochs_decay,
            lambda: len(fit.history),
            finished,
        )
        self.stdout.write(f"  Fit {fit.pk}: validation 2AFC {fit.result.get('val_2afc')}")
        return fit

    def _score(self, dataset, fit) -> None:
        from analysis import services
        from analysis.models import ScoreRun

        random_trunk = trunk_option(settings.PERCEPTLAB_DEFAULT_TRUNK) is None
        wanted = []
        for metric in [*settings.PERCEPTLAB_BASELINE_METRICS, fit.metric_name]:
            random = metric.startswith("lpips-") and random_trunk
            wanted.append((metric, {"trunk_weights": None} if random else {}))
        wanted += table5_rows(random_trunk=random_trunk, display_scale=dataset.study.display_scale)
        runs = []
        for metric, options in wanted:
            run = next(
                (
                    r
                    for r in ScoreRun.objects.filter(dataset=dataset, metric=metric)
                    .exclude(status="failed")
                    .order_by("pk")
                    if r.options == options
                ),
                None,
            )
            if run is None:
                run = services.score_run_create(
                    dataset=dataset, metric=metric, by=dataset.owner, options=options
                )
            runs.append(run)

        def done_count():
            return ScoreRun.objects.filter(
                pk__in=[r.pk for r in runs], status__in=["done", "failed"]
            ).count()

        _wait(
            "Scoring metrics (worker, queue gpu)",
            lambda: len(runs),
            done_count,
            lambda: done_count() == len(runs),
        )
        for run in ScoreRun.objects.filter(pk__in=[r.pk for r in runs]):
            if run.status == "failed":
                self.stdout.write(self.style.WARNING(f"  {run.metric}: failed: {run.error[:200]}"))
