"""The one state: word, colour, grade and status decided from the recorded calls, as a table."""

from http.client import RemoteDisconnected

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from brokers.errors import BadResponse, BrokerUnavailable, Maintenance, RateLimited, TokenExpired
from brokers.models import ConnectionStatus as S
from health.state import WORDS, Call, Facts, decide, failure_name

NOW = 10_000.0


def calls(*spec: str, endpoint: str = "user/profile", ms: float = 80, step: float = 10):
    """``"ok"``, ``"fail"``, ``"throttled"``, or ``"fail:why"``; newest first."""
    out = []
    for i, item in enumerate(spec):
        outcome, _, why = item.partition(":")
        out.append(Call(NOW - i * step, endpoint, outcome, ms, why))
    return out


def facts(status=S.CONNECTED, *, recent=(), endpoints=None, breaker="CLOSED", since=None):
    recent = list(recent)
    if endpoints is None:
        endpoints = {}
        for call in recent:
            endpoints.setdefault(call.endpoint, []).append(call)
    return Facts(
        status=status,
        now=NOW,
        breaker=breaker,
        calls=recent,
        endpoints=endpoints,
        recovering_since=since,
        broker="Zerodha",
    )


def merged(*lists):
    return sorted((c for part in lists for c in part), key=lambda c: -c.at)


HOLDINGS_FAILING = merged(
    calls("ok", "ok", "ok", "ok", endpoint="user/profile", step=30),
    calls(
        "fail:error inside an HTTP 200 answer",
        "fail:error inside an HTTP 200 answer",
        endpoint="portfolio/holdings",
        step=15,
    ),
)

CASES = [
    # name, facts, (word, colour, grade, status)
    ("no calls yet", facts(), ("Connected", "green", "GOOD", S.CONNECTED)),
    (
        "all good",
        facts(recent=calls(*["ok"] * 10)),
        ("Connected", "green", "EXCELLENT", S.CONNECTED),
    ),
    (
        "one failure of one endpoint",
        facts(recent=merged(calls(*["ok"] * 9), calls("fail:answer cut off", endpoint="orders"))),
        ("Degraded", "yellow", "POOR", S.CONNECTED),
    ),
    (
        "holdings failing twice while the profile probe works",
        facts(recent=HOLDINGS_FAILING),
        ("Down", "red", "CRITICAL", S.ERROR),
    ),
    (
        "breaker open",
        facts(S.ERROR, recent=calls("fail:no answer", "fail:no answer"), breaker="OPEN"),
        ("Down", "red", "CRITICAL", S.ERROR),
    ),
    (
        "too many failures in the window",
        facts(recent=calls(*(["ok", "fail:server error (HTTP 500)"] * 5))),
        ("Down", "red", "CRITICAL", S.ERROR),
    ),
    (
        "slow answers",
        facts(recent=calls(*["ok"] * 10, ms=1500)),
        ("Degraded", "yellow", "POOR", S.CONNECTED),
    ),
    (
        "very slow answers",
        facts(recent=calls(*["ok"] * 10, ms=3500)),
        ("Too slow", "red", "CRITICAL", S.ERROR),
    ),
    (
        "rate limited",
        facts(recent=calls("throttled", "ok", "ok")),
        ("Rate limited", "yellow", "POOR", S.RATE_LIMITED),
    ),
    (
        "maintenance announced",
        facts(recent=calls("fail:maintenance announced by the broker", "ok")),
        ("Maintenance", "red", "CRITICAL", S.MAINTENANCE),
    ),
    (
        "red, first good call of the failing endpoint",
        facts(S.ERROR, recent=calls("ok", "fail:no answer", "fail:no answer")),
        ("Recovering", "yellow", "POOR", S.CONNECTING),
    ),
    (
        "red, a good probe while holdings still fails",
        facts(S.ERROR, recent=merged(calls("ok", step=1), HOLDINGS_FAILING[1:])),
        ("Down", "red", "CRITICAL", S.ERROR),
    ),
    (
        "red, answering again",
        facts(S.ERROR, recent=calls("ok", "fail:no answer", "ok", "fail:no answer")),
        ("Recovering", "yellow", "POOR", S.CONNECTING),
    ),
    (
        "red, still failing",
        facts(S.ERROR, recent=calls("fail:no answer", "ok", "ok")),
        ("Down", "red", "CRITICAL", S.ERROR),
    ),
    (
        "maintenance over, answering again",
        facts(S.MAINTENANCE, recent=calls("ok", "fail:maintenance announced by the broker")),
        ("Recovering", "yellow", "POOR", S.CONNECTING),
    ),
    (
        "recovering, two good calls",
        facts(S.CONNECTING, recent=calls("ok", "ok", "fail:no answer"), since=NOW - 25),
        ("Recovering", "yellow", "POOR", S.CONNECTING),
    ),
    (
        "recovering, three good calls",
        facts(
            S.CONNECTING,
            recent=calls("ok", "ok", "ok", "fail:no answer", "fail:no answer"),
            since=NOW - 25,
        ),
        ("Connected", "green", "EXCELLENT", S.CONNECTED),
    ),
    (
        "recovering, breaker still half-open",
        facts(S.CONNECTING, recent=calls("ok", "ok", "ok"), breaker="HALF_OPEN", since=NOW - 60),
        ("Recovering", "yellow", "POOR", S.CONNECTING),
    ),
    (
        # 62 % success since the recovery began is red, however many good calls came last.
        "recovering at 62 % success",
        facts(
            S.CONNECTING,
            recent=calls(*["ok"] * 3, *["fail:no answer", "ok"] * 3, "ok"),
            since=NOW - 70,
        ),
        ("Down", "red", "CRITICAL", S.ERROR),
    ),
    (
        "recovering at 90 % success",
        facts(
            S.CONNECTING,
            recent=calls(*["ok"] * 3, "fail:no answer", *["ok"] * 6),
            since=NOW - 100,
        ),
        ("Degraded", "yellow", "POOR", S.CONNECTED),
    ),
    (
        # A quality-only incident recovers the same way: its failures are not graded again.
        "after a quality incident, failures before the recovery are not graded",
        facts(
            S.CONNECTED,
            recent=calls(*["ok"] * 5, *["fail:server error (HTTP 500)"] * 10, step=5),
            since=NOW - 22,
        ),
        ("Connected", "green", "EXCELLENT", S.CONNECTED),
    ),
    ("token refused", facts(S.TOKEN_EXPIRED), ("Log in again", "red", "CRITICAL", S.TOKEN_EXPIRED)),
    (
        "disconnected",
        facts(S.DISCONNECTED, recent=calls("ok")),
        ("Disconnected", "grey", "NONE", S.DISCONNECTED),
    ),
    (
        "failures older than the window no longer count",
        facts(recent=[Call(NOW - 400, "orders", "fail", 80, "no answer")] * 2),
        ("Connected", "green", "GOOD", S.CONNECTED),
    ),
]


@pytest.mark.parametrize(("name", "given", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_state_table(name, given, expected):
    state = decide(given)
    assert (state.word, state.colour, state.grade.value, state.status) == expected


def test_word_colour_and_grade_never_contradict_each_other():
    for _, given, _ in CASES:
        state = decide(given)
        assert state.word in WORDS
        assert (
            state.grade.value
            in {
                "red": {"CRITICAL"},
                "yellow": {"POOR"},
                "green": {"EXCELLENT", "GOOD"},
                "grey": {"NONE"},
            }[state.colour]
        ), state
        assert (state.colour == "red") == (
            state.status in {S.ERROR, S.MAINTENANCE, S.TOKEN_EXPIRED}
        )


def test_the_reason_names_the_endpoint_and_what_happened():
    state = decide(facts(recent=HOLDINGS_FAILING))
    assert state.reason == (
        "portfolio/holdings is failing: error inside an HTTP 200 answer (2 calls in a row)."
    )
    assert state.failing == ["portfolio/holdings"]
    assert state.failures_in_a_row == 2


@pytest.mark.parametrize(
    ("error", "status_code", "name"),
    [
        (BrokerUnavailable("x", code="connect"), None, "could not connect"),
        (BrokerUnavailable("x", code="no_answer"), None, "no answer"),
        (BrokerUnavailable("x", code="cut_off"), 200, "answer cut off"),
        (BrokerUnavailable("x", code="NetworkException"), 503, "server error (HTTP 503)"),
        (BrokerUnavailable("x", code="GeneralException"), 200, "error inside an HTTP 200 answer"),
        (BadResponse("x"), 200, "unreadable answer"),
        (Maintenance("x"), 503, "maintenance announced by the broker"),
        (RateLimited("x"), 429, "rate limited"),
        (TokenExpired("x"), 403, "session refused"),
    ],
)
def test_failures_are_named_for_what_happened(error, status_code, name):
    assert failure_name(error, status_code) == name


def test_the_door_tells_a_refused_connection_from_a_reply_that_never_came(settings):
    from brokers.http import BrokerHttp

    door = BrokerHttp(broker="zerodha", account="ZX1")
    url = "http://broker.invalid/portfolio/holdings"
    with responses.RequestsMock() as broker:
        refused_error = NewConnectionError(None, "Connection refused")
        broker.get(url, body=requests.ConnectionError(MaxRetryError(None, url, refused_error)))
        with pytest.raises(BrokerUnavailable) as refused:
            door.call("GET", url, endpoint="portfolio/holdings", parse=lambda r: r.json())
    assert refused.value.code == "connect"
    with responses.RequestsMock() as broker:
        closed = RemoteDisconnected("Remote end closed connection without response")
        broker.get(url, body=requests.ConnectionError(ProtocolError("Connection aborted.", closed)))
        with pytest.raises(BrokerUnavailable) as dropped:
            door.call("GET", url, endpoint="portfolio/holdings", parse=lambda r: r.json())
    assert dropped.value.code == "no_answer"
    assert "could not connect" not in dropped.value.message
