from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A broker connected or disconnected changes which brokers a policy applies to: the
        # trader's snapshot is renewed everywhere (routing.policy.live).
        from django.db.models.signals import post_save

        from brokers import states
        from brokers.models import BrokerConnection
        from portfolio.signals import portfolio_synced
        from routing import tasks
        from routing.policy import live, trips

        if live.on_transition not in states.listeners:
            states.listeners.append(live.on_transition)
        # A broker back to CONNECTED drains its trader's queued orders (routing.orders.queue).
        if tasks.on_broker_connected not in states.listeners:
            states.listeners.append(tasks.on_broker_connected)
        post_save.connect(
            live.on_connection_saved,
            sender=BrokerConnection,
            weak=False,
            dispatch_uid="routing-connection-saved",
        )
        # Each landed portfolio sync: the day's loss against the automatic kill-switch trip.
        portfolio_synced.connect(
            trips.on_portfolio_synced, weak=False, dispatch_uid="routing-automatic-trips"
        )
