from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Every broker call feeds health through the HTTP door, and every status change is
        # announced live: registered once per process.
        from brokers import http, states
        from health import calls, services

        if calls.before_call not in http.hooks.before:
            http.hooks.before.append(calls.before_call)
        if calls.after_call not in http.hooks.after:
            http.hooks.after.append(calls.after_call)
        if services.on_transition not in states.listeners:
            states.listeners.append(services.on_transition)
