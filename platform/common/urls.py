from django.urls import path

from . import apis

urlpatterns = [
    path("tokens/", apis.ApiTokenListCreateApi.as_view(), name="token-list"),
    path("tokens/<int:pk>/rotate/", apis.ApiTokenRotateApi.as_view(), name="token-rotate"),
    path("tokens/<int:pk>/revoke/", apis.ApiTokenRevokeApi.as_view(), name="token-revoke"),
]
