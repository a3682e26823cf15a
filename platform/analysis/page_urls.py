"""Pages of analysis (not the REST API): leaderboards (export downloads are API: `/api/exports/<id>/download/`)."""

from django.urls import path

from . import views

urlpatterns = [
    path("leaderboards/<int:dataset_id>/", views.leaderboard_page, name="analysis-leaderboard"),
    path(
        "leaderboards/<int:dataset_id>/triplets/",
        views.triplets_page,
        name="analysis-triplets",
    ),
    path(
        "leaderboards/<int:dataset_id>/triplets/<int:item_id>/<str:slot>.png",
        views.triplet_image,
        name="analysis-triplet-image",
    ),
    path(
        "leaderboards/public/<str:slug>/",
        views.public_leaderboard_page,
        name="analysis-public-leaderboard",
    ),
]
