from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from kiosk_project.core.health import health, health_ready, metrics_view
from kiosk_project.core.kiosk_api import KioskWhoamiApi
from kiosk_project.core.ops_access import ops_only

urlpatterns = [
    path("api/v1/", include("catalog.urls")),  # first: the menu is the most requested path
    path("health", health, name="health"),
    path("health/ready", health_ready, name="health-ready"),
    path("metrics", ops_only(metrics_view), name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", ops_only(SpectacularAPIView.as_view()), name="schema"),
    path("api/docs/", ops_only(SpectacularSwaggerView.as_view(url_name="schema")), name="api-docs"),
    path("api/redoc/", ops_only(SpectacularRedocView.as_view(url_name="schema")), name="api-redoc"),
    path("api/v1/kiosk", KioskWhoamiApi.as_view(), name="kiosk-whoami"),
    path("api/v1/", include("orders.urls")),
    path("api/v1/", include("payments.urls")),
    path("api/v1/", include("kds_bridge.urls")),
    path("kiosk/", include("kiosk_screen.urls")),
]

handler400 = "kiosk_project.core.exception_handler.json_400"
handler403 = "kiosk_project.core.exception_handler.json_403"
handler404 = "kiosk_project.core.exception_handler.json_404"
handler500 = "kiosk_project.core.exception_handler.json_500"
