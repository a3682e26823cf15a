from django.urls import path

from . import apis

urlpatterns = [
    path("duels/", apis.DuelStudyListApi.as_view(), name="duel-list"),
    path("duels/create/", apis.DuelStudyCreateApi.as_view(), name="duel-create"),
    path("duels/<int:pk>/", apis.DuelStudyDetailApi.as_view(), name="duel-detail"),
    path("duels/<int:pk>/results/", apis.DuelResultsApi.as_view(), name="duel-results"),
]
