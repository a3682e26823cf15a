from django.urls import path

from . import apis

urlpatterns = [
    path("datasets/", apis.DatasetListApi.as_view(), name="dataset-list"),
    path("datasets/freeze/", apis.DatasetFreezeApi.as_view(), name="dataset-freeze"),
    path("datasets/import/", apis.DatasetImportApi.as_view(), name="dataset-import"),
    path(
        "datasets/<int:pk>/import/retry/",
        apis.DatasetImportRetryApi.as_view(),
        name="dataset-import-retry",
    ),
    path("datasets/<int:pk>/", apis.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("datasets/<int:pk>/publish/", apis.DatasetPublishApi.as_view(), name="dataset-publish"),
    path("datasets/<int:pk>/score/", apis.ScoreRunCreateApi.as_view(), name="dataset-score"),
    path("datasets/<int:pk>/fit/", apis.FitRunCreateApi.as_view(), name="dataset-fit"),
    path("datasets/<int:pk>/zoo/", apis.ZooFitsCreateApi.as_view(), name="dataset-zoo"),
    path("score-runs/<int:pk>/", apis.ScoreRunDetailApi.as_view(), name="score-run-detail"),
    path("score-runs/<int:pk>/retry/", apis.ScoreRunRetryApi.as_view(), name="score-run-retry"),
    path("fit-runs/<int:pk>/", apis.FitRunDetailApi.as_view(), name="fit-run-detail"),
    path("fit-runs/<int:pk>/cancel/", apis.FitRunCancelApi.as_view(), name="fit-run-cancel"),
    path("fit-runs/<int:pk>/retry/", apis.FitRunRetryApi.as_view(), name="fit-run-retry"),
    path("fit-runs/<int:pk>/weights/", apis.FitRunWeightsApi.as_view(), name="fit-run-weights"),
    path(
        "datasets/<int:pk>/leaderboard/", apis.LeaderboardApi.as_view(), name="dataset-leaderboard"
    ),
    path(
        "datasets/<int:pk>/judgments-ci/",
        apis.JudgmentsCiApi.as_view(),
        name="dataset-judgments-ci",
    ),
    path("datasets/<int:pk>/exports/", apis.ExportCreateApi.as_view(), name="dataset-export"),
    path("exports/<int:pk>/", apis.ExportDetailApi.as_view(), name="export-detail"),
    path(
        "exports/<int:pk>/download/",
        apis.ExportDownloadApi.as_view(),
        name="analysis-export-download",
    ),
    path("exports/<int:pk>/retry/", apis.ExportRetryApi.as_view(), name="export-retry"),
    path(
        "leaderboards/public/<str:slug>/",
        apis.PublicLeaderboardApi.as_view(),
        name="leaderboard-public",
    ),
    path(
        "image-sets/<int:pk>/kmeans-trunk/",
        apis.KMeansTrunkCreateApi.as_view(),
        name="image-set-kmeans-trunk",
    ),
    path("kmeans-trunks/", apis.KMeansTrunkListApi.as_view(), name="kmeans-trunk-list"),
    path(
        "kmeans-trunks/<int:pk>/", apis.KMeansTrunkDetailApi.as_view(), name="kmeans-trunk-detail"
    ),
    path(
        "kmeans-trunks/<int:pk>/retry/",
        apis.KMeansTrunkRetryApi.as_view(),
        name="kmeans-trunk-retry",
    ),
    path("metrics/", apis.MetricListApi.as_view(), name="metric-list"),
    path("metrics/upload/", apis.UploadedMetricCreateApi.as_view(), name="metric-upload"),
    path("metrics/uploaded/", apis.UploadedMetricListApi.as_view(), name="uploaded-metric-list"),
    path(
        "metrics/uploaded/<int:pk>/",
        apis.UploadedMetricDetailApi.as_view(),
        name="uploaded-metric-detail",
    ),
    path(
        "metrics/uploaded/<int:pk>/retry/",
        apis.UploadedMetricRetryApi.as_view(),
        name="uploaded-metric-retry",
    ),
]
