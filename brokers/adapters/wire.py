"""Wire rules every broker shares: how amounts, quantities, times and symbols are read off an
answer, how a price goes back out, and how long a throttled call should wait.

Each rule lives here once. Where a broker really differs, its ``_<broker>_parse`` module passes a
keyword or wraps one of these in a line naming the broker note that makes it differ. Readers
raise ValueError on anything unusable: the HTTP door (brokers/http.py) turns that into
BadResponse, or OrderStateUnknown on an order write.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Container
from datetime import datetime
from decimal import Decimal

from brokers.clock import IST
from brokers.errors import BadResponse, BrokerUnavailable

GZIP_MAGIC = b"\x1f\x8b"


# --- Reading amounts and quantities -----------------------------------------------------------
def money(value: object, *, signed: bool = True) -> Decimal:
    """An amount, read from its text and never through float arithmetic (a JSON float parsed
    as float still prints its shortest repr, which is the number the broker wrote).

    NaN and Infinity are refused: one of them in a holding would make every total silently
    wrong. ``signed=False`` also refuses a negative amount, for fields that cannot be one."""
    amount = Decimal(str(value))
    if not amount.is_finite() or (not signed and amount < 0):
        raise ValueError(f"not a usable amount: {value!r}")
    return amount


def optional_price(value: object, *, signed: bool = True) -> Decimal | None:
    """A price that may be absent. Brokers write 0, "" or null where there is none (a market
    order's limit price, an unfilled order's average), so all three read as None."""
    if value is None or str(value).strip() == "":
        return None
    return money(value, signed=signed) or None


def quantity(value: object, *, signed: bool = True) -> int:
    """A whole number of shares or lots, from an int, a float or numeric text ("10", 10.0).
    A fractional one is refused, never truncated: 1.5 read as 1 would misstate a holding."""
    amount = money(value, signed=signed)
    if amount != amount.to_integral_value():
        raise ValueError(f"not a whole quantity: {value!r}")
    return int(amount)


# --- Writing prices ---------------------------------------------------------------------------
def json_number(amount: Decimal | None, *, always_float: bool = False) -> int | float:
    """A price for a JSON body, which has no decimal type. The float is built from the
    Decimal's digits, so its repr (what json.dumps writes) is exactly the price we were given;
    a whole price goes as an int. None is 0, every JSON broker's "no price".

    ``always_float``: the broker's SDK sends 2500.0 rather than 2500 (its samples do), and our
    request should look like the SDK's."""
    if amount is None:
        return 0
    if always_float:
        return float(amount)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


# --- Times and symbols ------------------------------------------------------------------------
def when(value: object, *layouts: str, lenient: bool = False) -> datetime | None:
    """A broker timestamp as an aware datetime. Indian brokers write IST without a zone, so a
    naive time is IST; an explicit offset is kept. Without ``layouts`` the text is ISO 8601.

    Empty means "not yet" (None). ``lenient``: an unreadable time is None rather than an error,
    where the time is only informational and must not hide the order or trade it belongs to."""
    if not value:
        return None
    text = str(value)
    for layout in layouts or (None,):
        try:
            if layout is None:
                moment = datetime.fromisoformat(text)
            else:
                moment = datetime.strptime(text, layout)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=IST)
    if lenient:
        return None
    raise ValueError(f"unreadable time {text[:40]!r}")


def strip_series(symbol: str, series: Container[str]) -> str:
    """The exchange's symbol without the series a broker appends ("SBIN-EQ" → "SBIN").

    Only the broker's known series codes are stripped: real symbols contain dashes too
    (BAJAJ-AUTO, MCDOWELL-N), so "anything after the last dash" would cut them."""
    base, dash, suffix = symbol.rpartition("-")
    return base if dash and suffix in series else symbol


# --- Reading an answer -----------------------------------------------------------------------
def json_body(response, **options) -> object:
    """The answer's JSON, or None when the body is not JSON (empty, HTML, truncated).

    Decoded once per answer: the broker's ``map_error()`` reads it, then the call's parser.
    ``options`` go to json.loads (parse_float=Decimal...); a broker passes the same ones each
    time, since the first reading is the one kept."""
    try:
        return response.__dict__["_json_body"]
    except KeyError:
        pass
    try:
        body = json.loads(response.content, **options)
    except (ValueError, RecursionError):
        body = None
    response.__dict__["_json_body"] = body
    return body


# --- Transport details ------------------------------------------------------------------------
def retry_after(
    response, *, header: str = "Retry-After", default: float | None = 1.0
) -> float | None:
    """Seconds to wait from a throttled answer's Retry-After header (the delta-seconds form;
    no broker here sends an HTTP date). Missing, unreadable, negative or infinite gives
    ``default``: every broker's published limits are per second, so one second is the safe
    guess when nothing is said."""
    try:
        seconds = float(response.headers.get(header) or "")
    except ValueError:
        return default
    return seconds if 0 <= seconds < float("inf") else default


def raise_for_download(
    response, *, broker: str, endpoint: str, what: str = "instrument master"
) -> None:
    """A public file (an instrument master) has no envelope to explain a failure, so the status
    decides: a 5xx is the broker being down (worth a retry), anything else but 200 a download
    that will not become a master."""
    status, where = response.status_code, {"broker": broker, "endpoint": endpoint}
    if status >= 500:
        raise BrokerUnavailable(f"HTTP {status}", **where)
    if status != 200:
        raise BadResponse(f"{what} not served (HTTP {status})", **where)


def gunzipped(content: bytes) -> bytes:
    """A download with any gzip layer removed. Instrument masters are served as .gz files
    without Content-Encoding, so the HTTP client hands them over still compressed."""
    if content[:2] != GZIP_MAGIC:
        return content
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error):
        raise ValueError("not a readable gzip file") from None
