"""What a trader is told when a broker fails."""

import pytest

from brokers.errors import BrokerUnavailable, RateLimited, TokenExpired
from brokers.models import BrokerConnection
from brokers.sandbox import kit
from brokers.services import load_master_if_stale
from portfolio import fetch, services


def test_what_a_trader_is_told_when_a_broker_fails():
    assert fetch.explain(TokenExpired("TokenException: bad"))[1] == (
        "The session has ended: log in to the broker again."
    )
    kind, reason = fetch.explain(BrokerUnavailable("HTTP 503", broker="dhan"))
    assert kind == "BrokerUnavailable" and reason == "The broker is not answering: HTTP 503"
    assert "limiting" in fetch.explain(RateLimited("429"))[1]
    kind, reason = fetch.explain(KeyError("access_token=abc123"))
    assert kind == "KeyError" and "abc123" not in reason


def quote_flags(view, broker):
    return {
        (ln.symbol, f["message"])
        for ln in view.portfolio.lines
        for b in ln.broker_lines
        if b.broker == broker
        for f in b.flags
        if f["code"] == "quote_elsewhere"
    }


@pytest.mark.django_db(transaction=True)
def test_a_line_whose_brokers_quote_fails_is_priced_from_anothers_and_says_so(
    client, trader, connect_brokers
):
    connect_brokers(trader, ["zerodha", "dhan"])
    for connection in BrokerConnection.objects.filter(user=trader):
        load_master_if_stale(connection)
    plain = services.sync_portfolio(user=trader)
    assert not quote_flags(plain, "dhan")  # Dhan's own quotes: nothing to say
    kit.set_faults("dhan", error_rate=100, paths="marketfeed/ohlc")

    view = services.sync_portfolio(user=trader)

    marked = quote_flags(view, "dhan")
    assert marked and all(message == "priced from Zerodha's quote" for _, message in marked)
    assert not view.failed  # a failed quote is not a failed broker
    client.force_login(trader)
    assert "priced from Zerodha" in client.get("/portfolio/").content.decode()
    # the snapshot keeps whose quote it was: a rebuild without any broker says the same
    assert quote_flags(services.rebuild_portfolio(user=trader), "dhan") == marked


@pytest.mark.django_db(transaction=True)
def test_with_no_other_broker_to_ask_the_line_stays_unpriced_and_unmarked(trader, connect_brokers):
    connect_brokers(trader, ["dhan"])
    kit.set_faults("dhan", error_rate=100, paths="marketfeed/ohlc")
    view = services.sync_portfolio(user=trader)
    assert not quote_flags(view, "dhan")
