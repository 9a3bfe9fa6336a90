"""The XTS API behind the sessions (§4): profile, balance, portfolio, orders, quotes, master."""

from __future__ import annotations

from decimal import Decimal

from django.views.decorators.csrf import csrf_exempt

from brokers.sandbox import kit, universe
from brokers.sandbox.iifl.login import session
from brokers.sandbox.iifl.render import (
    BROKER,
    ERRORS,
    LISTED,
    LIVE,
    MESSAGE_CODES,
    ORDER_TYPES,
    PRODUCTS,
    QUOTE_BATCH,
    SEGMENT_NUMBERS,
    STATUS_WORDS,
    TAG_MAX,
    Refusal,
    amount,
    bad_request,
    error,
    json_body,
    master_row,
    nothing,
    ok,
    order_row,
    position_row,
    rejection_reason,
    security_of,
    stamp,
    touchline,
)


# --- §4 reads ----------------------------------------------------------------------------------
@session()
def profile(request, account, token):
    details = {
        segment: {
            "ClientId": account.account_id,
            "ExchangeSegNumber": number,
            "Enabled": True,
            "ParticipantCode": "",
        }
        for segment, number in SEGMENT_NUMBERS.items()
        if segment in ("NSECM", "NSEFO", "BSECM")
    }
    result = {
        "ClientId": account.account_id,
        "ClientName": account.name.upper(),
        "EmailId": account.email,
        "MobileNo": "9800000000",
        "PAN": "ABCDE1234F",
        "ClientType": 1,
        "ClientStatus": "Active",
        "BranchId": "HO",
        "IsProClient": False,
        "IsInvestorClient": True,
        "ProductsAssigned": ",".join(PRODUCTS),
        "OrderTypesAssigned": "Market,Limit,StopLimit,StopMarket",
        "ClientExchangeDetailsList": details,
    }
    return ok(result, "s-user-0001", "Fetched Profile.")


@session()
def balance(request, account, token):
    # Today's fills and open buy orders use the margin, sale proceeds come back the same day;
    # docs/brokers/iifl.md §4 Funds says netMarginAvailable is what is left.
    ledger = kit.ledger(BROKER, account)
    used = ledger.used
    sub_limits = {
        "cashAvailable": amount(ledger.opening + ledger.sold),
        "collateral": 0,
        "marginUtilized": amount(used),
        "netMarginAvailable": amount(ledger.available),
        "MTM": "0",
        "UnrealizedMTM": "0",
        "RealizedMTM": "0",
    }
    limit = {
        "AccountID": account.account_id,
        "RMSSubLimits": sub_limits,
        "marginAvailable": {"CashMarginAvailable": amount(account.cash), "NotinalCash": "0"},
        "marginUtilized": {"MarginUsed": amount(used), "CNCSellBenifit": "0"},
        "limitsAssigned": {"CNCLimit": "0"},
    }
    result = {"BalanceList": [{"limitHeader": "ALL|ALL|ALL", "limitObject": limit}]}
    return ok(result, "s-user-0001", "Balance Fetched.")


@session()
def holdings(request, account, token):
    """§4 Holdings: keyed by ISIN, instrument ids only; an NSE id of 0 means held on BSE."""
    items = {}
    for held in account.holdings:
        security = universe.SECURITIES[held.symbol]
        items[security.isin] = {
            "ISIN": security.isin,
            "ExchangeNSEInstrumentId": int(security.nse_token) if held.exchange == "NSE" else 0,
            "ExchangeBSEInstrumentId": int(security.bse_code),
            "HoldingType": 1,
            "HoldingQuantity": held.quantity,
            "UsedQuantity": 0,
            "AuthorizeQuantity": 0,
            "CollateralQuantity": 0,
            "Haircut": 0,
            "IsCollateralHolding": False,
            "BuyAvgPrice": float(held.average_price),
            "IsBuyAvgPriceProvided": True,
        }
    if not items:
        return nothing("holdings")
    return ok({"RMSHoldings": {"Holdings": items}}, "s-holdings-0001", "Holdings Fetched.")


@session()
def positions(request, account, token):
    """§4 Positions: the demo positions plus today's fills, numbers as strings."""
    if request.GET.get("dayOrNet") not in ("DayWise", "NetWise"):
        return bad_request('"dayOrNet" must be one of [DayWise, NetWise]')
    books = kit.day_book(BROKER, account)
    rows = [position_row(account, key, leg) for key, leg in books.items()]
    if not rows:
        return nothing("portfolio")
    return ok({"positionList": rows}, "s-portfolio-0001", "Position Fetched.")


@session()
def order_book(request, account, token):
    """GET /interactive/orders: the book, or one order's history with ?appOrderID=."""
    wanted = request.GET.get("appOrderID")
    book = kit.orders(BROKER, account.account_id)
    if wanted is None:
        if not book:
            return nothing("orders")
        rows = [order_row(account.account_id, o) for o in book]
        return ok(rows, "s-orders-0001", "Success order book")
    found = next((o for o in book if o.order_id == wanted), None)
    if found is None:
        return nothing("orders")
    history = [
        order_row(account.account_id, found, "PendingNew"),
        order_row(account.account_id, found),
    ]
    return ok(history, "s-orders-0001", "Success order history")


@session()
def trade_book(request, account, token):
    rows = []
    for o in kit.orders(BROKER, account.account_id):
        if o.filled_quantity:
            row = order_row(account.account_id, o)
            row.update(
                LastTradedPrice=float(o.average_price),
                LastTradedQuantity=o.filled_quantity,
                LastExecutionTransactTime=stamp(o.updated_at, zone=True),
                ExecutionID=f"5{o.order_id[-9:]}",
                ExecutionReportIndex=1,
            )
            rows.append(row)
    if not rows:
        return nothing("tradebook")
    return ok(rows, "s-tradebook-0001", "Success trade book")


# --- §4 writes ---------------------------------------------------------------------------------
def _number(data: dict, name: str, *, whole: bool = False, positive: bool = False) -> Decimal:
    value = data.get(name)
    try:
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            raise ValueError
        number = Decimal(str(value))
        if not number.is_finite() or number < 0 or (whole and number % 1):
            raise ValueError
    except (ArithmeticError, ValueError):
        raise Refusal(bad_request(f'"{name}" must be a number')) from None
    if positive and number <= 0:
        raise Refusal(bad_request(f'"{name}" must be a positive number'))
    return number


def _choice(data: dict, name: str, choices) -> str:
    value = str(data.get(name, "")).upper()
    if value not in choices:
        raise Refusal(bad_request(f'"{name}" must be one of [{", ".join(choices)}]'))
    return value


def _prices(order_type: str, limit: Decimal, stop: Decimal, prefix: str = "") -> None:
    if order_type in ("LIMIT", "SL") and limit <= 0:
        raise Refusal(bad_request(f'"{prefix}limitPrice" must be a positive number'))
    if order_type in ("SL", "SL-M") and stop <= 0:
        raise Refusal(bad_request(f'"{prefix}stopPrice" must be a positive number'))


def _tag(data: dict) -> str:
    if "orderUniqueIdentifier" not in data:
        raise Refusal(bad_request('"orderUniqueIdentifier" is required'))
    tag = str(data["orderUniqueIdentifier"])
    if len(tag) > TAG_MAX:
        raise Refusal(bad_request(f'"orderUniqueIdentifier" length must be <= {TAG_MAX}'))
    return tag


@session()
def place(request, account, token):
    return kit.order_write(
        BROKER, account.account_id, lambda: _refused_or(_place, request, account)
    )


def _refused_or(write, request, account):
    """A write's answer, its refusal included: the order faults wrap the whole exchange."""
    try:
        return write(request, account)
    except Refusal as refusal:
        return refusal.response


def _place(request, account):
    data = json_body(request)
    segment = _choice(data, "exchangeSegment", tuple(SEGMENT_NUMBERS))
    instrument = _number(data, "exchangeInstrumentID", whole=True, positive=True)
    product = _choice(data, "productType", PRODUCTS)
    order_type = ORDER_TYPES[_choice(data, "orderType", tuple(ORDER_TYPES))]
    side = _choice(data, "orderSide", ("BUY", "SELL"))
    validity = _choice(data, "timeInForce", ("DAY", "IOC"))
    _number(data, "disclosedQuantity", whole=True)
    quantity = int(_number(data, "orderQuantity", whole=True, positive=True))
    limit, stop = _number(data, "limitPrice"), _number(data, "stopPrice")
    _prices(order_type, limit, stop)
    tag = _tag(data)
    exchange = LISTED.get(segment)
    security = universe.by_exchange_token(exchange, instrument) if exchange else None
    if security is None:
        return error("e-orders-0003", "Invalid Instrument")  # UNCONFIRMED wording
    order = kit.SandboxOrder(
        order_id=kit.new_order_id(),
        account=account.account_id,
        symbol=security.symbol,
        exchange=exchange,
        side=side,
        quantity=quantity,
        order_type=order_type,
        product=product,
        price=str(limit),
        trigger_price=str(stop),
        validity=validity,
        tag=tag,
        status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN",
    )
    # gotcha 11: the RMS refuses after "Request sent"; only the order book tells.
    refusal = kit.shortfall(BROKER, account, order, delivery="CNC")
    if refusal is not None:
        order.status, order.status_message = "REJECTED", rejection_reason(refusal)
    kit.save_order(BROKER, order)
    result = {
        "AppOrderID": int(order.order_id),
        "OrderUniqueIdentifier": tag,
        "ClientID": account.account_id,
    }
    return ok(result, "s-orders-0001", "Request sent")


def _open_order(account, app_order_id) -> kit.SandboxOrder:
    order = kit.find_order(BROKER, account.account_id, str(app_order_id))
    if order is None:
        raise Refusal(error("e-orders-0010", "Order Not Found"))  # UNCONFIRMED wording
    if order.status not in LIVE:
        raise Refusal(error("e-orders-0011", f"Order is already {STATUS_WORDS[order.status]}"))
    return order


MODIFY_FIELDS = (
    "appOrderID",
    "modifiedProductType",
    "modifiedOrderType",
    "modifiedOrderQuantity",
    "modifiedDisclosedQuantity",
    "modifiedLimitPrice",
    "modifiedStopPrice",
    "modifiedTimeInForce",
    "orderUniqueIdentifier",
)


@session()
def modify(request, account, token):
    return kit.order_write(
        BROKER, account.account_id, lambda: _refused_or(_modify, request, account)
    )


def _modify(request, account):
    """PUT /interactive/orders: the SDK always sends every modified* field (gotcha 12)."""
    data = json_body(request)
    missing = [f'"{name}" is required' for name in MODIFY_FIELDS if name not in data]
    if missing:
        return bad_request(*missing)
    app_order_id = int(_number(data, "appOrderID", whole=True, positive=True))
    product = _choice(data, "modifiedProductType", PRODUCTS)
    order_type = ORDER_TYPES[_choice(data, "modifiedOrderType", tuple(ORDER_TYPES))]
    quantity = int(_number(data, "modifiedOrderQuantity", whole=True, positive=True))
    _number(data, "modifiedDisclosedQuantity", whole=True)
    limit, stop = _number(data, "modifiedLimitPrice"), _number(data, "modifiedStopPrice")
    _prices(order_type, limit, stop, prefix="modified")
    validity = _choice(data, "modifiedTimeInForce", ("DAY", "IOC"))
    tag = _tag(data)
    order = _open_order(account, app_order_id)
    order.product, order.order_type, order.quantity = product, order_type, quantity
    order.price, order.trigger_price = str(limit), str(stop)
    order.validity, order.tag = validity, tag
    order.status = "TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN"
    kit.save_order(BROKER, order)
    result = {
        "AppOrderID": app_order_id,
        "OrderUniqueIdentifier": tag,
        "ClientID": account.account_id,
    }
    return ok(result, "s-orders-0002", "Request sent")


@session()
def cancel(request, account, token):
    return kit.order_write(
        BROKER, account.account_id, lambda: _refused_or(_cancel, request, account)
    )


def _cancel(request, account):
    """DELETE /interactive/orders?appOrderID=&orderUniqueIdentifier= (query parameters)."""
    query = request.GET.dict()
    missing = [
        f'"{n}" is required' for n in ("appOrderID", "orderUniqueIdentifier") if n not in query
    ]
    if missing:
        return bad_request(*missing)
    app_order_id = int(_number(query, "appOrderID", whole=True, positive=True))
    order = _open_order(account, app_order_id)
    order.status = "CANCELLED"
    kit.save_order(BROKER, order)
    return ok(
        {"AppOrderID": app_order_id, "ClientID": account.account_id},
        "s-orders-0003",
        "Request sent",
    )


@session(kind="marketdata", invalid_status=200)
def quotes(request, account, token):
    data = json_body(request)
    instruments = data.get("instruments")
    if not isinstance(instruments, list) or not 0 < len(instruments) <= QUOTE_BATCH:
        return bad_request(f'"instruments" must hold 1 to {QUOTE_BATCH} items')
    code = data.get("xtsMessageCode")
    if code not in MESSAGE_CODES:
        return bad_request(f'"xtsMessageCode" must be one of {list(MESSAGE_CODES)}')
    if str(data.get("publishFormat", "")).upper() != "JSON":
        return bad_request('"publishFormat" must be JSON')
    listed = []
    for item in instruments:
        segment = item.get("exchangeSegment") if isinstance(item, dict) else None
        instrument = item.get("exchangeInstrumentID") if isinstance(item, dict) else None
        security = security_of(segment, instrument)
        if security is not None:
            listed.append(touchline(security, int(segment), int(instrument), code))
    result = {"mdp": code, "quotesList": instruments, "listQuotes": listed}
    return ok(result, "s-quotes-0001", "Get quotes successfully!")


@csrf_exempt
def master(request):
    """POST /apimarketdata/instruments/master: one headerless pipe-separated string (§4)."""
    if request.method != "POST":
        return ERRORS.wrong_method(["POST"])
    # The master is public (S3 fetches it bare); a token, when sent, still picks the faults.
    token = request.headers.get("authorization", "")
    account_id = kit.account_for_token(BROKER, token, kind="marketdata") or "*"
    fault = kit.apply_faults(BROKER, account_id, ERRORS)
    if fault is not None:
        return fault
    try:
        data = json_body(request)
    except Refusal as refusal:
        return refusal.response
    segments = data.get("exchangeSegmentList")
    if not isinstance(segments, list) or not segments:
        return bad_request('"exchangeSegmentList" must be a non-empty array')
    unknown = [s for s in segments if s not in SEGMENT_NUMBERS]
    if unknown:
        return bad_request(f'"exchangeSegmentList" has unknown segments {unknown}')
    rows = [
        master_row(security, segment)
        for segment in segments
        if segment in LISTED
        for security in universe.SECURITIES.values()
    ]
    return ok("\n".join(rows), "s-instrument-0002", "Instrument Master Fetched.")
