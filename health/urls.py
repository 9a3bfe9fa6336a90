from django.urls import path

from health import api, views

app_name = "health"
urlpatterns = [
    path("health/", views.dashboard, name="dashboard"),
    path("health/connections/<uuid:pk>/", views.connection_diagnostics, name="diagnostics"),
    path("health/connections/<uuid:pk>/diagnose/", views.diagnose, name="diagnose"),
    path("health/connections/<uuid:pk>/retry/", views.retry, name="retry"),
    path("health/connections/<uuid:pk>/preferences/", views.preferences, name="preferences"),
    path("health/notifications/", views.notifications, name="notifications"),
    path("health/notifications/read/", views.notifications_read, name="notifications_read"),
    path("api/v1/health/connections", api.HealthListApi.as_view(), name="api_list"),
    path("api/v1/health/connections/<uuid:pk>", api.HealthDetailApi.as_view(), name="api_detail"),
    path("api/v1/health/connections/<uuid:pk>/retry", api.RetryApi.as_view(), name="api_retry"),
    path("api/v1/notifications", api.NotificationsApi.as_view(), name="api_notifications"),
    path("api/v1/notifications/read", api.NotificationsReadApi.as_view(), name="api_read"),
]
