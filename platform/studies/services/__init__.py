"""Writes of study design: image sets and images, studies and their status, distortion choices
and trial counts.

Every service is keyword-only and transactional: bad input raises a domain error
(`common.exceptions`) or Django's `ValidationError` before anything is written, or rolls the
transaction back. The API, the admin, tasks and management commands all call these.
"""

from .design import (
    SPEC_FIELDS,
    distortion_spec_add,
    distortion_spec_check,
    distortion_spec_remove,
    distortion_spec_update,
    trial_quota_check,
    trial_quota_remove,
    trial_quota_set,
)
from .image_sets import (
    IMAGE_SET_FIELDS,
    REFERENCE_IMAGE_FIELDS,
    UploadResult,
    image_set_create,
    image_set_delete,
    image_set_update,
    reference_image_delete,
    reference_image_update,
    reference_images_upload,
)
from .studies import (
    STUDY_DESIGN_FIELDS,
    STUDY_FROZEN_FIELDS,
    STUDY_SETTING_FIELDS,
    study_create,
    study_delete,
    study_generation_finish,
    study_generation_problem,
    study_generation_retry,
    study_transition,
    study_update,
)

__all__ = [
    "IMAGE_SET_FIELDS",
    "REFERENCE_IMAGE_FIELDS",
    "SPEC_FIELDS",
    "STUDY_DESIGN_FIELDS",
    "STUDY_FROZEN_FIELDS",
    "STUDY_SETTING_FIELDS",
    "UploadResult",
    "distortion_spec_add",
    "distortion_spec_check",
    "distortion_spec_remove",
    "distortion_spec_update",
    "image_set_create",
    "image_set_delete",
    "image_set_update",
    "reference_image_delete",
    "reference_image_update",
    "reference_images_upload",
    "study_create",
    "study_delete",
    "study_generation_finish",
    "study_generation_problem",
    "study_generation_retry",
    "study_transition",
    "study_update",
    "trial_quota_check",
    "trial_quota_remove",
    "trial_quota_set",
]
