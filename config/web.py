"""The production web server: gunicorn supervising several uvicorn worker processes on one port.

    python -m config.web -b 0.0.0.0 -p 8000            # WEB_CONCURRENCY workers (default 2)

Why this and not several Daphne processes: Django runs a synchronous view on one thread per
process, so one process serves one such request at a time, whatever the server; more
processes are the way to use more cores. gunicorn gives them one listening socket (the kernel
hands each connection to a worker), restarts a worker that dies or hangs (``timeout``), and
stops them gracefully; several Daphne processes would need a proxy or SO_REUSEPORT in front and
a supervisor of our own. Each worker is uvicorn (``uvicorn-worker``) on uvloop and httptools,
which serves HTTP and websockets with less CPU per request than Daphne's Twisted
(bench/bench_web_processes.py). Websockets work in every worker: the channel layer (Redis)
joins them. The embedded default (`make run`) stays one Daphne process.

Logging: uvicorn's access and error lines go through the application's logging, so the
redaction filter masks a callback's one-time code or state as in every other line, and
LOG_FORMAT=json applies to them too. Metrics: each worker writes into PROMETHEUS_MULTIPROC_DIR
(a fresh directory is made when it is not set) and a worker that exits is marked dead there.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": "httptools",
        "ws": "websockets-sansio",
        "lifespan": "off",  # Django's ASGI handler has no lifespan protocol
        "server_header": False,
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # uvicorn-worker hands uvicorn's loggers to gunicorn's handlers, past the application's
        # redaction: send them to the root logger instead (configured by Django's LOGGING).
        for name in ("uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers = []
            logger.propagate = True


def _child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class WebServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from config.asgi import application

        return application


def options(host: str, port: int, workers: int) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "config.web.Worker",
        # A worker that has not answered the master for this long is killed and replaced.
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "child_exit": _child_exit,
        "accesslog": None,  # uvicorn writes the access lines, through our logging
        "control_socket_disable": True,  # no shared socket under $HOME: several may run
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, default=8000)
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "2")),
        help="worker processes (WEB_CONCURRENCY, default 2)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="multibroker-metrics-")
    WebServer(options(args.bind, args.port, args.workers)).run()


if __name__ == "__main__":
    main()
