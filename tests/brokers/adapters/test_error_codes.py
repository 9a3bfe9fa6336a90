"""Each broker's documented error answers (docs/brokers/<broker>.md §5 and samples/) → the
error a caller acts on, as each adapter's map_error reads them: the class (retry, log in
again, fix the order), the broker's own code, and the broker named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import responses

from brokers.clock import IST
from brokers.errors import (
    AuthError,
    BrokerUnavailable,
    InvalidRequest,
    Maintenance,
    OrderRejected,
    OrderStateUnknown,
    RateLimited,
    TokenExpired,
)
from tests.brokers.orders import limit_buy
from tests.brokers.stubbed import adapter_for

SAMPLES = Path(__file__).resolve().parents[3] / "docs" / "brokers" / "samples"
EVERYTHING = re.compile(r"https?://.*")


def kite(error_type: str, message: str = "refused") -> dict:
    return {"status": "error", "message": message, "data": None, "error_type": error_type}


def upstox(code: str, message: str = "refused") -> dict:
    error = {"errorCode": code, "message": message, "propertyPath": None, "invalidValue": None}
    return {"status": "error", "errors": [error]}


def fyers(code: int, message: str = "refused") -> dict:
    return {"s": "error", "code": code, "message": message}


def angel(code: str, message: str = "refused", *, gateway: bool = False) -> dict:
    if gateway:  # §5: token errors come from the gateway with other key names
        return {"success": False, "message": message, "errorCode": code, "data": ""}
    return {"status": False, "message": message, "errorcode": code, "data": None}


def groww(code: str, message: str = "refused") -> dict:
    return {"status": "FAILURE", "error": {"code": code, "message": message, "metadata": None}}


def dhan(code: str, error_type: str = "Input_Exception") -> dict:
    return {"errorType": error_type, "errorCode": code, "errorMessage": "refused"}


def xts(code: str, description: str, result=None) -> dict:
    return {"type": "error", "code": code, "description": description, "result": result or {}}


def sample(broker: str, name: str) -> str:
    return (SAMPLES / broker / name).read_text()


# (call, HTTP status, body, our error, its code). "read" is holdings(), "order" a limit buy.
TABLES: dict[str, list[tuple]] = {
    "zerodha": [
        ("read", 403, sample("zerodha", "error_token.json"), TokenExpired, "TokenException"),
        ("read", 200, kite("TokenException"), TokenExpired, "TokenException"),
        ("read", 403, kite("PermissionException"), AuthError, "PermissionException"),
        ("read", 400, kite("InputException"), InvalidRequest, "InputException"),
        ("read", 400, kite("UserException"), InvalidRequest, "UserException"),
        ("order", 500, kite("OrderException"), OrderRejected, "OrderException"),
        ("order", 400, kite("MarginException"), OrderRejected, "MarginException"),
        ("order", 400, kite("HoldingException"), OrderRejected, "HoldingException"),
        ("read", 503, kite("NetworkException"), BrokerUnavailable, "NetworkException"),
        ("read", 502, kite("DataException"), BrokerUnavailable, "DataException"),
        ("read", 500, kite("GeneralException"), BrokerUnavailable, "GeneralException"),
        # §5, §8.11: over the limit is a NetworkException too; the 429 decides.
        ("read", 429, sample("zerodha", "error_rate_limit.json"), RateLimited, "NetworkException"),
        # A gateway's page without a Kite envelope: the status alone (the contract's default).
        ("read", 502, "<html>Bad Gateway</html>", BrokerUnavailable, "502"),
        ("read", 503, "<html>Down for maintenance</html>", Maintenance, "503"),
        ("read", 429, "Too many requests", RateLimited, "429"),
    ],
    "upstox": [
        ("read", 401, sample("upstox", "error.json"), TokenExpired, "UDAPI100050"),
        ("read", 200, upstox("UDAPI100050"), TokenExpired, "UDAPI100050"),
        ("read", 401, upstox("UDAPI100016"), AuthError, "UDAPI100016"),
        ("read", 403, upstox("UDAPI100067"), AuthError, "UDAPI100067"),
        ("read", 401, upstox("UDAPI100073"), AuthError, "UDAPI100073"),
        ("read", 429, sample("upstox", "error_rate_limit.json"), RateLimited, "UDAPI10005"),
        ("read", 400, upstox("UDAPI100036"), InvalidRequest, "UDAPI100036"),
        ("read", 404, upstox("UDAPI10000"), InvalidRequest, "UDAPI10000"),
        ("read", 500, upstox("UDAPI100500"), BrokerUnavailable, "UDAPI100500"),
        ("read", 503, upstox("UDAPI100500", "offline for maintenance"), Maintenance, "UDAPI100500"),
        ("read", 423, upstox("UDAPI100074"), Maintenance, "UDAPI100074"),
        ("order", 400, upstox("UDAPI1004"), OrderRejected, "UDAPI1004"),
        ("order", 400, upstox("UDAPI100049"), OrderRejected, "UDAPI100049"),
    ],
    "fyers": [
        ("read", 200, sample("fyers", "error.json"), TokenExpired, "-16"),
        ("read", 401, fyers(-15, "Please provide valid token"), TokenExpired, "-15"),
        ("read", 200, fyers(-8), TokenExpired, "-8"),
        ("read", 200, fyers(-17), TokenExpired, "-17"),
        ("read", 200, fyers(-501), TokenExpired, "-501"),
        ("read", 200, fyers(-371), AuthError, "-371"),
        ("read", 200, fyers(-437), AuthError, "-437"),
        ("read", 429, sample("fyers", "error_rate_limit.json"), RateLimited, "429"),
        ("read", 200, fyers(-353), RateLimited, "-353"),
        ("read", 200, fyers(-429), RateLimited, "-429"),
        ("read", 200, fyers(-201), BrokerUnavailable, "-201"),
        ("read", 200, fyers(-96), BrokerUnavailable, "-96"),
        ("read", 400, fyers(-50), InvalidRequest, "-50"),
        ("read", 200, fyers(-300), InvalidRequest, "-300"),
        ("order", 200, fyers(-99), OrderRejected, "-99"),
        ("order", 400, fyers(-392), InvalidRequest, "-392"),
    ],
    "angelone": [
        ("read", 401, sample("angelone", "error.json"), TokenExpired, "AG8001"),
        ("read", 403, angel("AG8002", gateway=True), TokenExpired, "AG8002"),
        ("read", 200, angel("AG8003"), TokenExpired, "AG8003"),
        ("read", 200, angel("AB1010"), TokenExpired, "AB1010"),
        ("read", 200, angel("AB1011"), TokenExpired, "AB1011"),
        ("read", 200, angel("AB8050"), TokenExpired, "AB8050"),
        ("read", 200, angel("AB1000"), AuthError, "AB1000"),
        ("read", 200, angel("AB1007"), AuthError, "AB1007"),
        ("read", 200, angel("AB1004"), BrokerUnavailable, "AB1004"),
        ("read", 200, angel("AB2001"), BrokerUnavailable, "AB2001"),
        ("read", 200, angel("AB2000"), InvalidRequest, "AB2000"),
        ("read", 403, sample("angelone", "rate_limit.txt"), RateLimited, "403"),
        ("order", 200, sample("angelone", "error_order.json"), OrderRejected, "AB1012"),
        ("order", 200, angel("AB1009"), OrderRejected, "AB1009"),
        ("order", 200, angel("AB4008"), OrderRejected, "AB4008"),
        ("order", 200, angel("AB1006"), OrderRejected, "AB1006"),
    ],
    "groww": [
        ("read", 400, sample("groww", "error.json"), InvalidRequest, "GA001"),
        ("read", 200, groww("GA004"), InvalidRequest, "GA004"),
        ("read", 403, groww("GA005"), AuthError, "GA005"),
        ("read", 401, groww("GA005"), TokenExpired, "GA005"),
        ("read", 401, "", TokenExpired, "401"),  # §5: the token error's body is UNCONFIRMED
        ("read", 429, "", RateLimited, "429"),
        ("read", 500, groww("GA000"), BrokerUnavailable, "GA000"),
        ("read", 200, groww("GA003"), BrokerUnavailable, "GA003"),
        ("order", 400, groww("GA006"), OrderRejected, "GA006"),
        # An order with our reference id is already there: settled by the tag, never refused.
        ("order", 400, sample("groww", "error_duplicate_ref.json"), OrderStateUnknown, "GA007"),
    ],
    "dhan": [
        ("read", 401, sample("dhan", "error.json"), TokenExpired, "DH-901"),
        ("read", 403, dhan("DH-902", "Invalid_Access"), AuthError, "DH-902"),
        ("read", 400, dhan("DH-903", "User_Account"), InvalidRequest, "DH-903"),
        ("read", 429, sample("dhan", "error_rate_limit.json"), RateLimited, "DH-904"),
        ("read", 400, dhan("DH-905"), InvalidRequest, "DH-905"),
        ("read", 400, dhan("DH-907", "Data_Error"), InvalidRequest, "DH-907"),
        ("read", 500, dhan("DH-908", "Internal_Server_Error"), BrokerUnavailable, "DH-908"),
        ("read", 502, dhan("DH-909", "Network_Error"), BrokerUnavailable, "DH-909"),
        ("read", 400, dhan("DH-910", "Others"), InvalidRequest, "DH-910"),
        ("order", 400, dhan("DH-906", "Order_Error"), OrderRejected, "DH-906"),
        # Data-API numeric codes, recorded with HTTP 200 (§5).
        ("read", 200, sample("dhan", "error_data_api.json"), AuthError, "806"),
        ("read", 200, {"errorCode": 807, "errorMessage": "expired"}, TokenExpired, "807"),
        ("read", 200, {"errorCode": 809, "errorMessage": "invalid"}, TokenExpired, "809"),
        ("read", 200, {"errorCode": 808, "errorMessage": "failed"}, AuthError, "808"),
        ("read", 200, {"errorCode": 805, "errorMessage": "too many"}, RateLimited, "805"),
        ("read", 200, {"errorCode": 800, "errorMessage": "internal"}, BrokerUnavailable, "800"),
        ("read", 200, {"errorCode": 813, "errorMessage": "bad id"}, InvalidRequest, "813"),
        (
            "read",
            200,
            {"status": "failed", "remarks": "", "data": {"806": "Data APIs not subscribed"}},
            AuthError,
            "806",
        ),
    ],
    "iifl": [
        ("read", 400, sample("iifl", "error.json"), TokenExpired, "e-session-0007"),
        ("read", 200, xts("e-session-0007", "Invalid Token"), TokenExpired, "e-session-0007"),
        ("read", 400, xts("e-app-0001", "Bad Request"), InvalidRequest, "e-app-0001"),
        ("read", 401, xts("e-user-0001", "Unauthorized"), AuthError, "e-user-0001"),
        ("read", 429, "", RateLimited, "429"),
        ("read", 503, "<html>Down for maintenance</html>", Maintenance, "503"),
        ("read", 500, "", BrokerUnavailable, "500"),
        ("order", 400, xts("e-orders-0010", "Insufficient margin"), OrderRejected, "e-orders-0010"),
        # An order call answered "Data Not Available" is no empty book: the order is refused.
        ("order", 400, xts("e-orders-0005", "Data Not Available"), OrderRejected, "e-orders-0005"),
    ],
}
ROWS = [
    pytest.param(broker, *row, id=f"{broker}-{row[0]}-{row[1]}-{row[4]}")
    for broker, rows in TABLES.items()
    for row in rows
]


@pytest.mark.parametrize(("broker", "call", "status", "body", "error", "code"), ROWS)
def test_a_documented_error_is_our_error_naming_the_broker(
    broker, call, status, body, error, code, settings
):
    adapter = adapter_for(broker, settings)
    reply = dict(status=status, **({"json": body} if isinstance(body, dict) else {"body": body}))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT"):
            mock.add(method, EVERYTHING, **reply)
        with pytest.raises(error) as raised:
            adapter.holdings() if call == "read" else adapter.place_order(
                limit_buy(broker, tag="Table0001")
            )
    assert type(raised.value) is error
    assert raised.value.code == code
    assert raised.value.broker == broker
    assert str(raised.value).startswith(f"{broker} ")


def test_a_bad_request_names_the_fields_xts_refused(settings):
    adapter = adapter_for("iifl", settings)
    refusal = xts("e-app-0001", "Bad Request", {"errors": ["clientID is required"]})
    with responses.RequestsMock() as mock:
        mock.get(EVERYTHING, json=refusal, status=400)
        with pytest.raises(InvalidRequest, match="clientID is required"):
            adapter.profile()


def test_outside_upstox_service_hours_says_when_it_opens(settings):
    adapter = adapter_for("upstox", settings)
    with responses.RequestsMock() as mock:
        mock.get(EVERYTHING, json=upstox("UDAPI100074"), status=423)
        with pytest.raises(Maintenance) as raised:
            adapter.holdings()
    assert raised.value.until is not None
    opens = raised.value.until.astimezone(IST)
    assert (opens.hour, opens.minute) == (5, 30)


def test_a_token_refusal_at_the_kite_token_exchange_is_a_failed_login(settings):
    adapter = adapter_for("zerodha", settings)
    with responses.RequestsMock() as mock:
        mock.post(EVERYTHING, body=sample("zerodha", "error_token.json"), status=403)
        with pytest.raises(AuthError) as raised:
            adapter.complete_login({"request_token": "used-token-01", "status": "success"})
    assert type(raised.value) is AuthError  # not TokenExpired: there was no session yet


EMPTY_BOOKS = {
    "angelone": (200, angel("AB1013", "Order not found")),
    "iifl": (400, json.loads(sample("iifl", "error_empty.json"))),
    "dhan": (400, {"internalErrorCode": "DH-1111", "errorMessage": "No holdings available"}),
}


@pytest.mark.parametrize("broker", sorted(EMPTY_BOOKS))
def test_an_empty_book_spelt_as_an_error_is_empty(broker, settings):
    adapter = adapter_for(broker, settings)
    status, body = EMPTY_BOOKS[broker]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(EVERYTHING, json=body, status=status)
        assert (adapter.holdings() if broker == "dhan" else adapter.orders()) == []
