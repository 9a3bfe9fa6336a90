from django.apps import AppConfig


class BrokersConfig(AppConfig):
    name = "brokers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported here, once the apps are loaded (the tasks load models): a login queues the
        # download of its broker's instrument master when that master is not current.
        from brokers import connections, tasks

        connections.logged_in.connect(
            tasks.queue_master_download, dispatch_uid="brokers.queue_master_download"
        )
