from django.urls import path

from portfolio import views

app_name = "portfolio"
urlpatterns = [
    path("", views.portfolio_page, name="page"),
    path("sync/", views.sync_now, name="sync"),
    path("sync/progress/", views.sync_progress, name="progress"),
]
