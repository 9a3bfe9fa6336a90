"""The production web server: Daphne's command line, with its access log redacted.

    python -m config.server -b 0.0.0.0 -p 8000 config.asgi:application

Takes every option of the ``daphne`` command. Daphne writes each request line to its access
log itself, outside Python's logging, so the application log's redaction never saw it: a
broker callback's one-time ``request_token``/``code`` and ``state``, or a Kite logout's
``access_token`` in the query string, went to the log as sent. Here every line passes through
the same ``redact()`` first. (``manage.py runserver``, which ``make run`` uses, logs requests
through Python's logging, where the application's filter redacts them.)
"""

from daphne.cli import CommandLineInterface as DaphneCommandLine
from daphne.server import Server

from brokers.redaction import redact


class RedactingServer(Server):
    def log_action(self, protocol, action, details):
        if details.get("path"):
            details = {**details, "path": redact(details["path"])}
        super().log_action(protocol, action, details)


class CommandLineInterface(DaphneCommandLine):
    server_class = RedactingServer


if __name__ == "__main__":
    CommandLineInterface.entrypoint()
