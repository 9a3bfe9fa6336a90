from django.urls import include, path

from brokers.sandbox import angelone, dhan, fyers, groww, iifl, upstox, views, zerodha

app_name = "sandbox"
urlpatterns = [
    path("", views.index, name="index"),
    path("faults/", views.set_faults_page, name="set_faults"),
    path("api/faults/<str:broker>/", views.faults_api, name="faults_api"),
    path("zerodha/", include(zerodha.urlpatterns)),
    path("upstox/", include(upstox.urlpatterns)),
    path("fyers/", include(fyers.urlpatterns)),
    path("angelone/", include(angelone.urlpatterns)),
    path("groww/", include(groww.urlpatterns)),
    path("dhan/", include(dhan.urlpatterns)),
    path("iifl/", include(iifl.urlpatterns)),
]
