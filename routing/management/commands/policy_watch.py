import json
import sys
import time

from django.core.management.base import BaseCommand

from routing.policy.effective import effective


class Command(BaseCommand):
    help = (
        "Print a trader's effective policy each time it changes, as this process sees it "
        "(one JSON line: stamp, version, strategy, kill switch, primary broker, paused "
        "brokers). For checking that a saved change reaches another process, and for "
        "measuring how fast."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", type=int, required=True)
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--every", type=float, default=0.005, help="seconds between reads")

    def handle(self, *args, user, seconds, every, **options):
        seen = None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            snapshot = effective(user)
            now = (snapshot.stamp, snapshot.policy.routing.strategy.value, snapshot.kill_switch.on)
            primary = snapshot.priority[0] if snapshot.priority else None
            paused = sorted(key for key, broker in snapshot.brokers.items() if broker.paused)
            if now != seen:
                seen = now
                line = {
                    "stamp": snapshot.stamp,
                    "version": snapshot.version,
                    "strategy": now[1],
                    "killSwitch": now[2],
                    "primary": primary,
                    "paused": paused,
                    "at": time.time(),
                }
                sys.stdout.write(json.dumps(line) + "\n")
                sys.stdout.flush()
            time.sleep(every)
