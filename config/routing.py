from django.urls import path

from health.consumers import BrokerStatusConsumer

websocket_urlpatterns = [
    path("ws/brokers/", BrokerStatusConsumer.as_asgi()),
]
