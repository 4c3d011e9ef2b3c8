from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from searches.client import check_ready as search_service_ready
from servicekit.health import health_urls

urlpatterns = [
    *health_urls({"search_service": search_service_ready}),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

handler400 = "servicekit.errors.handler400"
handler403 = "servicekit.errors.handler403"
handler404 = "servicekit.errors.handler404"
handler500 = "servicekit.errors.handler500"
