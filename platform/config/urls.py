"""URL map: admin, REST API (+ OpenAPI schema and docs), worker-facing pages."""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.apis import HealthApi

# Browsers ask every site for /favicon.ico; a 404 there is a failed request on every page.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#417690"/>'
    '<rect x="3" y="4" width="4" height="8" fill="#fff"/><rect x="9" y="4" width="4" height="8" '
    'fill="#9cc"/></svg>'
)


@cache_control(public=True, max_age=86400)
def favicon(request):
    return HttpResponse(FAVICON, content_type="image/svg+xml")


admin.site.site_header = "PerceptLab"
admin.site.site_title = "PerceptLab"
admin.site.index_title = "Studies, crowd collection and analysis"

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/health/", HealthApi.as_view(), name="health"),
    path("api/", include("common.urls")),
    path("api/", include("studies.urls")),
    path("api/", include("analysis.urls")),
    path("api/", include("duels.urls")),
    path("", include("crowd.urls")),
    path("", include("analysis.page_urls")),
    path("", include("duels.page_urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
