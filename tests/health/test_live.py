"""Status and quality changes reach the trader's open sockets, and nobody else's."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from brokers import states
from brokers.models import ConnectionStatus as S
from config.asgi import application
from health.consumers import BAD_FORMAT
from tests.factories import BrokerConnectionFactory
from tests.health.test_consumers import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def listen(user, fmt: str = "json", query: str = "") -> WebsocketCommunicator:
    headers = await sync_to_async(session_cookie)(user)
    url = f"/ws/brokers/?format={fmt}{query}"
    communicator = WebsocketCommunicator(application, url, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


@sync_to_async
def break_connection(connection):
    states.transition(connection, S.ERROR, reason="Zerodha is not answering.")


async def test_a_status_change_reaches_the_trader_as_json(trader):
    connection = await sync_to_async(BrokerConnectionFactory)(user=trader, account_id="AB0001")
    socket = await listen(trader)

    await break_connection(connection)

    message = json.loads(await socket.receive_from(timeout=5))
    assert message["type"] == "BROKER_STATUS_UPDATE"
    assert message["connectionId"] == str(connection.pk)
    assert (message["previousStatus"], message["status"]) == ("CONNECTED", "ERROR")
    assert (message["quality"], message["colour"]) == ("CRITICAL", "red")
    assert message["state"]["word"] == "Down" and message["state"]["colour"] == "red"
    assert message["reason"] == "Zerodha is not answering."
    assert "metrics" in message and "breaker" in message
    assert connection.access_token not in json.dumps(message)
    await socket.disconnect()


async def test_pages_get_the_same_card_and_row_to_swap_in_place(trader):
    connection = await sync_to_async(BrokerConnectionFactory)(user=trader)
    socket = await listen(trader, "html")

    await break_connection(connection)

    html = await socket.receive_from(timeout=5)
    assert f'id="connection-{connection.pk}"' in html
    assert f'id="health-{connection.pk}"' in html
    assert html.count('hx-swap-oob="true"') == 3  # card, health row, unread count
    assert "quality-red" in html and "colour-red" in html
    assert connection.access_token not in html
    await socket.disconnect()


async def test_each_page_gets_only_the_fragments_whose_target_it_holds(trader):
    shown = await sync_to_async(BrokerConnectionFactory)(user=trader, account_id="SHOWN1")
    other = await sync_to_async(BrokerConnectionFactory)(user=trader, account_id="OTHER1")
    dashboard = await listen(trader, "html", "&parts=card,unread")
    health = await listen(trader, "html", "&parts=row,unread")
    diagnostics = await listen(trader, "html", f"&parts=row,unread&connection={shown.pk}")
    portfolio = await listen(trader, "html", "&parts=unread")

    await break_connection(shown)

    on_dashboard = await dashboard.receive_from(timeout=5)
    assert f'id="connection-{shown.pk}"' in on_dashboard and 'id="health-' not in on_dashboard
    on_health = await health.receive_from(timeout=5)
    assert f'id="health-{shown.pk}"' in on_health and 'id="connection-' not in on_health
    assert f'id="health-{shown.pk}"' in await diagnostics.receive_from(timeout=5)
    on_portfolio = await portfolio.receive_from(timeout=5)
    assert on_portfolio.count("hx-swap-oob") == 1 and 'id="unread-count"' in on_portfolio

    # Another connection's change: nothing for the diagnostics page of the first one.
    await break_connection(other)
    assert f'id="health-{other.pk}"' in await health.receive_from(timeout=5)
    assert await diagnostics.receive_nothing(timeout=0.3)
    for socket in (dashboard, health, diagnostics, portfolio):
        await socket.disconnect()


async def test_another_user_never_receives_your_status_messages(trader, other_trader):
    connection = await sync_to_async(BrokerConnectionFactory)(user=trader)
    mine = await listen(trader)
    theirs = await listen(other_trader)
    theirs_html = await listen(other_trader, "html")

    await break_connection(connection)

    assert json.loads(await mine.receive_from(timeout=5))["status"] == "ERROR"
    assert await theirs.receive_nothing(timeout=0.3)
    assert await theirs_html.receive_nothing(timeout=0.1)
    for socket in (mine, theirs, theirs_html):
        await socket.disconnect()


async def test_an_unknown_format_is_refused(trader):
    headers = await sync_to_async(session_cookie)(trader)
    communicator = WebsocketCommunicator(application, "/ws/brokers/?format=xml", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    assert not connected
    assert code == BAD_FORMAT


async def test_a_client_message_is_logged_without_its_content_and_ignored(trader, caplog):
    connection = await sync_to_async(BrokerConnectionFactory)(user=trader)
    socket = await listen(trader, "html")

    await socket.send_to(text_data='{"password": "hunter2-secret", "HEADERS": {}}')
    await socket.send_to(bytes_data=b"\x00\xff garbage")
    await break_connection(connection)

    assert f'id="connection-{connection.pk}"' in await socket.receive_from(timeout=5)
    assert "ignored a" in caplog.text
    assert "hunter2" not in caplog.text
    await socket.disconnect()
