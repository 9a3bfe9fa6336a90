from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from brokers import api as broker_api
from brokers import views as broker_views
from config.views import favicon, healthz, not_found
from ops import views as ops_views
from portfolio import api as portfolio_api

handler404 = not_found
admin.site.site_header = "Multi-broker support"
admin.site.site_title = "Multi-broker support"

urlpatterns = [
    path("", broker_views.dashboard, name="dashboard"),
    path("accounts/", include("accounts.urls")),
    path("brokers/", include("brokers.urls")),
    path("portfolio/", include("portfolio.urls")),
    path("", include("health.urls")),
    path("", include("routing.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("api/v1/brokers/connect/initiate", broker_api.InitiateConnectionApi.as_view()),
    path("api/v1/brokers/connect/complete", broker_api.CompleteConnectionApi.as_view()),
    path("api/v1/brokers/connections", broker_api.ConnectionListApi.as_view()),
    path("api/v1/brokers/connections/<uuid:pk>", broker_api.ConnectionDetailApi.as_view()),
    path(
        "api/v1/brokers/portfolio/consolidated",
        portfolio_api.ConsolidatedPortfolioApi.as_view(),
        name="portfolio-consolidated",
    ),
    path(
        "api/v1/brokers/portfolio/sync",
        portfolio_api.SyncPortfolioApi.as_view(),
        name="portfolio-sync",
    ),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (?script), so
    # the page runs under the same policy as every other: no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[]),
        name="api-docs",
    ),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("brokers.sandbox.urls")))
