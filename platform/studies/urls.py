from django.urls import path

from . import apis

urlpatterns = [
    path("image-sets/", apis.ImageSetListApi.as_view(), name="image-set-list"),
    path("image-sets/create/", apis.ImageSetCreateApi.as_view(), name="image-set-create"),
    path("image-sets/<int:pk>/", apis.ImageSetDetailApi.as_view(), name="image-set-detail"),
    path("image-sets/<int:pk>/update/", apis.ImageSetUpdateApi.as_view(), name="image-set-update"),
    path("image-sets/<int:pk>/delete/", apis.ImageSetDeleteApi.as_view(), name="image-set-delete"),
    path("image-sets/<int:pk>/images/", apis.ReferenceImageListApi.as_view(), name="image-list"),
    path(
        "image-sets/<int:pk>/images/upload/",
        apis.ReferenceImageUploadApi.as_view(),
        name="image-upload",
    ),
    path("images/<int:pk>/", apis.ReferenceImageDetailApi.as_view(), name="image-detail"),
    path("images/<int:pk>/update/", apis.ReferenceImageUpdateApi.as_view(), name="image-update"),
    path("images/<int:pk>/delete/", apis.ReferenceImageDeleteApi.as_view(), name="image-delete"),
    path(
        "images/<int:pk>/file/",
        apis.ReferenceImageFileApi.as_view(),
        {"variant": "file"},
        name="image-file",
    ),
    path(
        "images/<int:pk>/thumbnail/",
        apis.ReferenceImageFileApi.as_view(),
        {"variant": "thumbnail"},
        name="image-thumbnail",
    ),
    path("stimuli/<int:pk>/file/", apis.StimulusFileApi.as_view(), name="stimulus-file"),
    path("distortions/", apis.DistortionRegistryApi.as_view(), name="distortion-registry"),
    path(
        "studies/<int:pk>/distortions/",
        apis.StudyDistortionsApi.as_view(),
        name="study-distortions",
    ),
    path(
        "studies/<int:pk>/distortions/<int:spec_pk>/update/",
        apis.DistortionSpecUpdateApi.as_view(),
        name="study-distortion-update",
    ),
    path(
        "studies/<int:pk>/distortions/<int:spec_pk>/delete/",
        apis.DistortionSpecRemoveApi.as_view(),
        name="study-distortion-remove",
    ),
    path("studies/<int:pk>/quotas/", apis.StudyQuotasApi.as_view(), name="study-quotas"),
    path(
        "studies/<int:pk>/quotas/<int:quota_pk>/delete/",
        apis.TrialQuotaRemoveApi.as_view(),
        name="study-quota-remove",
    ),
    path("studies/", apis.StudyListApi.as_view(), name="study-list"),
    path("studies/create/", apis.StudyCreateApi.as_view(), name="study-create"),
    path("studies/<int:pk>/", apis.StudyDetailApi.as_view(), name="study-detail"),
    path("studies/<int:pk>/update/", apis.StudyUpdateApi.as_view(), name="study-update"),
    path("studies/<int:pk>/delete/", apis.StudyDeleteApi.as_view(), name="study-delete"),
    path(
        "studies/<int:pk>/transition/", apis.StudyTransitionApi.as_view(), name="study-transition"
    ),
    path(
        "studies/<int:pk>/generation/retry/",
        apis.StudyGenerationRetryApi.as_view(),
        name="study-generation-retry",
    ),
]
