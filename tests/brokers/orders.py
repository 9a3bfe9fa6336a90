"""Orders the broker tests send: a limit buy any stubbed broker takes without a lookup, and one
resting far below a sandbox's market, so it stays open to be modified and cancelled."""

from __future__ import annotations

from decimal import Decimal

from brokers.sandbox import universe
from brokers.types import Holding, OrderRequest, OrderType, Product, Side

INSTRUMENT_IDS = {"upstox": "NSE_EQ|INE062A01020"}  # Upstox addresses instruments by key


def limit_buy(broker: str, *, tag: str) -> OrderRequest:
    """A limit buy of one SBIN that needs no lookup before it is sent."""
    return _buy("NSE", "SBIN-EQ", Decimal("500"), tag, INSTRUMENT_IDS.get(broker, "3045"))


def resting_buy(holding: Holding, *, tag: str) -> OrderRequest:
    """A limit buy of one share of a sandbox holding at 80 % of its last price: it stays open."""
    last = universe.SECURITIES[holding.symbol].last_price
    price = (last * Decimal("0.8")).quantize(Decimal("0.05"))
    return _buy(holding.exchange, holding.symbol, price, tag, holding.instrument_id)


def _buy(exchange: str, symbol: str, price: Decimal, tag: str, instrument_id: str) -> OrderRequest:
    return OrderRequest(
        exchange=exchange,
        symbol=symbol,
        side=Side.BUY,
        quantity=1,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        price=price,
        tag=tag,
        instrument_id=instrument_id,
    )
