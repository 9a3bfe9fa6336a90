"""Exchange sessions and holidays, as data: trading hours are checked against them.

Times are IST (Asia/Kolkata). Sessions are the normal market hours (pre-open excluded); MCX's
close is the later one it keeps while US daylight saving is off. Holidays are the exchanges'
published trading holidays for the year (NSE and BSE publish the same list for equity and
equity derivatives); add next year's list when the exchanges publish it in December
(https://www.nseindia.com/resources/exchange-communication-holidays).
"""

from __future__ import annotations

from datetime import date, time

SESSIONS: dict[str, tuple[time, time]] = {
    "NSE": (time(9, 15), time(15, 30)),
    "BSE": (time(9, 15), time(15, 30)),
    "NFO": (time(9, 15), time(15, 30)),
    "BFO": (time(9, 15), time(15, 30)),
    "CDS": (time(9, 0), time(17, 0)),
    "BCD": (time(9, 0), time(17, 0)),
    "MCX": (time(9, 0), time(23, 55)),
    "NCDEX": (time(9, 0), time(20, 0)),
}

# NSE / BSE trading holidays (equity and equity derivatives).
HOLIDAYS: dict[int, dict[date, str]] = {
    2026: {
        date(2026, 1, 26): "Republic Day",
        date(2026, 3, 3): "Holi",
        date(2026, 3, 26): "Shri Ram Navami",
        date(2026, 3, 31): "Shri Mahavir Jayanti",
        date(2026, 4, 3): "Good Friday",
        date(2026, 4, 14): "Dr. Baba Saheb Ambedkar Jayanti",
        date(2026, 5, 1): "Maharashtra Day",
        date(2026, 5, 28): "Bakri Id",
        date(2026, 6, 26): "Muharram",
        date(2026, 9, 14): "Ganesh Chaturthi",
        date(2026, 10, 2): "Mahatma Gandhi Jayanti",
        date(2026, 10, 20): "Dussehra",
        date(2026, 11, 10): "Diwali Balipratipada",
        date(2026, 11, 24): "Prakash Gurpurb Sri Guru Nanak Dev",
        date(2026, 12, 25): "Christmas",
    },
}


def session_bounds(exchanges) -> tuple[time, time]:
    """The earliest open and latest close among ``exchanges`` (NSE's session if none)."""
    sessions = [SESSIONS[e] for e in exchanges if e in SESSIONS] or [SESSIONS["NSE"]]
    return min(s[0] for s in sessions), max(s[1] for s in sessions)


def is_trading_day(day: date) -> bool:
    """Monday to Friday and not an exchange holiday (years without a list: weekdays only)."""
    return day.weekday() < 5 and day not in HOLIDAYS.get(day.year, {})


def all_holidays() -> frozenset[date]:
    return frozenset(d for year in HOLIDAYS.values() for d in year)
