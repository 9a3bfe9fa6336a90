"""/ws/brokers/: signed-in users only, and each user hears only their own pushes."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from brokers.push import push_to_user
from config.asgi import application
from health.consumers import UNAUTHENTICATED

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode()),
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
    ]


async def open_socket(headers):
    communicator = WebsocketCommunicator(application, "/ws/brokers/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_a_client_without_a_session_is_refused():
    _communicator, connected, code = await open_socket(
        [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    )
    assert not connected
    assert code == UNAUTHENTICATED


async def test_a_signed_in_trader_connects_and_receives_their_pushes(trader):
    headers = await sync_to_async(session_cookie)(trader)
    communicator, connected, _ = await open_socket(headers)
    assert connected

    await sync_to_async(push_to_user)(trader.pk, '{"type": "BROKER_STATUS_UPDATE"}')

    assert await communicator.receive_from(timeout=5) == '{"type": "BROKER_STATUS_UPDATE"}'
    await communicator.disconnect()


async def test_another_user_never_receives_your_pushes(trader, other_trader):
    mine, _, _ = await open_socket(await sync_to_async(session_cookie)(trader))
    theirs, _, _ = await open_socket(await sync_to_async(session_cookie)(other_trader))

    await sync_to_async(push_to_user)(trader.pk, "for asha only")

    assert await mine.receive_from(timeout=5) == "for asha only"
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


async def test_messages_from_clients_are_ignored_and_the_socket_stays_open(trader):
    communicator, _, _ = await open_socket(await sync_to_async(session_cookie)(trader))

    await communicator.send_to(text_data="{not json at all")
    await asyncio.sleep(0.05)
    await sync_to_async(push_to_user)(trader.pk, "still here")

    assert await communicator.receive_from(timeout=5) == "still here"
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused(trader):
    headers = [h for h in await sync_to_async(session_cookie)(trader) if h[0] != b"origin"]
    _communicator, connected, _ = await open_socket(
        [*headers, (b"origin", b"https://evil.example")]
    )
    assert not connected
