"""An open /ws/brokers/ socket lives only as long as the session it was opened with, and a
trader holds at most WEBSOCKETS_PER_USER of them. Real consumer, real channel layer (in-memory
on the embedded default, Redis with REDIS_URL), real sessions signed in through the page."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import reverse

from brokers.push import push_to_user
from config.asgi import application
from health.consumers import SESSION_ENDED, TOO_MANY_SOCKETS

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-staple"


def signed_in_browser(username="asha") -> Client:
    browser = Client()
    answer = browser.post(reverse("accounts:sign_in"), {"username": username, "password": PASSWORD})
    assert answer.status_code == 302
    return browser


def headers_of(browser: Client) -> list[tuple[bytes, bytes]]:
    value = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return [
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode()),
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
    ]


async def open_socket(browser: Client) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/brokers/", headers=headers_of(browser))
    connected, code = await socket.connect(timeout=5)
    assert connected, code
    return socket


async def closed_with(socket: WebsocketCommunicator) -> int:
    message = await socket.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def still_hears(socket: WebsocketCommunicator, user_id) -> bool:
    await sync_to_async(push_to_user)(user_id, "still listening")
    return await socket.receive_from(timeout=5) == "still listening"


async def test_signing_out_closes_the_sockets_of_that_session(trader):
    browser = await sync_to_async(signed_in_browser)()
    socket = await open_socket(browser)
    assert await still_hears(socket, trader.pk)

    await sync_to_async(browser.post)(reverse("accounts:sign_out"))

    assert await closed_with(socket) == SESSION_ENDED
    await sync_to_async(push_to_user)(trader.pk, '{"type": "PORTFOLIO_UPDATE"}')
    assert await socket.receive_nothing(timeout=0.3)


async def test_signing_out_elsewhere_keeps_this_sessions_sockets(trader):
    laptop = await sync_to_async(signed_in_browser)()
    phone = await sync_to_async(signed_in_browser)()
    on_laptop, on_phone = await open_socket(laptop), await open_socket(phone)

    await sync_to_async(phone.post)(reverse("accounts:sign_out"))

    assert await closed_with(on_phone) == SESSION_ENDED
    assert await still_hears(on_laptop, trader.pk)
    await on_laptop.disconnect()


async def test_a_password_change_closes_every_socket_of_the_trader(trader, other_trader):
    laptop = await sync_to_async(signed_in_browser)()
    phone = await sync_to_async(signed_in_browser)()
    sockets = [await open_socket(laptop), await open_socket(phone)]
    theirs = await open_socket(await sync_to_async(signed_in_browser)("charlie"))

    def change_password():
        trader.set_password("a-brand-new-password-2026")
        trader.save()

    await sync_to_async(change_password)()

    for socket in sockets:
        assert await closed_with(socket) == SESSION_ENDED
    assert await still_hears(theirs, other_trader.pk)
    await theirs.disconnect()


async def test_a_deactivated_trader_loses_their_sockets(trader):
    socket = await open_socket(await sync_to_async(signed_in_browser)())

    def deactivate():
        trader.is_active = False
        trader.save()

    await sync_to_async(deactivate)()
    assert await closed_with(socket) == SESSION_ENDED


async def test_signing_in_again_keeps_the_open_sockets(trader):
    socket = await open_socket(await sync_to_async(signed_in_browser)())
    await sync_to_async(signed_in_browser)()  # last_login is saved: no password change
    assert await still_hears(socket, trader.pk)
    await socket.disconnect()


async def test_sockets_per_trader_are_capped_with_a_clear_close_code(
    trader, other_trader, settings
):
    settings.WEBSOCKETS_PER_USER = 3
    browser = await sync_to_async(signed_in_browser)()
    held = [await open_socket(browser) for _ in range(3)]

    extra = WebsocketCommunicator(application, "/ws/brokers/", headers=headers_of(browser))
    connected, _ = await extra.connect(timeout=5)
    assert connected  # accepted, so that the client can read why it is closed at once
    assert await closed_with(extra) == TOO_MANY_SOCKETS

    # Another trader is not counted against this one...
    theirs = await open_socket(await sync_to_async(signed_in_browser)("charlie"))
    # ...and a closed socket frees its place.
    await held.pop().disconnect()
    again = await open_socket(browser)
    assert await still_hears(again, trader.pk)
    for socket in [*held, again, theirs]:
        await socket.disconnect()
