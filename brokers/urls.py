from django.urls import path

from brokers import views
from brokers.help import help_page

app_name = "brokers"
urlpatterns = [
    path("help/<str:broker>/", help_page, name="help"),
    path("connect/", views.choose_broker, name="connect"),
    path("connect/<str:broker>/", views.connect_app, name="connect_app"),
    path("connect/<str:broker>/login/", views.connect_login, name="connect_login"),
    path("callback/<str:broker>/", views.callback, name="callback"),
    path("connections/<uuid:pk>/connected/", views.connected, name="connected"),
    path("connections/<uuid:pk>/reconnect/", views.reconnect, name="reconnect"),
    path("connections/<uuid:pk>/disconnect/", views.disconnect, name="disconnect"),
]
