"""Inject faults into a simulated broker: latency, errors, outage, 429s, token expiry, lost
replies, dropped order requests.

With REDIS_URL the faults are written to the shared cache directly. On the embedded default
the running server keeps its sandbox state in its own memory, so the command asks that server
through the sandbox's fault API (at --url, default SITE_URL).
"""

import argparse
import json

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from brokers.sandbox import kit, universe
from brokers.sandbox.forms import FaultForm
from brokers.sandbox.views import OPERATOR_HEADER, operator_signature


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
        parser.add_argument("--drop-order-request", action=argparse_bool())
        parser.add_argument(
            "--throttle-orders", type=int, help="the next N order writes get a rate-limit answer"
        )
        parser.add_argument("--error-in-ok", action=argparse_bool())
        parser.add_argument("--cut-off", action=argparse_bool())
        parser.add_argument("--paths", help="only these paths, e.g. portfolio/holdings")
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
            "drop_order_request": options["drop_order_request"],
            "throttle_orders": options["throttle_orders"],
            "token_expired": options["expire_tokens"] or None,
            "error_in_ok": options["error_in_ok"],
            "cut_off": options["cut_off"],
            "paths": options["paths"],
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
        try:
            return remote_faults(url, broker, account, values, clear=clear)
        except requests.RequestException:
            raise CommandError(
                f"no server at {url}: start it with `make run` (the embedded default keeps "
                "sandbox state in the server's memory), or set REDIS_URL"
            ) from None
        except ValueError as refused:
            raise CommandError(str(refused)) from None


def remote_faults(url: str, broker: str, account: str = "*", values=None, *, clear=False):
    """Set (or clear) a running server's faults through its fault API, signed as the operator
    (the same SECRET_KEY); returns the faults now in force. Benchmarks use it too."""
    api = f"{url.rstrip('/')}/sandbox/api/faults/{broker}/"
    params = {"account": "" if account == "*" else account}
    headers = {OPERATOR_HEADER: operator_signature(broker)}
    if clear or values:
        send = requests.delete if clear else requests.put
        response = send(api, params=params, json=values or None, headers=headers, timeout=5)
        if response.status_code not in (200, 204):
            raise ValueError(response.json().get("error", response.text))
    return requests.get(api, params=params, timeout=5).json()["faults"]


def argparse_bool():
    return argparse.BooleanOptionalAction
