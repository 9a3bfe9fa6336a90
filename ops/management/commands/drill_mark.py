"""Publish a restart drill's tasks, or report what became of them (as JSON)."""

import json

from django.core.management.base import BaseCommand

from ops import drills
from ops.tasks import drill_mark


class Command(BaseCommand):
    help = "Publish restart-drill tasks (--publish N) or report them (--report), by prefix."

    def add_arguments(self, parser):
        parser.add_argument("prefix")
        parser.add_argument("--publish", type=int, default=0, help="tasks to publish")
        parser.add_argument("--hold", type=float, default=0.0, help="seconds each task holds")
        parser.add_argument("--report", action="store_true")

    def handle(self, prefix, publish, hold, report, **options):
        if publish:
            for label in drills.prepare(prefix, publish):
                drill_mark.delay(label, hold)
        if report:
            self.stdout.write(json.dumps(drills.report(prefix)))
