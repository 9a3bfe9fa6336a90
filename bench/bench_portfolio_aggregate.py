"""CPU time of the aggregation: 7 brokers x 1,000 positions each → one portfolio. Goal ≤ 20 ms.

1,000 instruments, each held at all seven brokers, each broker spelling it its own way (Kite
RELIANCE + ISIN, Upstox NSE_EQ|<ISIN>, Fyers BSE:<SYM>-A, Angel One <SYM>-EQ + token, Groww
plain, Dhan security id only, IIFL <SYM>-EQ + token), with a master entry for the ones that
name no ISIN — so every line goes through symbol normalization and the ISIN join, as in a
real sync. Half the brokers' lines carry prices, the rest get them from quotes.

Consolidation is two steps, timed apart and together (process CPU time, a hundred runs each,
best and median; the input is built once, each run's readings and master entries anew):

- ``read_portfolio``, one broker's 1,000 lines: identified (normalization), their numbers
  read, priced from that broker's answer and quotes. A sync does it as each broker lands,
  while the others are still answering;
- ``combine``, the aggregation proper (the goal): seven readings → one portfolio, once all
  brokers are in: lines joined, the one price per line, every sum;
- ``consolidate``, both in one go, as a rebuild from the snapshots does it.

The very first run, which reads every spelling once, is shown apart, and so is a reference
loop that says how fast the host runs Python just then.
"""

import statistics
import time
import timeit
from decimal import Decimal

from brokers.types import Funds, Holding, InstrumentRef, Quote
from portfolio import normalize
from portfolio.aggregate import BrokerPortfolio, combine, consolidate, read_portfolio
from portfolio.normalize import InstrumentBook, MasterEntry

INSTRUMENTS = 1000
RUNS = 100


def instruments() -> list[tuple[str, str, str, Decimal, Decimal]]:
    found = []
    for n in range(INSTRUMENTS):
        symbol = f"SYM{n:04d}"
        isin = f"INE{n:06d}01{n % 10}"
        price = Decimal(100 + n) + Decimal("0.05") * (n % 20)
        found.append((symbol, isin, str(10_000 + n), price, price - Decimal("1.25")))
    return found


def portfolios() -> tuple[list[BrokerPortfolio], InstrumentBook]:
    book = InstrumentBook()
    rows: dict[str, list] = {broker: [] for broker in ("z", "u", "f", "a", "g", "d", "i")}
    quotes: dict[str, dict] = {broker: {} for broker in rows}
    for symbol, isin, token, last, close in instruments():
        avg = last - Decimal("7.5")
        rows["z"].append(Holding("NSE", symbol, 10, avg, isin, last, close, symbol, token))
        rows["u"].append(Holding("NSE", "", 5, avg, "", last, close, "", f"NSE_EQ|{isin}"))
        fyers = Holding("BSE", f"BSE:{symbol}-A", 4, avg, "", last, None, f"BSE:{symbol}-A")
        rows["f"].append(fyers)
        rows["a"].append(Holding("NSE", f"{symbol}-EQ", 3, avg, "", None, None, "", token))
        rows["g"].append(Holding("NSE", symbol, 2, avg, isin))
        rows["d"].append(Holding("NSE", "", 7, avg, "", last, None, "", token))
        rows["i"].append(Holding("NSE", f"{symbol}-EQ", 1, avg, isin, None, None, "", token))
        for broker in ("a", "d", "i"):
            book.by_id[(broker, token)] = MasterEntry("NSE", symbol, isin, symbol.title(), 1)
        book.by_symbol[("f", "BSE", symbol)] = MasterEntry("BSE", symbol, isin, "", 1)
        for broker, line in (("g", rows["g"][-1]), ("i", rows["i"][-1]), ("a", rows["a"][-1])):
            ref = InstrumentRef(line.exchange, line.symbol, line.instrument_id)
            quotes[broker][ref] = Quote(line.exchange, line.symbol, last, close)
        ref = InstrumentRef(fyers.exchange, fyers.symbol, fyers.instrument_id)
        quotes["f"][ref] = Quote("BSE", symbol, last, close)
    built = [
        BrokerPortfolio(
            connection_id=f"conn-{broker}",
            broker=broker,
            holdings=lines,
            quotes=quotes[broker],
            funds=Funds(available=Decimal("100000.00")),
        )
        for broker, lines in rows.items()
    ]
    return built, book


def copy_book(book: InstrumentBook) -> InstrumentBook:
    """The same master entries as new objects, as each sync reads them anew."""
    fresh = InstrumentBook()
    for broker in {broker for broker, _ in book.by_id} | {key[0] for key in book.by_symbol}:
        fresh.add_rows(broker, book.for_broker(broker))
    return fresh


def timed(make_input, step):
    """CPU ms of ``step(make_input())`` over RUNS runs, and the last result; each input made,
    and the previous result freed, outside the clock."""
    samples, result = [], None
    for _ in range(RUNS):
        result = None
        given = make_input()
        started = time.process_time()
        result = step(given)
        samples.append((time.process_time() - started) * 1000)
    return samples, result


def figures(samples: list[float]) -> str:
    return f"best {min(samples):5.1f} ms, median {statistics.median(samples):5.1f} ms"


def run() -> None:
    built, book = portfolios()
    normalize._SPELLINGS.clear()  # the first run reads every spelling; later syncs recall them
    started = time.process_time()
    consolidate(built, book=book)
    first = (time.process_time() - started) * 1000

    def read_all(fresh):
        return [read_portfolio(portfolio, fresh) for portfolio in built]

    each = {
        p.broker: timed(lambda: copy_book(book), lambda fresh, p=p: read_portfolio(p, fresh))[0]
        for p in built
    }
    slowest = max(each, key=lambda broker: statistics.median(each[broker]))
    read, _ = timed(lambda: copy_book(book), read_all)
    combined, _ = timed(lambda: read_all(copy_book(book)), combine)
    both, result = timed(lambda: copy_book(book), lambda fresh: consolidate(built, book=fresh))
    lines = sum(len(p.holdings) for p in built)
    print(f"   input: {len(built)} brokers x {INSTRUMENTS} positions = {lines} broker lines")
    print(f"   output: {len(result.lines)} consolidated lines, total {result.total_value}")
    print(f"   first consolidate(), every spelling new: {first:.1f} ms")
    print(f"   read_portfolio() of all seven (each as its broker lands): {figures(read)}")
    alone = figures(each[slowest])
    print(f"     of the slowest broker alone ({slowest}):                     {alone}")
    print(f"   combine(), the aggregation of the seven (goal ≤ 20 ms):   {figures(combined)}")
    print(f"   consolidate(), both steps in one go (a rebuild):         {figures(both)}")
    # How fast this host runs Python just then, so runs on different (or busy) hosts compare.
    loop = min(timeit.repeat("sum(range(1000))", number=1000, repeat=5)) * 1000
    print(f"   this machine, now: sum(range(1000)) takes {loop:.1f} µs")
