"""Prepare the demo: a researcher account, the sample image set and a draft demo study.

Idempotent: running it again keeps what exists. The researcher's password is generated once and
kept in var/demo_credentials so the printed login stays valid across runs.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.management.commands.load_sample_images import load_sample_images
from studies import services
from studies.models import Study

DEMO_USERNAME = "researcher"
DEMO_STUDY_SLUG = "demo-study"
DEMO_DUEL_SLUG = "demo-duel"
# The demo duel (docs/duels.md): L2, SSIM and PSNR, gMAD selection from a pool of every sample
# image's patches × four families × 48 severities (3,456 candidates); answered by bots that
# judge by L2.
DEMO_DUEL = {
    "metrics": ["l2", "ssim", "psnr"],
    "distortions": [
        {"name": name, "severity_min": 0.1, "severity_max": 1.0}
        for name in ("gaussian_blur", "gaussian_white_noise", "lightness_shift", "jpeg")
    ],
    "method": "selection",
    "levels": 3,
    "pairs_per_level": 3,
    "tolerance": 0.01,
    "severity_steps": 48,
    "patches_per_image": 2,
    "seed": 2018,
    "patch_size": 64,
    "judgments_val": 3,
    "assignment_size": 40,
    "sentinel_rate": 0.1,
    "instructions": (
        "## Which patch is closer?\n\nYou see a *reference* patch in the middle and two versions "
        "left and right: choose the one closer to the reference (click, or press ← / →)."
    ),
}


def _demo_password() -> str:
    path = settings.VAR_DIR / "demo_credentials"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


# The demo design: the paper's traditional distortions and CNN autoencoders, a 2AFC train split
# (for fitting), 2AFC and JND val splits. Small enough to generate and fill in a minute or two.
DEMO_DISTORTIONS = {
    "traditional": [
        "lightness_shift",
        "color_shift",
        "contrast",
        "saturation",
        "uniform_white_noise",
        "gaussian_white_noise",
        "pink_noise",
        "blue_noise",
        "gaussian_colored_noise",
        "checkerboard",
        "gaussian_blur",
        "bilateral_filter",
        "shift",
        "affine_warp",
        "homography",
        "linear_warping",
        "cubic_warping",
        "ghosting",
        "chromatic_aberration",
        "jpeg",
        "composed",
    ],
    "cnn": ["cnn_autoencoder"],
}
DEMO_QUOTAS = [
    ("2afc", "train", "traditional", 60),
    ("2afc", "train", "cnn", 20),
    ("2afc", "val", "traditional", 24),
    ("2afc", "val", "cnn", 12),
    ("jnd", "val", "traditional", 30),
]


class Command(BaseCommand):
    help = "Create the demo researcher, load the sample images and create a draft demo study."

    def _create_study(self, user, image_set):
        study = services.study_create(
            owner=user,
            name="Demo study",
            slug=DEMO_STUDY_SLUG,
            kind=Study.Kind.BOTH,
            image_set=image_set,
            # 60 trials with 15 sentinels: the paper's "pass at least 14 of 15" rule.
            seed=2018,
            assignment_size=60,
            sentinel_rate=0.25,
            jnd_identical_share=0.2,
            break_every=20,
            completion_url="",
            instructions=(
                "## Which patch is closer?\n\nIn **2AFC** trials you see a *reference* patch in the middle and two "
                "distorted versions left and right: choose the one closer to the reference (click, or press ← / →)."
                "\n\nIn **JND** trials two patches flash one after the other: say whether they were the *same* or "
                "*different*."
            ),
        )
        for category, names in DEMO_DISTORTIONS.items():
            for name in names:
                services.distortion_spec_add(study=study, name=name, category=category)
        for kind, split, category, count in DEMO_QUOTAS:
            services.trial_quota_set(
                study=study, kind=kind, split=split, category=category, count=count
            )
        return study

    def handle(self, *args, **options):
        password = _demo_password()
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = user_model.objects.create_user(
                DEMO_USERNAME, password=password, is_staff=True, email="researcher@example.org"
            )
        else:
            user.set_password(password)
            user.is_staff, user.is_active = True, True
            user.save()
        self.stdout.write("Loading the sample image set…")
        image_set = load_sample_images(owner=user, stdout=self.stdout)
        study = Study.objects.filter(slug=DEMO_STUDY_SLUG).first()
        if study is None:
            study = self._create_study(user, image_set)
        duel = Study.objects.filter(slug=DEMO_DUEL_SLUG).first()
        if duel is None:
            from duels.services import duel_study_create

            duel = duel_study_create(
                owner=user,
                name="Demo duel: L2 vs SSIM vs PSNR",
                slug=DEMO_DUEL_SLUG,
                image_set=image_set,
                **DEMO_DUEL,
            ).study
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo ready.\n  Admin:    {settings.SITE_URL}/admin/\n  Login:    {DEMO_USERNAME} / {password}\n"
                f"  Study:    {study.name} ({study.status}) with {image_set.images.count()} sample images\n"
                f"  Duel:     {duel.name} ({duel.status})\n"
                f"  API docs: {settings.SITE_URL}/api/docs/\n"
            )
        )
