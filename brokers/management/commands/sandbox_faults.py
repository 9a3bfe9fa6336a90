"""Inject faults into a simulated broker: latency, errors, outage, 429s, token expiry, lost replies.

With REDIS_URL the faults are written to the shared cache directly. On the embedded default
the running server keeps its sandbox state in its own memory, so the command asks that server
through the sandbox's fault API (at --url, default SITE_URL).
"""

import json

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from brokers.sandbox import kit, universe
from brokers.sandbox.forms import FaultForm


class Command(BaseCommand):
    help = "Set, show or clear the sandbox faults of a broker (and optionally one account)."

    def add_arguments(self, parser):
        parser.add_argument("broker", choices=sorted(universe.ACCOUNTS))
        parser.add_argument("--account", default="", help="one demo account (default: all)")
        parser.add_argument(
            "--latency-ms", type=int, help="each answer leaves this long after its call came in"
        )
        parser.add_argument("--error-rate", type=int, help="percent of calls that fail")
        parser.add_argument("--outage", action=argparse_bool())
        parser.add_argument("--rate-limited", action=argparse_bool())
        parser.add_argument("--lose-order-reply", action=argparse_bool())
        parser.add_argument("--expire-tokens", action="store_true")
        parser.add_argument("--clear", action="store_true", help="remove every fault")
        parser.add_argument("--url", default=settings.SITE_URL, help="the running server")

    def handle(self, *args, broker, account, clear, url, **options):
        values = {
            "latency_ms": options["latency_ms"],
            "error_rate": options["error_rate"],
            "outage": options["outage"],
            "rate_limited": options["rate_limited"],
            "lose_order_reply": options["lose_order_reply"],
            "token_expired": options["expire_tokens"] or None,
        }
        values = {k: v for k, v in values.items() if v is not None}
        form = FaultForm({"broker": broker, "account": account, **values})
        if not form.is_valid():
            raise CommandError("; ".join(e for errs in form.errors.values() for e in errs))
        account = form.cleaned_data["account"]
        if settings.REDIS_URL:
            if clear:
                kit.clear_faults(broker, account)
            elif values:
                kit.set_faults(broker, account, **{k: form.fault_values()[k] for k in values})
            faults = kit.get_faults(broker, account).__dict__
        else:
            faults = self._through_server(url, broker, account, values, clear)
        self.stdout.write(json.dumps({"broker": broker, "account": account, "faults": faults}))

    def _through_server(self, url, broker, account, values, clear):
        api = f"{url.rstrip('/')}/sandbox/api/faults/{broker}/"
        params = {"account": "" if account == "*" else account}
        try:
            if clear:
                requests.delete(api, params=params, timeout=5)
            elif values:
                response = requests.put(api, params=params, json=values, timeout=5)
                if response.status_code != 200:
                    raise CommandError(response.json().get("error", response.text))
            return requests.get(api, params=params, timeout=5).json()["faults"]
        except requests.RequestException:
            raise CommandError(
                f"no server at {url}: start it with `make run` (the embedded default keeps "
                "sandbox state in the server's memory), or set REDIS_URL"
            ) from None


def argparse_bool():
    import argparse

    return argparse.BooleanOptionalAction
