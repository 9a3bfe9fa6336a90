"""Pre-trade risk checks: an order intent against the trader's effective policy and book.

``check()`` is pure (no database, no clock, no network): it returns every rule the order
breaks, each as a ``Breach`` with a stable code and a sentence, in the order below; an empty
list means the order may go. Global rules always apply; a broker's own rules (its pause, its
trading hours, order value, position limits, daily loss, instruments and price tolerance)
apply when ``broker_key`` names the connection the order is about to go to — call it once
without a broker before routing and again with the chosen broker (and with each fallback
before failing over to it).

Codes (scope "global" unless the rule is a broker's):

    KILL_SWITCH            the kill switch is on
    BROKER_UNKNOWN         broker_key is not one of the trader's connected brokers
    BROKER_PAUSED          the trader paused this broker
    QUANTITY_NOT_WHOLE     quantity is not a whole number
    QUANTITY_NOT_POSITIVE  zero or negative quantity
    LOT_SIZE               quantity is not a multiple of the lot
    PRICE_REQUIRED         a LIMIT or SL order without a price
    PRICE_NOT_ALLOWED      a MARKET or SL-M order with a price
    TRIGGER_REQUIRED       an SL or SL-M order without a trigger price
    TRIGGER_NOT_ALLOWED    a MARKET or LIMIT order with a trigger price
    PRICE_NOT_POSITIVE     a price or trigger of zero or less
    TICK_SIZE              a price or trigger off the tick size
    PRICE_BAND             a price or trigger outside the day's price band
    TRIGGER_SIDE           a trigger on the wrong side of the last price or of the limit price
    MARKET_PROTECTION      a MARKET or SL-M order without SEBI's market protection (2026)
    INSTRUMENT_EXPIRED     the contract expired
    EXCHANGE_HOLIDAY       an NSE/BSE trading holiday
    MARKET_CLOSED          a weekend, or outside the exchange's session (IST)
    OUTSIDE_TRADING_HOURS  inside the session but outside the trader's hours for this broker
    INSTRUMENT_NOT_ALLOWED the broker has an allowed list and the instrument is not on it
    INSTRUMENT_RESTRICTED  the instrument is on the broker's restricted list
    PRICE_UNKNOWN          no last price, so a price-based rule cannot be checked
    PRICE_TOLERANCE        a LIMIT price further from the last price than the broker allows
    MAX_ORDER_VALUE        the order is worth more than one order may be (global or broker)
    POSITION_QUANTITY      the position after the order is larger than allowed (broker)
    POSITION_VALUE         the position after the order is worth more than allowed (broker)
    SELL_NOT_HELD          a delivery sell of more shares than the trader holds
    GROSS_EXPOSURE         the gross exposure after the order is over the limit
    CONCENTRATION          the instrument would be over its share of the capital
    DAILY_LOSS             today's loss reached the limit (global or broker)
    OPEN_ORDERS            as many orders are open as allowed

Decisions worth knowing: limits on positions, exposure, concentration and daily loss stop an
order only when it makes the position larger (in absolute size): an order that reduces or
closes a position always passes them, so a trader at the loss limit can still get out.
Concentration is the instrument's value after the order as a share of the capital
(holdings + positions + funds available). Price tolerance applies to LIMIT prices (an SL's
trigger is meant to be away from the market). The holiday list is NSE's and BSE's (equity
and derivatives); other exchanges are checked for weekends and their session only. After-
market orders are not accepted: the policy has no setting for them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from brokers.models import Broker
from brokers.types import OrderType, Product, Side
from portfolio.templatetags.portfolio_format import inr
from routing.intent import Book, Breach, InstrumentInfo, Intent
from routing.policy import calendar

if TYPE_CHECKING:
    from routing.policy.effective import BrokerPolicy, EffectivePolicy

IST = ZoneInfo("Asia/Kolkata")
GLOBAL = "global"
HOLIDAY_EXCHANGES = frozenset(("NSE", "BSE", "NFO", "BFO"))
PRICED = (OrderType.LIMIT, OrderType.SL)
TRIGGERED = (OrderType.SL, OrderType.SL_M)
MARKET_LIKE = (OrderType.MARKET, OrderType.SL_M)
DELIVERY = (Product.CNC, Product.MTF)
BROKER_NAMES = dict(Broker.choices)


def check(
    intent: Intent,
    *,
    policy: EffectivePolicy,
    book: Book,
    last_price: Decimal | None,
    now: datetime,
    broker_key: str | None = None,
) -> list[Breach]:
    """Every rule ``intent`` breaks, global ones and, with ``broker_key``, that broker's."""
    found: list[Breach] = []
    add = found.append
    instrument = intent.instrument
    broker: BrokerPolicy | None = None
    scope = GLOBAL

    if policy.kill_switch.on:
        reason = f" ({policy.kill_switch.reason})" if policy.kill_switch.reason else ""
        add(Breach("KILL_SWITCH", f"The kill switch is on{reason}: no new orders are sent."))
    if broker_key is not None:
        broker = policy.brokers.get(broker_key)
        scope = broker_key
        if broker is None:
            add(Breach("BROKER_UNKNOWN", f"{broker_key} is not a connected broker.", scope))
        elif broker.paused:
            paused = f"You paused {_label(broker)}: no new orders go there."
            add(Breach("BROKER_PAUSED", paused, scope))

    sized = _quantity(intent, found)
    _prices(intent, last_price, found)
    local = now.astimezone(IST)
    if instrument.expiry is not None and instrument.expiry < local.date():
        add(
            Breach(
                "INSTRUMENT_EXPIRED",
                f"{instrument.symbol} expired on {instrument.expiry:%d %b %Y}.",
            )
        )
    _hours(instrument.exchange, local, policy, broker, found)
    if broker is not None:
        refused = instrument_refusal(instrument, broker)
        if refused:
            add(Breach(refused[0], refused[1], scope))
    if not sized:
        return found

    # Rules on value and position: worked at the order's price (its limit, else its trigger,
    # else the last price).
    price = intent.reference_price(last_price)
    key = instrument.key
    risk = policy.policy.risk
    before = book.quantities.get(key, 0)
    after = before + intent.signed_quantity
    grows = abs(after) > abs(before)
    at_broker = book.broker_quantities.get(broker_key, 0) if broker is not None else 0
    grows_at_broker = abs(at_broker + intent.signed_quantity) > abs(at_broker)

    unknown = []
    if intent.order_type is OrderType.LIMIT and broker is not None and last_price is None:
        unknown.append("the price tolerance")
    needs_price = (
        risk.max_order_value is not None
        or (grows and risk.max_gross_exposure is not None)
        or (grows and risk.max_concentration_pct is not None)
        or (
            broker is not None
            and (
                broker.trading.max_order_value is not None
                or (grows_at_broker and broker.risk.max_position_value is not None)
            )
        )
    )
    if price is None and needs_price:
        unknown.append("the order's value")
    if unknown:
        add(
            Breach(
                "PRICE_UNKNOWN",
                f"No last price for {instrument.symbol}: {' and '.join(unknown)} cannot be "
                "checked.",
            )
        )

    if (
        broker is not None
        and last_price
        and intent.order_type is OrderType.LIMIT
        and intent.price is not None
        and intent.price > 0
    ):
        tolerance = broker.trading.price_tolerance_pct
        away = abs(intent.price - last_price) / last_price * 100
        if away > tolerance:
            add(
                Breach(
                    "PRICE_TOLERANCE",
                    f"Limit price {inr(intent.price)} is {percent_text(away)} % away from the "
                    f"last price {inr(last_price)}; {_label(broker)} allows "
                    f"{percent_text(tolerance)} %.",
                    scope,
                )
            )

    value = None if price is None else price * intent.quantity
    if value is not None:
        if risk.max_order_value is not None and value > risk.max_order_value:
            add(
                Breach(
                    "MAX_ORDER_VALUE",
                    f"Order value {inr(value)} is over the {inr(risk.max_order_value)} limit "
                    "for one order.",
                )
            )
        limit = broker.trading.max_order_value if broker is not None else None
        if limit is not None and value > limit:
            add(
                Breach(
                    "MAX_ORDER_VALUE",
                    f"Order value {inr(value)} is over {_label(broker)}'s {inr(limit)} limit "
                    "for one order.",
                    scope,
                )
            )

    if broker is not None and grows_at_broker:
        held = at_broker + intent.signed_quantity
        most = broker.risk.max_position_quantity
        if most is not None and abs(held) > most:
            add(
                Breach(
                    "POSITION_QUANTITY",
                    f"The position at {_label(broker)} would be {abs(held)} {instrument.symbol}, "
                    f"over its limit of {most}.",
                    scope,
                )
            )
        worth = broker.risk.max_position_value
        if worth is not None and price is not None and abs(held) * price > worth:
            add(
                Breach(
                    "POSITION_VALUE",
                    f"The position at {_label(broker)} would be worth {inr(abs(held) * price)}, "
                    f"over its limit of {inr(worth)}.",
                    scope,
                )
            )

    if (
        intent.side is Side.SELL
        and intent.product in DELIVERY
        and instrument.exchange in ("NSE", "BSE")
        and intent.quantity > max(before, 0)
    ):
        add(
            Breach(
                "SELL_NOT_HELD",
                f"You hold {max(before, 0)} {instrument.symbol}; a delivery sell of "
                f"{intent.quantity} needs them in your demat.",
            )
        )

    if grows and price is not None:
        growth = (abs(after) - abs(before)) * price
        exposure = risk.max_gross_exposure
        if exposure is not None and book.gross_exposure + growth > exposure:
            add(
                Breach(
                    "GROSS_EXPOSURE",
                    f"Gross exposure would be {inr(book.gross_exposure + growth)}, over the "
                    f"{inr(exposure)} limit.",
                )
            )
        share = risk.max_concentration_pct
        if share is not None:
            worth = abs(after) * price
            capital = max(book.portfolio_value + book.cash, worth)
            pct = worth / capital * 100
            if pct > share:
                add(
                    Breach(
                        "CONCENTRATION",
                        f"{instrument.symbol} would be {percent_text(pct)} % of your capital "
                        f"({inr(worth)} of {inr(capital)}), over the {percent_text(share)} % "
                        "limit.",
                    )
                )

    _daily_loss(risk.max_daily_loss, book.day_pnl, grows, None, found)
    if broker is not None:
        day = book.broker_day_pnl.get(broker_key, Decimal(0))
        _daily_loss(broker.risk.max_daily_loss, day, grows_at_broker, broker, found)

    most_open = risk.max_open_orders
    if most_open is not None and book.open_orders >= most_open:
        add(
            Breach(
                "OPEN_ORDERS",
                f"{book.open_orders} orders are open, the most you allow: wait for one to "
                "fill or cancel one.",
            )
        )
    return found


def instrument_refusal(instrument: InstrumentInfo, broker: BrokerPolicy) -> tuple[str, str] | None:
    """(code, sentence) when the broker's allowed or restricted lists refuse the instrument."""
    refs = instrument.refs
    if broker.allowed and not (refs & broker.allowed):
        return (
            "INSTRUMENT_NOT_ALLOWED",
            f"{instrument.symbol} is not on {_label(broker)}'s list of allowed instruments.",
        )
    if refs & broker.restricted:
        return (
            "INSTRUMENT_RESTRICTED",
            f"{instrument.symbol} is on {_label(broker)}'s list of restricted instruments.",
        )
    return None


def _quantity(intent: Intent, found: list[Breach]) -> bool:
    """Quantity rules; whether the quantity is usable for the value rules."""
    quantity = intent.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        found.append(Breach("QUANTITY_NOT_WHOLE", f"Quantity {quantity} is not a whole number."))
        return False
    if quantity <= 0:
        found.append(Breach("QUANTITY_NOT_POSITIVE", "Quantity must be at least 1."))
        return False
    lot = intent.instrument.lot_size
    if lot > 1 and quantity % lot:
        found.append(
            Breach(
                "LOT_SIZE",
                f"Quantity {quantity} is not a multiple of the lot size {lot} of "
                f"{intent.instrument.symbol} (try {max(lot, quantity - quantity % lot)}).",
            )
        )
    return True


def _prices(intent: Intent, last_price: Decimal | None, found: list[Breach]) -> None:
    add = found.append
    kind = intent.order_type
    price, trigger = intent.price, intent.trigger_price
    if kind in PRICED and price is None:
        add(Breach("PRICE_REQUIRED", f"A {kind.value} order needs a price."))
    if kind in MARKET_LIKE and price is not None:
        add(
            Breach(
                "PRICE_NOT_ALLOWED",
                f"A {kind.value} order takes no price: leave it empty, or make it a "
                f"{'LIMIT' if kind is OrderType.MARKET else 'SL'} order.",
            )
        )
    if kind in TRIGGERED and trigger is None:
        add(Breach("TRIGGER_REQUIRED", f"A {kind.value} order needs a trigger price."))
    if kind not in TRIGGERED and trigger is not None:
        add(
            Breach(
                "TRIGGER_NOT_ALLOWED",
                f"A {kind.value} order takes no trigger price: only SL and SL-M orders do.",
            )
        )
    if kind in MARKET_LIKE and not (
        intent.market_protection == -1 or 1 <= intent.market_protection <= 100
    ):
        add(
            Breach(
                "MARKET_PROTECTION",
                f"Under SEBI's rules for API orders a {kind.value} order needs market protection: "
                f"-1 (the broker's automatic) or 1 to 100 %, not {intent.market_protection}.",
            )
        )

    instrument = intent.instrument
    tick = instrument.tick_size
    for name, value in (("Price", price), ("Trigger price", trigger)):
        if value is None:
            continue
        if value <= 0:
            add(Breach("PRICE_NOT_POSITIVE", f"{name} must be more than zero."))
            continue
        if tick and value % tick:
            below = value - value % tick
            add(
                Breach(
                    "TICK_SIZE",
                    f"{name} {_price(value)} is not a multiple of the tick size {_price(tick)} "
                    f"of {instrument.symbol} (try {_price(below)} or {_price(below + tick)}).",
                )
            )
        low, high = instrument.lower_band, instrument.upper_band
        if (low is not None and value < low) or (high is not None and value > high):
            add(
                Breach(
                    "PRICE_BAND",
                    f"{name} {inr(value)} is outside today's price band of {instrument.symbol} "
                    f"({_band(low, high)}).",
                )
            )

    if kind not in TRIGGERED or trigger is None or trigger <= 0:
        return
    buy = intent.side is Side.BUY
    if last_price is not None and (trigger <= last_price if buy else trigger >= last_price):
        add(
            Breach(
                "TRIGGER_SIDE",
                f"A {'buy' if buy else 'sell'} stop-loss triggers "
                f"{'above' if buy else 'below'} the last price {inr(last_price)}; a trigger of "
                f"{inr(trigger)} would fire at once.",
            )
        )
    if kind is OrderType.SL and price is not None and price > 0:
        if buy and price < trigger:
            add(
                Breach(
                    "TRIGGER_SIDE",
                    f"For a buy stop-loss the price {inr(price)} must be at or above the "
                    f"trigger {inr(trigger)}.",
                )
            )
        if not buy and price > trigger:
            add(
                Breach(
                    "TRIGGER_SIDE",
                    f"For a sell stop-loss the price {inr(price)} must be at or below the "
                    f"trigger {inr(trigger)}.",
                )
            )


def _hours(
    exchange: str,
    local: datetime,
    policy: EffectivePolicy,
    broker: BrokerPolicy | None,
    found: list[Breach],
) -> None:
    today = local.date()
    if exchange in HOLIDAY_EXCHANGES and today in policy.holidays:
        name = calendar.HOLIDAYS.get(today.year, {}).get(today, "a trading holiday")
        found.append(
            Breach("EXCHANGE_HOLIDAY", f"{exchange} is closed today, {today:%d %b %Y} ({name}).")
        )
        return
    if today.weekday() >= 5:
        found.append(Breach("MARKET_CLOSED", f"{exchange} is closed on {today:%A}s."))
        return
    session = calendar.SESSIONS.get(exchange)
    if session is None:
        found.append(Breach("MARKET_CLOSED", f"No trading session is known for {exchange}."))
        return
    clock = local.time()
    opens, closes = session
    if not opens <= clock < closes:
        found.append(
            Breach(
                "MARKET_CLOSED",
                f"{exchange} is open {opens:%H:%M} to {closes:%H:%M} IST; it is {clock:%H:%M} now.",
            )
        )
        return
    if broker is not None:
        hours = broker.trading.trading_hours
        start, end = clock_of(hours.start), clock_of(hours.end)
        if not start <= clock < end:
            found.append(
                Breach(
                    "OUTSIDE_TRADING_HOURS",
                    f"You trade through {_label(broker)} from {hours.start} to {hours.end} IST; "
                    f"it is {clock:%H:%M} now.",
                    broker.key,
                )
            )


def _daily_loss(
    limit: Decimal | None,
    pnl: Decimal,
    grows: bool,
    broker: BrokerPolicy | None,
    found: list[Breach],
) -> None:
    if limit is None or not grows or -pnl < limit:
        return
    where = f" at {_label(broker)}" if broker is not None else ""
    found.append(
        Breach(
            "DAILY_LOSS",
            f"Today's loss{where} of {inr(-pnl)} has reached the {inr(limit)} limit: only "
            "orders that reduce a position are accepted.",
            broker.key if broker is not None else GLOBAL,
        )
    )


@lru_cache(maxsize=256)
def clock_of(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _label(broker: BrokerPolicy) -> str:
    return label(broker.key, broker.broker)


def label(key: str, broker: str) -> str:
    """How a trader reads a connection: "Zerodha", or "Zerodha (zerodha-2)" for a second."""
    name = BROKER_NAMES.get(broker, broker)
    return name if key == broker else f"{name} ({key})"


def percent_text(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


def _band(low: Decimal | None, high: Decimal | None) -> str:
    if low is not None and high is not None:
        return f"{inr(low)} to {inr(high)}"
    return f"at least {inr(low)}" if low is not None else f"at most {inr(high)}"


def trade_date(now: datetime) -> date:
    """The trading day ``now`` falls on, in IST."""
    return now.astimezone(IST).date()


def _price(value: Decimal) -> str:
    """A price as a trader writes it: two places, more only where the tick needs them
    (0.05, 1528.00, 0.0025) — never the master's padding (0.0500)."""
    plain = value.normalize()
    if plain.as_tuple().exponent > -2:  # type: ignore[operator]
        plain = plain.quantize(Decimal("0.01"))
    return f"{plain:f}"
