"""Pages of analysis (not the REST API): leaderboards (export downloads are API: `/api/exports/<id>/download/`)."""

from django.urls import path

from . import views

urlpatterns = [
    path("leaderboards/<int:dataset_id>/", views.leaderboard_page, name="analysis-leaderboard"),
    path(
        "leaderboards/public/<str:slug>/",
        views.public_leaderboard_page,
        name="analysis-public-leaderboard",
    ),
]
