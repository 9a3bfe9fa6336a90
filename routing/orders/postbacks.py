"""Order postbacks: the brokers that post an order to the app's URL when it changes.

Confirmed in the brokers' docs (docs/brokers/README.md, "Order postbacks"): Zerodha's Kite
postback (a JSON body signed with checksum = SHA-256(order_id + order_timestamp +
api_secret)) and Upstox's order-update webhook (unsigned: the docs ask for an open POST
endpoint). Each trader's app gets its own address, ``/api/v1/orders/postbacks/<broker>/<app
id>/<signature>``, the signature an HMAC of the app under our SECRET_KEY: only the broker the
trader gave it to knows it. A Kite postback must carry the checksum of that app's secret too.

What a postback says is not applied as such: it names an order, and that order is then read
from the broker's order book through ``services.track_order`` — the tracker's own path — so
a forged body can change nothing, a fill is never counted twice (the book gives the filled
quantity, not an increment) and an update older than the book cannot move an order back. The
same body posted again is recognised and reads nothing. Polling stays the fallback: a lost
postback only waits for the next scheduled read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from brokers.models import Broker, BrokerApp
from routing.orders import services
from routing.orders.models import Order

REPLAY_KEEP = 24 * 3600  # a body posted again within a day is a replay
MAX_BODY = 64 * 1024


class PostbackRefused(Exception):
    """Not accepted: the HTTP status to answer and why. Nothing was changed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Update:
    order_id: str  # the broker's order id
    account: str  # the broker account it names ("" when the body does not say)


def sign(app: BrokerApp) -> str:
    """The secret part of an app's postback address."""
    message = f"order-postback:{app.broker}:{app.pk}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:40]


def postback_path(app: BrokerApp) -> str:
    """Where ``app``'s broker posts order updates (register it with the broker's app)."""
    return reverse("routing:api_order_postback", args=(app.broker, app.pk, sign(app)))


def addresses(*, user) -> list[dict]:
    """The postback address of each of the trader's apps at a broker that sends postbacks:
    what to register as that app's postback URL."""
    apps = BrokerApp.objects.filter(user=user, broker__in=list(READERS)).order_by("broker", "label")
    return [
        {
            "broker": app.broker,
            "appId": str(app.pk),
            "label": app.label,
            "path": postback_path(app),
        }
        for app in apps
    ]


def _text(payload: dict, name: str) -> str:
    value = payload.get(name)
    return str(value).strip() if value is not None else ""


def _kite(payload: dict, app: BrokerApp) -> Update:
    """Kite's postback: checksum = SHA-256(order_id + order_timestamp + api_secret), hex."""
    order_id, stamp = _text(payload, "order_id"), _text(payload, "order_timestamp")
    given = _text(payload, "checksum").lower()
    if not given:
        raise PostbackRefused(401, "Unsigned postback: a Kite postback carries a checksum.")
    if not order_id or not stamp:
        raise PostbackRefused(400, "A Kite postback names order_id and order_timestamp.")
    expected = hashlib.sha256(f"{order_id}{stamp}{app.api_secret}".encode()).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise PostbackRefused(403, "The checksum does not match this app's secret.")
    return Update(order_id, _text(payload, "user_id"))


def _upstox(payload: dict, app: BrokerApp) -> Update:
    """Upstox's webhook is unsigned: the address is the only secret, and the body only names
    the order to read."""
    if _text(payload, "update_type") not in ("", "order"):
        raise PostbackRefused(400, "Only order updates are taken here.")
    order_id = _text(payload, "order_id")
    if not order_id:
        raise PostbackRefused(400, "An Upstox order update names order_id.")
    return Update(order_id, _text(payload, "user_id") or _text(payload, "userId"))


READERS: dict[str, Callable[[dict, BrokerApp], Update]] = {
    Broker.ZERODHA: _kite,
    Broker.UPSTOX: _upstox,
}


def receive_postback(*, broker: str, app_id, signature: str, body: bytes) -> str:
    """Take one postback: "applied" (the order was read from the broker's book and followed)
    or "replayed" (this very body was taken before). PostbackRefused otherwise, with nothing
    changed."""
    reader = READERS.get(broker)
    if reader is None:
        raise PostbackRefused(404, f"{broker} sends no order postbacks here.")
    app = BrokerApp.objects.filter(pk=app_id, broker=broker).first()
    if app is None or not hmac.compare_digest(sign(app), signature or ""):
        raise PostbackRefused(403, "This postback address is not one we gave out.")
    if len(body) > MAX_BODY:
        raise PostbackRefused(413, "The postback body is too large.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise PostbackRefused(400, "The postback body is not a JSON object.")
    update = reader(payload, app)
    order = (
        Order.objects.filter(
            connection__app=app, connection__broker=broker, broker_order_id=update.order_id
        )
        .select_related("connection")
        .first()
    )
    account = order.connection.account_id if order is not None and order.connection else ""
    if order is None or (update.account and account and update.account != account):
        raise PostbackRefused(404, "No order placed through this app has that order id.")
    digest = hashlib.sha256(body).hexdigest()
    if not cache.add(f"orders:postback:{broker}:{digest}", 1, REPLAY_KEEP):
        return "replayed"
    services.track_order(order_id=order.pk)
    return "applied"
