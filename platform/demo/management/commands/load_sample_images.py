"""Load scikit-image's bundled colour photographs as an image set (no download needed)."""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from studies import services
from studies.models import ImageSet

# Colour photographs whose files ship inside the scikit-image wheel (no download).
SAMPLE_IMAGES = [
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "motorcycle_left",
    "motorcycle_right",
]


def _sample_array(name: str):
    from skimage import data as skdata

    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _disparity = skdata.stereo_motorcycle()
        return left if name == "motorcycle_left" else right
    return getattr(skdata, name)()


SAMPLE_SET_NAME = "scikit-image samples"


def load_sample_images(*, owner, name: str = SAMPLE_SET_NAME, stdout=None) -> ImageSet:
    """Create (or complete) the sample image set for `owner`; idempotent."""
    from PIL import Image

    with transaction.atomic():
        image_set = ImageSet.objects.filter(
            owner=owner, name=name
        ).first() or services.image_set_create(
            owner=owner,
            name=name,
            description="Colour photographs bundled with scikit-image (see skimage.data for sources and licences).",
        )
    for sample in SAMPLE_IMAGES:
        array = _sample_array(sample)
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        result = services.reference_images_upload(
            image_set=image_set,
            data=buffer.getvalue(),
            name=f"{sample}.png",
            source=f"scikit-image skimage.data.{sample}()",
            licence="see scikit-image data README (CC0/public domain or as listed)",
        )
        if stdout is not None:
            state = "added" if result.created else "already present"
            stdout.write(f"  {sample}: {state}")
    return image_set


class Command(BaseCommand):
    help = "Load scikit-image's bundled colour photographs into an image set owned by --owner."

    def add_arguments(self, parser):
        parser.add_argument(
            "--owner", required=True, help="username of the researcher who will own the set"
        )
        parser.add_argument("--name", default=SAMPLE_SET_NAME)

    def handle(self, *args, owner, name, **options):
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(
                f"No user named {owner!r}; create it first (e.g. manage.py createsuperuser)."
            )
        image_set = load_sample_images(owner=user, name=name, stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Image set {image_set.name!r} has {image_set.images.count()} images."
            )
        )
