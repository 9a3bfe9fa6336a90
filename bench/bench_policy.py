"""The policy: validation of a full profile, save → visible in another process, export, import
and template application.

A full profile: seven connections (one per broker), 50 custom routing rules, five failover
rules, an allocation rule per asset type and broker pair, ten restricted instruments per
broker resolved through the masters, and a custom setting per broker. Goals: validation p95
under 20 ms; save → visible in another process p95 under 1 s; export and import under 1 s
each; a template applied under 1 s.

"Visible in another process" runs ``manage.py policy_watch`` in its own process on the same
database and Redis (it reads effective() every 5 ms, as an order path would on each order)
and times each save, from the call to save_profile (validation, the transaction, the
announcement) to the moment that process prints the new version. It needs
REDIS_URL: on the embedded default the process is alone by design.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings

BROKERS = ("zerodha", "upstox", "fyers", "angelone", "groww", "dhan", "iifl")
RULES = 50
ROUNDS = 200
SAVES = 40


def _trader():
    from django.contrib.auth import get_user_model

    from accounts.roles import make_trader
    from brokers.models import BrokerApp, BrokerConnection, ConnectionStatus, InstrumentRecord

    user = get_user_model().objects.create(username=f"bench-policy-{time.time_ns()}")
    make_trader(user)
    for n, broker in enumerate(BROKERS):
        app = BrokerApp.objects.create(
            user=user,
            broker=broker,
            label="bench",
            api_key=f"k{n}",
            api_secret="s",
            redirect_url="http://127.0.0.1/cb",
        )
        BrokerConnection.objects.create(
            user=user,
            broker=broker,
            account_id=f"AC{n}",
            app=app,
            status=ConnectionStatus.CONNECTED,
        )
    if not InstrumentRecord.objects.filter(broker="zerodha", symbol="BENCH000").exists():
        InstrumentRecord.objects.bulk_create(
            InstrumentRecord(
                broker="zerodha",
                instrument_id=f"b{i}",
                exchange="NSE",
                symbol=f"BENCH{i:03d}",
                isin=f"INE{i:06d}A01",
            )
            for i in range(100)
        )
    return user


def _full_document(user) -> dict:
    from routing.policy import services

    document = services.editing(user).document
    keys = list(document["brokers"])
    policy = document["global"]
    policy["routing"]["strategy"] = "CUSTOM"
    policy["routing"]["priority"] = keys
    policy["routing"]["rules"] = [
        {
            "name": f"rule {i}",
            "match": {
                "asset_types": ["EQUITY"],
                "exchanges": ["NSE"],
                "products": ["MIS"] if i % 2 else ["CNC"],
                "min_order_value": str(i * 1000),
                "max_order_value": str(i * 1000 + 999),
                "from_time": "09:15",
                "to_time": "15:00",
            },
            "broker": keys[i % len(keys)],
        }
        for i in range(RULES)
    ]
    policy["failover"]["rules"] = [
        {"condition": "TIMEOUT", "threshold": "2000", "action": "SWITCH", "target": keys[1]},
        {"condition": "ERROR_RATE", "threshold": "20", "action": "SWITCH"},
        {"condition": "ERROR_RATE", "threshold": "50", "action": "QUEUE"},
        {"condition": "TIMEOUT", "threshold": "5000", "action": "RETRY"},
        {"condition": "MANUAL", "action": "SWITCH", "target": keys[2]},
    ]
    policy["allocation"] = [
        {"asset_type": "EQUITY", "preferred_broker": key, "max_allocation_pct": "14"}
        for key in keys
    ]
    policy["risk"] = {
        "max_daily_loss": "50000",
        "max_gross_exposure": "5000000",
        "max_order_value": "500000",
        "max_open_orders": 100,
        "max_concentration_pct": "25",
    }
    for n, key in enumerate(keys):
        broker = document["brokers"][key]
        broker["risk"]["max_daily_loss"] = "10000"
        broker["risk"]["restricted_instruments"] = [f"NSE:BENCH{n * 10 + i:03d}" for i in range(10)]
        broker["custom"] = [{"key": "style", "type": "string", "value": "bench"}]
    return document


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"p50 {statistics.median(ordered):.1f} ms · p95 {p95:.1f} ms · max {ordered[-1]:.1f} ms"


def _validation(user, document) -> None:
    from routing.policy import services
    from routing.policy.validation import validate

    context = services.editing(user).context()
    validate(document, context)  # warm
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        validate(document, context)
        samples.append((time.perf_counter() - started) * 1000)
    print(
        f"validate a full profile (7 brokers, {RULES} rules), {ROUNDS} runs: "
        f"{_percentiles(samples)}"
    )
    samples = []
    for _ in range(50):
        started = time.perf_counter()
        services.check(user, document)  # as a page's live validation: the context read too
        samples.append((time.perf_counter() - started) * 1000)
    print(
        f"  … with the trader's connections read from the database each time: "
        f"{_percentiles(samples)}"
    )


def _transfer(user, document) -> None:
    from routing.policy import presets, services, transfer

    state = services.editing(user)
    services.save_profile(user=user, document=document, version=state.version)
    exports, imports, templates = [], [], []
    for _ in range(10):
        started = time.perf_counter()
        data = json.dumps(transfer.export(user))
        exports.append((time.perf_counter() - started) * 1000)
        incoming = json.loads(data)
        incoming["global"]["risk"]["max_open_orders"] = 100 + len(imports) + 1
        started = time.perf_counter()
        preview = transfer.prepare(user, transfer.read(data.encode()))
        transfer.apply(user, incoming, version=services.editing(user).version)
        imports.append((time.perf_counter() - started) * 1000)
        assert preview.ok
    for slug in ("cost-saver", "active-intraday") * 5:
        state = services.editing(user)
        started = time.perf_counter()
        presets.preview_preset(user, slug)
        with contextlib.suppress(services.NothingChanged):  # the same preset twice in a row
            presets.apply_preset(user, slug, version=state.version)
        templates.append((time.perf_counter() - started) * 1000)
    print(f"export of a full profile ({len(data) / 1000:.0f} KB): {_percentiles(exports)}")
    print(f"import (read, dry run, then apply as one revision): {_percentiles(imports)}")
    print(f"template (preview, then apply as one revision): {_percentiles(templates)}")


def _visible_elsewhere(user) -> None:
    from routing.policy import services

    if not settings.REDIS_URL:
        print(
            "save → visible in another process: skipped, needs REDIS_URL (the embedded "
            "default is one process)"
        )
        return
    root = Path(__file__).resolve().parents[1]
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "policy_watch", "--user", str(user.pk), "--seconds", "300"],
        cwd=root,
        env={**os.environ, "INPROCESS_SCHEDULER": "false"},
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: dict[int, float] = {}
    arrived = threading.Condition()

    def read():
        for line in watcher.stdout:
            data = json.loads(line)
            with arrived:
                seen[data["version"]] = time.time()
                arrived.notify_all()

    threading.Thread(target=read, daemon=True).start()
    try:
        version = services.editing(user).version
        with arrived:
            arrived.wait_for(lambda: version in seen, timeout=60)
        samples = []
        for n in range(SAVES):
            document = services.editing(user).document
            document["global"]["risk"]["max_open_orders"] = 1 + n
            started = time.time()
            services.save_profile(user=user, document=document, version=version)
            version += 1
            with arrived:
                if not arrived.wait_for(lambda v=version: v in seen, timeout=10):
                    print(f"  save {n}: not seen within 10 s")
                    continue
            samples.append((seen[version] - started) * 1000)
            time.sleep(0.05)
        print(
            f"save → visible in another process (Redis), {len(samples)} saves: "
            f"{_percentiles(samples)}"
        )
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


def run() -> None:
    user = _trader()
    document = _full_document(user)
    _validation(user, document)
    _transfer(user, document)
    _visible_elsewhere(user)
