from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A connection that changes status changes what the portfolio shows (a removed one
        # leaves the totals): brokers announces every transition to its listeners.
        from brokers import states
        from portfolio.services import on_connection_change

        if on_connection_change not in states.listeners:
            states.listeners.append(on_connection_change)
