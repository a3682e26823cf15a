"""Pages of duels (not the REST API): the results page and its downloads."""

from django.urls import path

from . import views

urlpatterns = [
    path("duels/<int:duel_id>/results/", views.results_page, name="duels-results"),
]
