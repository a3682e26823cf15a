"""Prepare the demo: a researcher account, the sample image set and a draft demo study.

Idempotent: running it again keeps what exists. The researcher's password is generated once and
kept in var/demo_credentials so the printed login stays valid across runs.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from studies import services
from studies.management.commands.load_sample_images import load_sample_images
from studies.models import Study

DEMO_USERNAME = "researcher"
DEMO_STUDY_SLUG = "demo-study"


def _demo_password() -> str:
    path = settings.VAR_DIR / "demo_credentials"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


class Command(BaseCommand):
    help = "Create the demo researcher, load the sample images and create a draft demo study."

    def handle(self, *args, **options):
        password = _demo_password()
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = user_model.objects.create_user(DEMO_USERNAME, password=password, is_staff=True,
                                                  email="researcher@example.org")
        else:
            user.set_password(password)
            user.is_staff, user.is_active = True, True
            user.save()
        self.stdout.write("Loading the sample image set…")
        image_set = load_sample_images(owner=user, stdout=self.stdout)
        study = Study.objects.filter(slug=DEMO_STUDY_SLUG).first()
        if study is None:
            study = services.study_create(
                owner=user, name="Demo study", slug=DEMO_STUDY_SLUG, kind=Study.Kind.BOTH, image_set=image_set,
                seed=2018, instructions=(
                    "## Which patch is closer?\n\nYou will see a **reference** patch in the middle and two "
                    "distorted versions left and right. Choose the one that looks *closer to the reference*."),
            )
        self.stdout.write(self.style.SUCCESS(
            f"\nDemo ready.\n  Admin:    {settings.SITE_URL}/admin/\n  Login:    {DEMO_USERNAME} / {password}\n"
            f"  Study:    {study.name} ({study.status}) with {image_set.images.count()} sample images\n"
            f"  API docs: {settings.SITE_URL}/api/docs/\n"))
