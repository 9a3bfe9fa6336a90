"""Simulated Angel One SmartAPI, written from shared/brokers/angelone.md (§ numbers below).

Every host is served under /sandbox/angelone/ at its real path:
smartapi.angelone.in/publisher-login (the browser login page), apiconnect.angelone.in/rest/...
(the API) and margincalculator.angelbroking.com/OpenAPI_File/... (the instrument master).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import secrets
import time
import uuid
from datetime import datetime
from datetime import time as clock_time
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from brokers.clock import IST, next_ist
from brokers.sandbox import kit, universe
from brokers.sandbox.demo import DEMO_APPS

BROKER = "angelone"
DEMO = DEMO_APPS[BROKER]
SECURE = "rest/secure/angelbroking/"
# §3: sent on every call; values are not validated, presence is.
CLIENT_HEADERS = ("X-SourceID", "X-ClientLocalIP", "X-ClientPublicIP", "X-MACAddress")
VARIETIES = {"NORMAL", "STOPLOSS", "ROBO", "AMO"}
PRODUCTS = {"DELIVERY", "INTRADAY", "CARRYFORWARD", "MARGIN", "BO"}
# Angel's order types ↔ the kit's vocabulary.
ORDER_TYPES = {
    "MARKET": "MARKET",
    "LIMIT": "LIMIT",
    "STOPLOSS_LIMIT": "SL",
    "STOPLOSS_MARKET": "SL-M",
}
ORDER_TYPE_WORDS = {ours: theirs for theirs, ours in ORDER_TYPES.items()}
RMS_FIELDS = (  # noqa: SIM905 - the field list as §4 prints it
    "net availablecash availableintradaypayin availablelimitmargin collateral m2munrealized "
    "m2mrealized utiliseddebits utilisedspan utilisedoptionpremium utilisedholdingsales "
    "utilisedexposure utilisedturnover utilisedpayout"
).split()


# --- Envelopes (§5) ----------------------------------------------------------------------------
def _ok(data) -> JsonResponse:
    return JsonResponse({"status": True, "message": "SUCCESS", "errorcode": "", "data": data})


def _fail(message: str, code: str, status: int = 200) -> JsonResponse:
    # §5: refusals arrive with HTTP 200 and status false.
    body = {"status": False, "message": message, "errorcode": code, "data": None}
    return JsonResponse(body, status=status)


def _gateway(message: str, code: str) -> JsonResponse:
    # §5: the gateway's token errors spell the envelope differently (success / errorCode).
    body = {"success": False, "message": message, "errorCode": code, "data": ""}
    return JsonResponse(body, status=403)


class Errors(kit.ErrorBodies):
    def token_invalid(self) -> HttpResponse:
        return _gateway("Invalid Token", "AG8001")

    def rate_limited(self) -> HttpResponse:
        # §5/§8.5: plain text, HTTP 403, not JSON.
        return HttpResponse(
            "Access denied because of exceeding access rate", status=403, content_type="text/plain"
        )

    def server_error(self) -> HttpResponse:
        return _fail("Internal Error, Please try after sometime", "AB2001", status=500)

    def unavailable(self) -> HttpResponse:
        return HttpResponse(
            "<html><head><title>503 Service Temporarily Unavailable</title></head>"
            "<body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            status=503,
            content_type="text/html",
        )


ERRORS = Errors()


def demo_login_fields() -> dict:
    """What the demo user types at login: client code, PIN and the current TOTP (§1b)."""
    return {
        "clientcode": DEMO["client_id"],
        "pin": DEMO["pin"],
        "totp": kit.totp(DEMO["totp_secret"]),
    }


# --- Sessions (§1, §2) -------------------------------------------------------------------------
def _midnight() -> datetime:
    return next_ist(clock_time(0, 0))  # §2: sessions die at midnight IST


def _jwt(account_id: str, kind: str) -> str:
    def part(obj: dict) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    expires = _midnight().timestamp()
    claims = {"username": account_id, "token": kind, "iat": int(time.time()), "exp": int(expires)}
    value = f"{part({'alg': 'HS512'})}.{part(claims)}.{secrets.token_urlsafe(32)}"
    ttl = max(1, int(expires - time.time()))
    return kit.issue_token(BROKER, account_id, kind=kind, ttl=ttl, value=value)


def _session(account_id: str, kinds=("jwtToken", "refreshToken", "feedToken")) -> dict:
    words = {"jwtToken": "access", "refreshToken": "refresh", "feedToken": "feed"}
    return {name: _jwt(account_id, words[name]) for name in kinds}


def _client_refusal(request) -> HttpResponse | None:
    if request.headers.get("X-PrivateKey") != DEMO["api_key"]:
        return _gateway("Invalid API Key", "AG8004")
    if request.headers.get("X-UserType") != "USER":
        return _fail("User Type Must Be USER", "AB1005")
    missing = [name for name in CLIENT_HEADERS if not request.headers.get(name)]
    if missing:
        return _fail(f"Request Rejected: {missing[0]} header is required", "AB2000")
    return None


def _json_body(request) -> dict | None:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _endpoint(*methods: str, secure: bool = True):
    """Method check, §3 headers, the Bearer JWT (secure routes), then the injected faults."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def handler(request, *args, **kwargs):
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            if secure:
                header = request.headers.get("Authorization", "")
                if not header:
                    return _gateway("Token missing", "AG8003")
                scheme, _, token = header.partition(" ")
                account_id = kit.account_for_token(BROKER, token) if scheme == "Bearer" else None
                if not account_id:
                    return ERRORS.token_invalid()
            refused = _client_refusal(request)
            if refused:
                return refused
            body = _json_body(request) if request.method == "POST" else {}
            if body is None:
                return _fail("Invalid Request Payload", "AB2000")
            if not secure:
                return view(request, body, *args, **kwargs)
            fault = kit.apply_faults(BROKER, account_id, ERRORS)
            if fault:
                return fault
            account = universe.account(BROKER, account_id)
            return view(request, account, body, *args, **kwargs)

        return handler

    return wrap


# --- Publisher login page (§1a) -----------------------------------------------------------------
def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body>{body}</body></html>",
        status=status,
    )


def _page_error(message: str) -> HttpResponse:
    return _page(
        "Angel One sandbox login", f"<h1>Login failed</h1><p>{html.escape(message)}</p>", 400
    )


def _redirect(url: str, params: dict) -> HttpResponse:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    response = HttpResponse(status=302)
    response["Location"] = urlunsplit(parts._replace(query=query))
    return response


@csrf_exempt
def publisher_login(request):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    source = request.GET if request.method == "GET" else request.POST
    app = {key: source.get(key, "") for key in ("api_key", "state", "redirect_url")}
    if app["api_key"] != DEMO["api_key"]:
        return _page_error("Invalid API Key: no SmartAPI app is registered with this key.")
    # The real page uses the redirect URL registered in MyApps; the sandbox has no MyApps,
    # so the app names it (newer docs' redirect_url parameter) and it must be http(s).
    if urlsplit(app["redirect_url"]).scheme not in ("http", "https"):
        return _page_error("Invalid redirect URL: register an http(s) redirect URL for the app.")
    if request.method == "GET":
        return _login_form(app)
    if kit.take_code(BROKER, request.POST.get("login_session", "")) != app:
        return _page_error("This login session has expired or was already used. Start again.")
    state = {"state": app["state"]} if app["state"] else {}
    if request.POST.get("decision") != "approve":
        return _redirect(app["redirect_url"], {"error": "access_denied", **state})
    account = universe.account(BROKER, request.POST.get("account_id", ""))
    if account is None:
        return _page_error("Invalid client code.")
    # §1a: the redirect carries the JWT and the feed token; no refresh token in this flow.
    session = _session(account.account_id, ("jwtToken", "feedToken"))
    params = {"auth_token": session["jwtToken"], "feed_token": session["feedToken"], **state}
    return _redirect(app["redirect_url"], params)


def _login_form(app: dict) -> HttpResponse:
    hidden = {**app, "login_session": kit.issue_code(BROKER, app)}
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in hidden.items()
    )
    options = "".join(
        f'<option value="{a.account_id}"{" selected" if i == 0 else ""}>'
        f"{a.account_id} · {html.escape(a.name)}</option>"
        for i, a in enumerate(universe.ACCOUNTS[BROKER])
    )
    return _page(
        "Angel One sandbox login",
        "<h1>Angel One sandbox login</h1>"
        f"<p>The app <strong>{html.escape(app['api_key'])}</strong> wants to use your "
        "Angel One account through SmartAPI.</p>"
        f'<form method="post">{inputs}'
        f'<label>Client code <select name="account_id">{options}</select></label>'
        '<button type="submit" name="decision" value="approve">Log in and authorize</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>',
    )


# --- Auth API (§1b, §2) ------------------------------------------------------------------------
@_endpoint("POST", secure=False)
def login_by_password(request, body):
    account = universe.account(BROKER, str(body.get("clientcode", "")))
    if account:
        fault = kit.apply_faults(BROKER, account.account_id, ERRORS)
        if fault:
            return fault
    if account is None or str(body.get("password", "")) != DEMO["pin"]:
        return _fail("Login Id or password is invalid", "AB1007")
    if not kit.totp_valid(DEMO["totp_secret"], str(body.get("totp", ""))):
        return _fail("Invalid totp", "AB1050")
    return _ok({**_session(account.account_id), "state": str(body.get("state", ""))})


@_endpoint("POST", secure=False)
def generate_tokens(request, body):
    refresh = str(body.get("refreshToken", ""))
    account_id = kit.account_for_token(BROKER, refresh, kind="refresh")
    if not account_id:
        return _fail("Invalid Refresh Token", "AB8050")
    fault = kit.apply_faults(BROKER, account_id, ERRORS)
    if fault:
        return fault
    kit.revoke_token(BROKER, refresh, kind="refresh")
    return _ok(_session(account_id))


@_endpoint("POST")
def logout(request, account, body):
    kit.revoke_token(BROKER, request.headers["Authorization"].partition(" ")[2])
    return _ok("")


# --- Account reads (§4) ------------------------------------------------------------------------
@_endpoint("GET")
def profile(request, account, body):
    return _ok(
        {
            "clientcode": account.account_id,
            "name": account.name.upper(),
            "email": account.email,
            "mobileno": "",
            "exchanges": ["NSE", "BSE", "NFO", "BFO", "MCX", "CDS", "NCDEX"],
            "products": ["DELIVERY", "INTRADAY", "MARGIN", "CARRYFORWARD"],
            "lastlogintime": "",
            "brokerid": "B2C",
        }
    )


@_endpoint("GET")
def rms(request, account, body):
    # §4: every RMS value is a string; net = availablecash - utiliseddebits.
    used = sum(
        (Decimal(o.average_price) * o.filled_quantity for o in _filled(account) if o.side == "BUY"),
        Decimal(0),
    )
    data = dict.fromkeys(RMS_FIELDS, "0")
    data.update(
        net=_money(account.cash - used),
        availablecash=_money(account.cash),
        utiliseddebits=_money(used),
    )
    return _ok(data)


def _holding_row(holding) -> dict:
    security = universe.SECURITIES[holding.symbol]
    symbol, token = _listing(security, holding.exchange)
    invested = holding.average_price * holding.quantity
    pnl = (security.last_price - holding.average_price) * holding.quantity
    # §4/§8.2: holdings carry JSON numbers (not strings); P&L comes rounded.
    return {
        "tradingsymbol": symbol,
        "exchange": holding.exchange,
        "isin": security.isin,
        "t1quantity": 0,
        "realisedquantity": holding.quantity,
        "quantity": holding.quantity,
        "authorisedquantity": 0,
        "product": "DELIVERY",
        "collateralquantity": None,
        "collateraltype": None,
        "haircut": 0,
        "averageprice": float(holding.average_price),
        "ltp": float(security.last_price),
        "symboltoken": token,
        "close": float(security.close_price),
        "profitandloss": round(float(pnl)),
        "pnlpercentage": round(float(pnl / invested * 100), 2) if invested else 0,
    }


@_endpoint("GET")
def holding(request, account, body):
    return _ok([_holding_row(h) for h in account.holdings] or None)


@_endpoint("GET")
def all_holding(request, account, body):
    rows = [_holding_row(h) for h in account.holdings]
    value = sum(Decimal(str(r["ltp"])) * r["quantity"] for r in rows)
    invested = sum(h.average_price * h.quantity for h in account.holdings)
    totals = {
        "totalholdingvalue": float(value),
        "totalinvvalue": float(invested),
        "totalprofitandloss": float(value - invested),
        "totalpnlpercentage": round(float((value - invested) / invested * 100), 2)
        if invested
        else 0,
    }
    return _ok({"holdings": rows, "totalholding": totals})


@_endpoint("GET")
def position(request, account, body):
    # Today's fills, netted per instrument and product; every number a string (§4).
    groups: dict[tuple, list] = {}
    for order in _filled(account):
        groups.setdefault((order.symbol, order.exchange, order.product), []).append(order)
    rows = []
    for (symbol, exchange, product), fills in groups.items():
        security = universe.SECURITIES[symbol]
        tradingsymbol, token = _listing(security, exchange)
        bought = [(o.filled_quantity, Decimal(o.average_price)) for o in fills if o.side == "BUY"]
        sold = [(o.filled_quantity, Decimal(o.average_price)) for o in fills if o.side == "SELL"]
        buy_qty, sell_qty = sum(q for q, _ in bought), sum(q for q, _ in sold)
        buy_amount = sum((q * p for q, p in bought), Decimal(0))
        sell_amount = sum((q * p for q, p in sold), Decimal(0))
        buy_avg = buy_amount / buy_qty if buy_qty else Decimal(0)
        sell_avg = sell_amount / sell_qty if sell_qty else Decimal(0)
        net = buy_qty - sell_qty
        net_price = buy_avg if net > 0 else sell_avg if net < 0 else Decimal(0)
        net_value = sell_amount - buy_amount
        pnl = (
            min(buy_qty, sell_qty) * (sell_avg - buy_avg) + (security.last_price - net_price) * net
        )
        row = dict.fromkeys(("cfbuyqty", "cfsellqty", "cfbuyamount", "cfsellamount"), "0")
        row |= dict.fromkeys(("cfbuyavgprice", "cfsellavgprice"), "0")
        row |= dict.fromkeys(("priceden", "pricenum", "genden", "gennum"), "1.00")
        row |= {
            "exchange": exchange,
            "symboltoken": token,
            "producttype": product,
            "tradingsymbol": tradingsymbol,
            "symbolname": symbol,
            "instrumenttype": "",
            "precision": "2",
            "multiplier": "-1",
            "boardlotsize": str(security.lot_size),
            "buyqty": str(buy_qty),
            "sellqty": str(sell_qty),
            "buyamount": _money(buy_amount),
            "sellamount": _money(sell_amount),
            "symbolgroup": "EQ",
            "strikeprice": "-1",
            "optiontype": "",
            "expirydate": "",
            "lotsize": str(security.lot_size),
            "buyavgprice": _money(buy_avg),
            "sellavgprice": _money(sell_avg),
            "avgnetprice": _money(net_price),
            # The live API writes a negative netvalue with a space: "- 2235.80" (sample).
            "netvalue": _money(net_value) if net_value >= 0 else f"- {_money(-net_value)}",
            "netqty": str(net),
            "totalbuyvalue": _money(buy_amount),
            "totalsellvalue": _money(sell_amount),
            "totalbuyavgprice": _money(buy_avg),
            "totalsellavgprice": _money(sell_avg),
            "netprice": _money(net_price),
            "ltp": _money(security.last_price),
            "pnl": _money(pnl),
        }
        rows.append(row)
    return _ok(rows or None)  # §4: data null when there is nothing


# --- Orders (§4, §6) ---------------------------------------------------------------------------
def _order_refusal(body: dict, *, needs_side: bool) -> JsonResponse | None:
    """The checks a placeOrder/modifyOrder body goes through, in Angel's error words."""
    variety, order_type = body.get("variety"), body.get("ordertype")
    if variety not in VARIETIES:
        return _fail("Invalid Order Variety", "AB1008")
    if variety == "ROBO":
        return _fail("ROBO order is block", "AB2002")
    if body.get("producttype") not in PRODUCTS:
        return _fail("Invalid Product Type", "AB1012")
    if _security(body.get("exchange"), body.get("symboltoken"), body.get("tradingsymbol")) is None:
        return _fail("Symbol Not Found", "AB1009")
    if needs_side and body.get("transactiontype") not in ("BUY", "SELL"):
        return _fail("Invalid Transaction Type", "AB2000")
    if order_type not in ORDER_TYPES:
        return _fail("Invalid Order Type", "AB2000")
    if (variety == "STOPLOSS") != order_type.startswith("STOPLOSS"):
        return _fail("Invalid Order Variety", "AB1008")  # §8.12
    if body.get("duration") not in ("DAY", "IOC"):
        return _fail("Invalid Duration", "AB2000")
    if not _positive(body.get("quantity"), whole=True):
        return _fail("Invalid Quantity", "AB2000")
    if order_type in ("LIMIT", "STOPLOSS_LIMIT") and not _positive(body.get("price")):
        return _fail("Invalid Price", "AB2000")
    if order_type.startswith("STOPLOSS") and not _positive(body.get("triggerprice")):
        return _fail("Invalid Trigger Price", "AB2000")
    if len(str(body.get("ordertag") or "")) >= 20:
        return _fail("ordertag length should be less than 20 characters", "AB4008")
    return None


@_endpoint("POST")
def place_order(request, account, body):
    refused = _order_refusal(body, needs_side=True)
    if refused:
        return refused
    security = _security(body["exchange"], body["symboltoken"], body["tradingsymbol"])
    stop = body["ordertype"].startswith("STOPLOSS")
    order = kit.SandboxOrder(
        order_id=kit.new_order_id(),
        account=account.account_id,
        symbol=security.symbol,
        exchange=body["exchange"],
        side=body["transactiontype"],
        quantity=int(Decimal(str(body["quantity"]))),
        order_type=ORDER_TYPES[body["ordertype"]],
        product=body["producttype"],
        price=str(body.get("price") or "0"),
        trigger_price=str(body.get("triggerprice") or "0"),
        validity=body["duration"],
        tag=str(body.get("ordertag") or ""),
        status="TRIGGER PENDING" if stop else "OPEN",
    )
    kit.save_order(BROKER, order)
    if kit.order_reply_lost(BROKER, account.account_id):
        return kit.lost_reply()
    return _ok(
        {
            "script": body["tradingsymbol"],
            "orderid": order.order_id,
            "uniqueorderid": _unique_id(order.order_id),
        }
    )


def _open_order(account, body) -> tuple[kit.SandboxOrder | None, JsonResponse | None]:
    if body.get("variety") not in VARIETIES:
        return None, _fail("Invalid Order Variety", "AB1008")
    order = kit.find_order(BROKER, account.account_id, str(body.get("orderid", "")))
    if order is None:
        return None, _fail("Order not found", "AB1013")
    if order.status not in ("OPEN", "TRIGGER PENDING"):
        return None, _fail(f"Order is already {order.status.lower()}", "AB2000")
    return order, None


@_endpoint("POST")
def modify_order(request, account, body):
    order, refused = _open_order(account, body)
    refused = refused or _order_refusal(body, needs_side=False)
    if refused:
        return refused
    order.order_type = ORDER_TYPES[body["ordertype"]]
    order.quantity = int(Decimal(str(body["quantity"])))
    order.price = str(body.get("price") or "0")
    order.trigger_price = str(body.get("triggerprice") or "0")
    order.validity = body["duration"]
    kit.save_order(BROKER, order)
    return _ok({"orderid": order.order_id, "uniqueorderid": _unique_id(order.order_id)})


@_endpoint("POST")
def cancel_order(request, account, body):
    order, refused = _open_order(account, body)
    if refused:
        return refused
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return _ok({"orderid": order.order_id, "uniqueorderid": _unique_id(order.order_id)})


def _order_row(order: kit.SandboxOrder) -> dict:
    tradingsymbol, token = _listing(universe.SECURITIES[order.symbol], order.exchange)
    status = order.status.lower()
    unfilled = order.quantity - order.filled_quantity
    zero = dict.fromkeys(("disclosedquantity", "squareoff", "stoploss", "trailingstoploss"), "0")
    return zero | {
        "variety": "STOPLOSS" if order.order_type.startswith("SL") else "NORMAL",
        "ordertype": ORDER_TYPE_WORDS[order.order_type],
        "producttype": order.product,
        "duration": order.validity,
        "price": _money(Decimal(order.price)),
        "triggerprice": _money(Decimal(order.trigger_price)),
        "quantity": str(order.quantity),
        "tradingsymbol": tradingsymbol,
        "transactiontype": order.side,
        "exchange": order.exchange,
        "symboltoken": token,
        "ordertag": order.tag,
        "instrumenttype": "",
        "strikeprice": "-1",
        "optiontype": "",
        "expirydate": "",
        "lotsize": "1",
        "cancelsize": str(unfilled) if status == "cancelled" else "0",
        "averageprice": _money(Decimal(order.average_price)),
        "filledshares": str(order.filled_quantity),
        "unfilledshares": str(unfilled),
        "orderid": order.order_id,
        "text": order.status_message,
        "status": status,
        "orderstatus": status,
        "updatetime": _stamp(order.updated_at, "%d-%b-%Y %H:%M:%S"),
        "exchtime": _stamp(order.placed_at, "%d-%b-%Y %H:%M:%S"),
        "exchorderupdatetime": _stamp(order.updated_at, "%d-%b-%Y %H:%M:%S"),
        "fillid": "",
        "filltime": "",
        "parentorderid": "",
        "uniqueorderid": _unique_id(order.order_id),
        "exchangeorderid": "1100000" + order.order_id[-9:],
    }


@_endpoint("GET")
def order_book(request, account, body):
    return _ok([_order_row(o) for o in kit.orders(BROKER, account.account_id)] or None)


@_endpoint("GET")
def trade_book(request, account, body):
    rows = []
    for order in _filled(account):
        tradingsymbol, _ = _listing(universe.SECURITIES[order.symbol], order.exchange)
        price = Decimal(order.average_price)
        rows.append(
            {
                "exchange": order.exchange,
                "producttype": order.product,
                "tradingsymbol": tradingsymbol,
                "instrumenttype": "",
                "symbolgroup": "EQ",
                "strikeprice": "-1",
                "optiontype": "",
                "expirydate": "",
                "marketlot": "1",
                "precision": "2",
                "multiplier": "-1",
                "tradevalue": _money(price * order.filled_quantity),
                "transactiontype": order.side,
                "fillprice": _money(price),
                "fillsize": str(order.filled_quantity),
                "orderid": order.order_id,
                "fillid": str(int(order.order_id) % 10**8),
                "filltime": _stamp(order.updated_at, "%H:%M:%S"),
            }
        )
    return _ok(rows or None)


# --- Market data (§4) ---------------------------------------------------------------------------
@_endpoint("POST")
def quote(request, account, body):
    mode, wanted = body.get("mode"), body.get("exchangeTokens")
    if mode not in ("LTP", "OHLC", "FULL"):
        return _fail("Invalid mode", "AB2000")
    if not isinstance(wanted, dict) or not all(isinstance(t, list) for t in wanted.values()):
        return _fail("Invalid exchangeTokens", "AB2000")
    if sum(len(tokens) for tokens in wanted.values()) > 50:
        return _fail("Maximum 50 tokens allowed in one request", "AB2000")
    fetched, unfetched = [], []
    for exchange, tokens in wanted.items():
        for token in map(str, tokens):
            security = _security(exchange, token)
            if security:
                fetched.append(_quote_row(security, exchange, token, mode))
                continue
            message, code = ("Symbol Not Found", "AB1009") if token else ("", "AB4018")
            unfetched.append(
                {
                    "exchange": exchange,
                    "symbolToken": token,
                    "message": message or "Symbol token cannot be empty",
                    "errorCode": code,
                }
            )
    return _ok({"fetched": fetched, "unfetched": unfetched})


def _quote_row(security, exchange: str, token: str, mode: str) -> dict:
    # §8.10: camelCase here; prices are JSON numbers; "close" is the previous session's close.
    last, close = security.last_price, security.close_price
    row = {
        "exchange": exchange,
        "tradingSymbol": _listing(security, exchange)[0],
        "symbolToken": token,
        "ltp": float(last),
    }
    if mode in ("OHLC", "FULL"):
        row |= {
            "open": float(close),
            "high": float(max(last, close)),
            "low": float(min(last, close)),
            "close": float(close),
        }
    if mode == "FULL":
        row |= {
            "lastTradeQty": 1,
            "exchFeedTime": _stamp(time.time(), "%d-%b-%Y %H:%M:%S"),
            "exchTradeTime": _stamp(time.time(), "%d-%b-%Y %H:%M:%S"),
            "netChange": float(last - close),
            "percentChange": round(float((last - close) / close * 100), 2),
            "avgPrice": float(last),
            "tradeVolume": 0,
            "opnInterest": 0,
            "lowerCircuit": float((close * Decimal("0.8")).quantize(Decimal("0.05"))),
            "upperCircuit": float((close * Decimal("1.2")).quantize(Decimal("0.05"))),
            "totBuyQuan": 0,
            "totSellQuan": 0,
            "52WeekLow": float(min(last, close)),
            "52WeekHigh": float(max(last, close)),
            "depth": {"buy": [], "sell": []},
        }
    return row


@csrf_exempt
def scrip_master(request):
    # §4 Instrument master: one JSON array (not CSV), strings throughout, tick size in paise,
    # strike x100 (-1 for cash), no ISIN column; NSE symbols carry "-EQ", BSE ones do not.
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    rows = []
    for security in universe.SECURITIES.values():
        for exchange in ("NSE", "BSE"):
            symbol, token = _listing(security, exchange)
            rows.append(
                {
                    "token": token,
                    "symbol": symbol,
                    "name": security.symbol,
                    "expiry": "",
                    "strike": "-1.000000",
                    "lotsize": str(security.lot_size),
                    "instrumenttype": "",
                    "exch_seg": exchange,
                    "tick_size": f"{security.tick_size * 100:.6f}",
                }
            )
    return JsonResponse(rows, safe=False)


# --- Helpers -----------------------------------------------------------------------------------
def _listing(security, exchange: str) -> tuple[str, str]:
    """Angel's (tradingsymbol, symboltoken) for a listing (§6)."""
    if exchange == "BSE":
        return security.symbol, security.bse_code
    return f"{security.symbol}-EQ", security.nse_token


def _security(exchange, token, tradingsymbol: str | None = None):
    token = str(token or "")
    found = {"NSE": universe.by_token, "BSE": universe.by_bse_code}.get(exchange)
    security = found(token) if found and token else None
    if security and tradingsymbol is not None and _listing(security, exchange)[0] != tradingsymbol:
        return None  # §6: the symbol must still match the master
    return security


def _filled(account) -> list[kit.SandboxOrder]:
    orders = kit.orders(BROKER, account.account_id)
    return [o for o in orders if o.status == "COMPLETE" and o.filled_quantity]


def _positive(value, *, whole: bool = False) -> bool:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return False
    return number.is_finite() and number > 0 and (not whole or number == number.to_integral())


def _money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


def _stamp(epoch: float, pattern: str) -> str:
    return datetime.fromtimestamp(epoch, IST).strftime(pattern) if epoch else ""


def _unique_id(order_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"angelone:{order_id}"))  # §8.13: a UUID


urlpatterns = [
    path("publisher-login", publisher_login),
    path("rest/auth/angelbroking/user/v1/loginByPassword", login_by_password),
    path("rest/auth/angelbroking/jwt/v1/generateTokens", generate_tokens),
    path(SECURE + "user/v1/logout", logout),
    path(SECURE + "user/v1/getProfile", profile),
    path(SECURE + "user/v1/getRMS", rms),
    path(SECURE + "portfolio/v1/getHolding", holding),
    path(SECURE + "portfolio/v1/getAllHolding", all_holding),
    path(SECURE + "order/v1/getPosition", position),
    path(SECURE + "order/v1/placeOrder", place_order),
    path(SECURE + "order/v1/modifyOrder", modify_order),
    path(SECURE + "order/v1/cancelOrder", cancel_order),
    path(SECURE + "order/v1/getOrderBook", order_book),
    path(SECURE + "order/v1/getTradeBook", trade_book),
    re_path(r"^rest/secure/angelbroking/market/v1/quote/?$", quote),
    path("OpenAPI_File/files/OpenAPIScripMaster.json", scrip_master),
]
