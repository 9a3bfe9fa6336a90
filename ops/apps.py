from django.apps import AppConfig


class OpsConfig(AppConfig):
    """What an operator watches: Prometheus metrics, readiness, the workers' heartbeat."""

    name = "ops"

    def ready(self):
        from ops import metrics

        metrics.subscribe()
