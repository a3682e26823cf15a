"""URL map: admin, REST API (+ OpenAPI schema and docs), worker-facing pages."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.apis import HealthApi

admin.site.site_header = "PerceptLab"
admin.site.site_title = "PerceptLab"
admin.site.index_title = "Studies, crowd collection and analysis"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/health/", HealthApi.as_view(), name="health"),
    path("api/", include("common.urls")),
    path("api/", include("studies.urls")),
    path("api/", include("analysis.urls")),
    path("", include("crowd.urls")),
    path("", include("analysis.page_urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
