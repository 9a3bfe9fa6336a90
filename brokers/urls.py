from django.urls import path

from brokers.help import help_page

app_name = "brokers"
urlpatterns = [
    path("help/<str:broker>/", help_page, name="help"),
]
