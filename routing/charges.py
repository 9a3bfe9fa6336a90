"""The Indian charges model: what one order costs at one broker, before it is sent.

``estimate(intent, plan, on=..., price=...)`` → ``Charges``: brokerage from the broker's plan
(the trader's, else the published one; ``routing.policy.plans``), then the levies every
broker passes on at cost — STT, the exchange's transaction charge (NSE's includes its IPFT
levy, as contract notes show it), SEBI's turnover fee, stamp duty, GST — and, on a delivery
sell, the depository (DP) charge.

Rates are data: one row per rate with the day it took effect; a change is one new row and an
estimate reads the row in force on the trade date. Percentages are of turnover (price x
quantity; for options, the premium). Rounding follows the contract notes: STT to the nearest
rupee (half up), every other amount to the paisa (half up); GST is worked on the rounded
brokerage, exchange charge and SEBI fee. The DP charge is the broker's fee plus its GST, as
the DP bill shows it; it is charged once per scrip per day, so an estimate counts it in full
(the first sell of the day). Covered: NSE and BSE cash (equity and ETFs), NSE (NFO) and BSE
(BFO) futures and options. Other exchanges (MCX, currency) raise ``ChargesUnknown``, as do
dates before ``FIRST_DAY``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from brokers.types import AssetType, Product, Side
from routing.intent import Charges, Intent

if TYPE_CHECKING:
    from routing.policy.schema import Charge, Plan

PAISA = Decimal("0.01")
RUPEE = Decimal("1")
ZERO = Decimal(0)

# The first trade date every table below covers (NSE's flat, "true to label" transaction
# charges began on it). Rows dated earlier took effect earlier and were still in force.
FIRST_DAY = date(2024, 10, 1)


class ChargesUnknown(ValueError):
    """The model has no rates for this order (exchange, segment or date): said in a sentence."""


# Segments, as the rates tell them apart.
DELIVERY = "delivery"
INTRADAY = "intraday"
ETF_DELIVERY = "etf_delivery"  # units of an equity-oriented fund, settled by delivery
FUTURES = "futures"
OPTIONS = "options"
INDEX_OPTIONS = "index_options"  # BSE's SENSEX and BANKEX options (dearer than its others)

ANY = "*"


@dataclass(frozen=True)
class Rate:
    levy: str  # STT, EXCHANGE, IPFT, SEBI, STAMP, GST
    exchange: str  # NSE or BSE (derivatives too: NFO is NSE's, BFO is BSE's), or ANY
    segment: str  # one of the segments above, or ANY
    side: str  # BUY, SELL or ANY
    since: date
    percent: Decimal


def _rate(levy, exchange, segment, side, since, percent) -> Rate:
    return Rate(levy, exchange, segment, side, since, Decimal(percent))


RATES: tuple[Rate, ...] = (
    # --- STT: Finance (No. 2) Act 2004, Chapter VII, the rates as amended ---------------------
    # Finance Act 2013, in force 1 June 2013: delivery 0.1 % each side, intraday 0.025 % on
    # the sell, units of equity-oriented funds 0.001 % on a delivery sell.
    _rate("STT", ANY, DELIVERY, "BUY", date(2013, 6, 1), "0.1"),
    _rate("STT", ANY, DELIVERY, "SELL", date(2013, 6, 1), "0.1"),
    _rate("STT", ANY, INTRADAY, "SELL", date(2013, 6, 1), "0.025"),
    _rate("STT", ANY, ETF_DELIVERY, "SELL", date(2013, 6, 1), "0.001"),
    # Finance Act 2023, from 1 April 2023: futures 0.0125 %, options 0.0625 % of the premium.
    _rate("STT", ANY, FUTURES, "SELL", date(2023, 4, 1), "0.0125"),
    _rate("STT", ANY, OPTIONS, "SELL", date(2023, 4, 1), "0.0625"),
    _rate("STT", ANY, INDEX_OPTIONS, "SELL", date(2023, 4, 1), "0.0625"),
    # Finance (No. 2) Act 2024, from 1 October 2024: futures 0.02 %, options 0.1 %.
    _rate("STT", ANY, FUTURES, "SELL", date(2024, 10, 1), "0.02"),
    _rate("STT", ANY, OPTIONS, "SELL", date(2024, 10, 1), "0.1"),
    _rate("STT", ANY, INDEX_OPTIONS, "SELL", date(2024, 10, 1), "0.1"),
    # Finance Act 2026 (Union Budget of 1 February 2026), on trades from 1 April 2026:
    # futures 0.05 %, options 0.15 % of the premium.
    _rate("STT", ANY, FUTURES, "SELL", date(2026, 4, 1), "0.05"),
    _rate("STT", ANY, OPTIONS, "SELL", date(2026, 4, 1), "0.15"),
    _rate("STT", ANY, INDEX_OPTIONS, "SELL", date(2026, 4, 1), "0.15"),
    # --- Exchange transaction charges, each side ----------------------------------------------
    # NSE circular "Revision in transaction charges" of 27 September 2024, from 1 October 2024
    # (SEBI's circular of 1 July 2024 on MII charges: one flat rate for every member):
    # cash ₹2.97 per lakh, equity futures ₹1.73 per lakh, options ₹35.03 per lakh of premium.
    _rate("EXCHANGE", "NSE", DELIVERY, ANY, date(2024, 10, 1), "0.00297"),
    _rate("EXCHANGE", "NSE", INTRADAY, ANY, date(2024, 10, 1), "0.00297"),
    _rate("EXCHANGE", "NSE", ETF_DELIVERY, ANY, date(2024, 10, 1), "0.00297"),
    _rate("EXCHANGE", "NSE", FUTURES, ANY, date(2024, 10, 1), "0.00173"),
    _rate("EXCHANGE", "NSE", OPTIONS, ANY, date(2024, 10, 1), "0.03503"),
    # BSE notice, from 1 December 2022: groups A, B and the non-exclusive groups ₹375 per
    # crore, flat (groups X, XT, Z, ZP, SS, ST, M, MT, TS, MS are dearer and not modelled).
    _rate("EXCHANGE", "BSE", DELIVERY, ANY, date(2022, 12, 1), "0.00375"),
    _rate("EXCHANGE", "BSE", INTRADAY, ANY, date(2022, 12, 1), "0.00375"),
    _rate("EXCHANGE", "BSE", ETF_DELIVERY, ANY, date(2022, 12, 1), "0.00375"),
    # BSE notice of 27 September 2024, from 1 October 2024: SENSEX and BANKEX options ₹3,250
    # per crore of premium; SENSEX 50 and stock options ₹500 per crore; futures free.
    _rate("EXCHANGE", "BSE", INDEX_OPTIONS, ANY, date(2024, 10, 1), "0.0325"),
    _rate("EXCHANGE", "BSE", OPTIONS, ANY, date(2024, 10, 1), "0.005"),
    _rate("EXCHANGE", "BSE", FUTURES, ANY, date(2024, 10, 1), "0"),
    # NSE Investor Protection Fund Trust levy, NSE circular NSE/FA/56129 of 24 March 2023, from
    # 1 April 2023: ₹10 per crore of turnover (cash, futures), ₹50 per crore of premium
    # (options). Contract notes show it inside the exchange transaction charges.
    _rate("IPFT", "NSE", DELIVERY, ANY, date(2023, 4, 1), "0.0001"),
    _rate("IPFT", "NSE", INTRADAY, ANY, date(2023, 4, 1), "0.0001"),
    _rate("IPFT", "NSE", ETF_DELIVERY, ANY, date(2023, 4, 1), "0.0001"),
    _rate("IPFT", "NSE", FUTURES, ANY, date(2023, 4, 1), "0.0001"),
    _rate("IPFT", "NSE", OPTIONS, ANY, date(2023, 4, 1), "0.0005"),
    # --- SEBI turnover fee: SEBI (Regulatory Fee on Stock Exchanges) Regulations, ₹10 per
    # crore of turnover, each side (in force before FIRST_DAY).
    _rate("SEBI", ANY, ANY, ANY, FIRST_DAY, "0.0001"),
    # --- Stamp duty: Indian Stamp Act 1899 as amended by the Finance Act 2019, collected by
    # the exchanges from 1 July 2020, on the buyer only: delivery ₹1,500 per crore,
    # intraday ₹300, futures ₹200, options ₹300 (of the premium).
    _rate("STAMP", ANY, DELIVERY, "BUY", date(2020, 7, 1), "0.015"),
    _rate("STAMP", ANY, ETF_DELIVERY, "BUY", date(2020, 7, 1), "0.015"),
    _rate("STAMP", ANY, INTRADAY, "BUY", date(2020, 7, 1), "0.003"),
    _rate("STAMP", ANY, FUTURES, "BUY", date(2020, 7, 1), "0.002"),
    _rate("STAMP", ANY, OPTIONS, "BUY", date(2020, 7, 1), "0.003"),
    _rate("STAMP", ANY, INDEX_OPTIONS, "BUY", date(2020, 7, 1), "0.003"),
    # --- GST on brokerage, exchange charges and the SEBI fee: 18 % since GST began, 1 July
    # 2017 (IGST, or CGST + SGST at 9 % each: the same sum).
    _rate("GST", ANY, ANY, ANY, date(2017, 7, 1), "18"),
)

# Depository charge on a delivery sell, per scrip per day, before GST: the depository's fee
# and the broker's, from each broker's public pricing page as published at plans.AS_OF
# (Zerodha: support.zerodha.com "DP charges" — ₹3.50 CDSL + ₹9.50 Zerodha; Fyers:
# support.fyers.in "How are DP charges levied in FYERS"; Upstox: upstox.com/brokerage-charges;
# Angel One: angelone.in/exchange-transaction-charges; Groww: groww.in/pricing; Dhan:
# dhan.co/pricing; IIFL: indiainfoline.com/pricing).
DP_FEES: dict[str, tuple[tuple[date, Decimal], ...]] = {
    "zerodha": ((FIRST_DAY, Decimal("13.00")),),
    "upstox": ((FIRST_DAY, Decimal("20.00")),),
    "fyers": ((FIRST_DAY, Decimal("12.50")),),
    "angelone": ((FIRST_DAY, Decimal("20.00")),),
    "groww": ((FIRST_DAY, Decimal("20.00")),),
    "dhan": ((FIRST_DAY, Decimal("12.50")),),
    "iifl": ((FIRST_DAY, Decimal("20.00")),),
}

VENUES = {"NSE": "NSE", "NFO": "NSE", "BSE": "BSE", "BFO": "BSE"}
CASH = frozenset(("NSE", "BSE"))
# BSE prices options on these two indices apart from the rest (SENSEX50 is not one of them).
BSE_INDEX_OPTIONS = ("SENSEX", "BANKEX")


def _index() -> dict[tuple[str, str, str, str], tuple[tuple[date, Decimal], ...]]:
    found: dict[tuple[str, str, str, str], list[tuple[date, Decimal]]] = {}
    for r in RATES:
        found.setdefault((r.levy, r.exchange, r.segment, r.side), []).append(
            (r.since, r.percent / 100)
        )
    return {key: tuple(sorted(rows, reverse=True)) for key, rows in found.items()}


_BY_KEY = _index()


@lru_cache(maxsize=4096)
def fraction(levy: str, venue: str, segment: str, side: str, on: date) -> Decimal:
    """The levy's rate in force on ``on`` as a fraction of turnover (0 where none applies)."""
    for key in (
        (levy, venue, segment, side),
        (levy, venue, segment, ANY),
        (levy, ANY, segment, side),
        (levy, ANY, segment, ANY),
        (levy, ANY, ANY, ANY),
    ):
        rows = _BY_KEY.get(key)
        if rows is not None:
            for since, value in rows:
                if since <= on:
                    return value
            raise ChargesUnknown(f"No {levy} rate for {segment} before {rows[-1][0]:%d %b %Y}.")
    return ZERO


def segment_of(intent: Intent) -> str:
    """Which rates apply: delivery, intraday, ETF delivery, futures, options, index options."""
    instrument = intent.instrument
    if instrument.exchange in CASH:
        if intent.product is Product.MIS:
            return INTRADAY
        return ETF_DELIVERY if instrument.asset_type is AssetType.ETF else DELIVERY
    if instrument.is_option:
        symbol = instrument.symbol.upper()
        index = symbol.startswith(BSE_INDEX_OPTIONS) and not symbol.startswith("SENSEX50")
        return INDEX_OPTIONS if instrument.exchange == "BFO" and index else OPTIONS
    if instrument.is_future:
        return FUTURES
    raise ChargesUnknown(
        f"{instrument.exchange}:{instrument.symbol} is neither a future nor an option: "
        "no charges model for it."
    )


def plan_charge(plan: Plan, segment: str) -> Charge:
    """The plan's rule for the segment (ETF units are charged as equity delivery)."""
    if segment in (DELIVERY, ETF_DELIVERY):
        return plan.equity_delivery
    if segment == INTRADAY:
        return plan.equity_intraday
    if segment == FUTURES:
        return plan.futures
    return plan.options


def brokerage(rule: Charge, turnover: Decimal) -> Decimal:
    """ZERO; FLAT rupees per executed order; PERCENT_WITH_CAP of turnover, at most ``cap``,
    at least ``minimum``."""
    kind = rule.kind.value
    if kind == "ZERO":
        amount = ZERO
    elif kind == "FLAT":
        amount = rule.flat or ZERO
    else:
        amount = turnover * (rule.percent or ZERO) / 100
        if rule.cap is not None:
            amount = min(amount, rule.cap)
        if rule.minimum is not None:
            amount = max(amount, rule.minimum)
    return amount.quantize(PAISA, ROUND_HALF_UP)


def dp_charge(broker: str, on: date) -> Decimal:
    """One scrip's depository charge on a delivery sell at ``broker``, GST included."""
    rows = DP_FEES.get(broker)
    if not rows:
        raise ChargesUnknown(f"No DP charge known for {broker}.")
    fee = next((amount for since, amount in reversed(rows) if since <= on), None)
    if fee is None:
        raise ChargesUnknown(f"No DP charge for {broker} before {rows[0][0]:%d %b %Y}.")
    gst = fraction("GST", ANY, ANY, ANY, on)
    return (fee * (1 + gst)).quantize(PAISA, ROUND_HALF_UP)


def estimate(
    intent: Intent, plan: Plan, *, on: date, price: Decimal, broker: str | None = None
) -> Charges:
    """The charges of ``intent`` filled in full at ``price`` on trade date ``on``, at a broker
    on ``plan``. With ``broker`` (its registry key: "zerodha"), a delivery sell includes that
    broker's DP charge; without it, none is counted."""
    quantity = intent.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0 or price <= 0:
        raise ChargesUnknown("Charges need a positive whole quantity and a positive price.")
    if on < FIRST_DAY:
        raise ChargesUnknown(f"Charges are modelled for trades from {FIRST_DAY:%d %b %Y}.")
    venue = VENUES.get(intent.instrument.exchange)
    if venue is None:
        raise ChargesUnknown(f"No charges model for {intent.instrument.exchange} yet.")
    segment = segment_of(intent)
    side = intent.side.value
    turnover = price * intent.quantity

    def levy(name: str, places: Decimal = PAISA) -> Decimal:
        return (turnover * fraction(name, venue, segment, side, on)).quantize(places, ROUND_HALF_UP)

    fee = brokerage(plan_charge(plan, segment), turnover)
    exchange = (
        turnover
        * (
            fraction("EXCHANGE", venue, segment, side, on)
            + fraction("IPFT", venue, segment, side, on)
        )
    ).quantize(PAISA, ROUND_HALF_UP)
    sebi = levy("SEBI")
    gst = ((fee + exchange + sebi) * fraction("GST", venue, segment, side, on)).quantize(
        PAISA, ROUND_HALF_UP
    )
    delivered_sell = intent.side is Side.SELL and segment in (DELIVERY, ETF_DELIVERY)
    return Charges(
        brokerage=fee,
        stt=levy("STT", RUPEE),
        exchange_txn=exchange,
        sebi_fee=sebi,
        stamp_duty=levy("STAMP"),
        gst=gst,
        dp_charge=dp_charge(broker, on) if delivered_sell and broker else ZERO,
    )
