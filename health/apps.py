from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Every broker call feeds health through the HTTP door, and every status change is
        # announced live: registered once per process.
        from brokers import states
        from brokers.signals import call_finished, call_started
        from health import calls, services, sockets  # noqa: F401  (sockets: its receivers)

        call_started.connect(calls.before_call, dispatch_uid="health.before_call")
        call_finished.connect(calls.after_call, dispatch_uid="health.after_call")
        if services.on_transition not in states.listeners:
            states.listeners.append(services.on_transition)
