"""The sandbox's market: real instruments (real ISINs) and what each demo account holds.

Every broker module renders these in its own format (Kite `RELIANCE`, Upstox
`NSE_EQ|INE002A01018`, Fyers `NSE:RELIANCE-EQ`, Angel One `RELIANCE-EQ` + token 2885, Dhan
security id 2885, ...). RELIANCE is held at five brokers, one of them on BSE, so the
consolidated portfolio has something real to join.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

D = Decimal


@dataclass(frozen=True)
class Security:
    symbol: str  # NSE trading symbol
    name: str
    isin: str
    bse_code: str  # BSE scrip code
    nse_token: str  # NSE exchange token (Angel One, Dhan, IIFL use it)
    kite_token: int  # Kite instrument_token for the NSE listing
    kite_bse_token: int
    last_price: Decimal
    close_price: Decimal  # previous session's close
    kind: str = "EQ"  # EQ or ETF
    lot_size: int = 1
    tick_size: Decimal = D("0.05")

    def exchange_token(self, exchange: str) -> str:
        """The exchange's own id for the listing: NSE's token, or BSE's scrip code."""
        return self.bse_code if exchange == "BSE" else self.nse_token


SECURITIES = {
    s.symbol: s
    for s in [
        Security(
            "RELIANCE",
            "RELIANCE INDUSTRIES",
            "INE002A01018",
            "500325",
            "2885",
            738561,
            128083204,
            D("2950.50"),
            D("2925.00"),
        ),
        Security(
            "INFY",
            "INFOSYS",
            "INE009A01021",
            "500209",
            "1594",
            408065,
            128053508,
            D("1542.30"),
            D("1550.10"),
        ),
        Security(
            "TCS",
            "TATA CONSULTANCY SERV LT",
            "INE467B01029",
            "532540",
            "11536",
            2953217,
            136330244,
            D("3890.00"),
            D("3861.25"),
        ),
        Security(
            "HDFCBANK",
            "HDFC BANK",
            "INE040A01034",
            "500180",
            "1333",
            341249,
            128046084,
            D("1702.45"),
            D("1698.00"),
        ),
        Security(
            "SBIN",
            "STATE BANK OF INDIA",
            "INE062A01020",
            "500112",
            "3045",
            779521,
            128028676,
            D("812.60"),
            D("805.35"),
        ),
        Security(
            "ITC",
            "ITC",
            "INE154A01025",
            "500875",
            "1660",
            424961,
            128224004,
            D("468.15"),
            D("470.00"),
        ),
        Security(
            "NIFTYBEES",
            "NIP IND ETF NIFTY BEES",
            "INF204KB14I2",
            "590103",
            "10576",
            2707457,
            138082052,
            D("268.42"),
            D("267.10"),
            kind="ETF",
            tick_size=D("0.01"),
        ),
    ]
}


@dataclass(frozen=True)
class DemoHolding:
    symbol: str
    exchange: str  # NSE or BSE
    quantity: int
    average_price: Decimal


@dataclass(frozen=True)
class DemoPosition:
    symbol: str
    exchange: str
    product: str  # MIS / CNC / NRML in Kite's words; each broker renames it
    buy_quantity: int
    buy_price: Decimal
    sell_quantity: int = 0
    sell_price: Decimal = D(0)


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    name: str
    email: str
    cash: Decimal
    holdings: tuple[DemoHolding, ...]
    positions: tuple[DemoPosition, ...] = ()


def _account(account_id, name, cash, holdings, positions=()):
    return DemoAccount(
        account_id=account_id,
        name=name,
        email=f"{account_id.lower()}@sandbox.example",
        cash=D(cash),
        holdings=tuple(DemoHolding(s, e, q, D(p)) for s, e, q, p in holdings),
        positions=tuple(DemoPosition(*p) for p in positions),
    )


# The first account of each broker is the default one its login page offers.
ACCOUNTS: dict[str, list[DemoAccount]] = {
    "zerodha": [
        _account(
            "ZD1234",
            "Asha Demo",
            "250000.00",
            [
                ("RELIANCE", "NSE", 10, "2400.00"),
                ("INFY", "NSE", 5, "1500.00"),
                ("NIFTYBEES", "NSE", 100, "240.50"),
            ],
            [("SBIN", "NSE", "MIS", 50, D("808.00"), 20, D("811.00"))],
        ),
        _account("ZD5678", "Asha Demo (HUF)", "50000.00", [("TCS", "NSE", 1, "3600.00")]),
    ],
    "upstox": [
        _account(
            "UP4321",
            "Asha Demo",
            "120000.00",
            [("RELIANCE", "NSE", 5, "2500.00"), ("TCS", "NSE", 3, "3500.00")],
        ),
    ],
    "fyers": [
        _account(
            "FY0001",
            "Asha Demo",
            "90000.00",
            [("RELIANCE", "BSE", 4, "2450.00"), ("HDFCBANK", "NSE", 8, "1600.00")],
        ),
    ],
    "angelone": [
        _account(
            "AO7788",
            "Asha Demo",
            "75000.00",
            [
                ("INFY", "NSE", 10, "1450.00"),
                ("SBIN", "NSE", 20, "700.00"),
                ("RELIANCE", "NSE", 3, "2800.00"),
            ],
        ),
    ],
    "groww": [
        _account(
            "GW5500",
            "Asha Demo",
            "40000.00",
            [("RELIANCE", "NSE", 2, "2600.00"), ("ITC", "NSE", 50, "420.00")],
        ),
    ],
    "dhan": [
        _account(
            "1100456789",
            "Asha Demo",
            "60000.00",
            [("TCS", "NSE", 2, "3700.00"), ("INFY", "NSE", 3, "1480.00")],
        ),
    ],
    "iifl": [
        _account(
            "IIFL9001",
            "Asha Demo",
            "30000.00",
            [("HDFCBANK", "NSE", 5, "1650.00"), ("SBIN", "BSE", 10, "760.00")],
        ),
    ],
}


def account(broker: str, account_id: str) -> DemoAccount | None:
    return next((a for a in ACCOUNTS[broker] if a.account_id == account_id), None)


def default_account(broker: str) -> DemoAccount:
    return ACCOUNTS[broker][0]


def by_bse_code(code: str) -> Security | None:
    return next((s for s in SECURITIES.values() if s.bse_code == code), None)


def by_token(token: str) -> Security | None:
    return next((s for s in SECURITIES.values() if s.nse_token == str(token)), None)


def by_isin(isin: str) -> Security | None:
    return next((s for s in SECURITIES.values() if s.isin == isin), None)


LISTINGS = ("NSE", "BSE")  # the demo market lists its equities on these two only


def listed(exchange: str, symbol: str) -> Security | None:
    return SECURITIES.get(symbol or "") if exchange in LISTINGS else None


def by_exchange_token(exchange: str, token) -> Security | None:
    """The security an exchange id names: NSE's token on NSE, the scrip code on BSE."""
    if exchange == "NSE":
        return by_token(str(token))
    return by_bse_code(str(token)) if exchange == "BSE" else None
