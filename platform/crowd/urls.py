from django.urls import path

from . import apis, views

urlpatterns = [
    path("s/<slug:slug>/", views.entry, name="crowd-entry"),
    path("s/<slug:slug>/mturk/", views.entry, {"mturk": True}, name="crowd-entry-mturk"),
    path("w/<str:token>/", views.worker, name="crowd-worker"),
    path("w/<str:token>/api/session", apis.SessionApi.as_view(), name="crowd-session"),
    path("w/<str:token>/api/answers", apis.AnswerApi.as_view(), name="crowd-answers"),
    path("w/<str:token>/api/complete", apis.CompleteApi.as_view(), name="crowd-complete"),
    path(
        "w/<str:token>/img/<int:position>/<str:slot>", apis.ImageApi.as_view(), name="crowd-image"
    ),
    path(
        "w/<str:token>/practice/<int:position>/<str:slot>",
        apis.ImageApi.as_view(),
        {"practice": True},
        name="crowd-practice-image",
    ),
]
