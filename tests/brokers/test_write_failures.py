"""What every broker's order writes report when the exchange with the broker fails, over real
sockets: only a failure proven to have happened before any byte was sent (refused, connect
timeout) is a retryable BrokerUnavailable; every other one is OrderStateUnknown carrying the
order's tag, to be reconciled from the order book, never resent.

Each broker is logged in to its sandbox; then its hosts are pointed at a relay on a loopback
port that passes reads on to the sandbox and misbehaves on the order write itself.
"""

from __future__ import annotations

import http.client
import secrets
import socket
import struct
import threading
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from brokers import http as door
from brokers.adapters import registry
from brokers.errors import BrokerError, BrokerUnavailable, OrderStateUnknown
from brokers.http import CallKind
from brokers.types import OrderModification, OrderRequest
from tests.brokers.logins import log_in
from tests.brokers.orders import resting_buy

WRITES = ("place", "modify", "cancel")
SENT = ("read timeout", "reset mid-body", "corrupt gzip", "502 HTML", "200 garbage")
NOT_SENT = ("refused", "connect timeout")


def _is_write(method: str, path: str) -> bool:
    return method != "GET" and "order" in path.lower()


class Relay:
    """Passes each request on to the sandbox, except order writes, answered with ``failure``."""

    def __init__(self, upstream: str, failure: str):
        self.upstream, self.failure = urlsplit(upstream), failure
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.writes = 0
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        try:
            request = _read_request(sock)
            if request is None:
                return
            method, path, headers, body = request
            if _is_write(method, path):
                self.writes += 1
                self._misbehave(sock)
            else:
                sock.sendall(self._forward(method, path, headers, body))
        except OSError:
            pass
        finally:
            sock.close()

    def _forward(self, method, path, headers, body) -> bytes:
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port)
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(method, path, body=body, headers=headers)
        answer = upstream.getresponse()
        content = answer.read()
        upstream.close()
        lines = [f"HTTP/1.1 {answer.status} {answer.reason}"]
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                lines.append(f"{name}: {value}")
        lines += [f"Content-Length: {len(content)}", "Connection: close"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content

    def _misbehave(self, sock):
        kind = self.failure
        if kind == "read timeout":
            self.stop.wait(5)
        elif kind == "reset mid-body":
            sock.sendall(_head("200 OK", "application/json", 200) + b'{"status": "succ')
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == "corrupt gzip":
            body = b"\x1f\x8b\x08\x00 this is not a gzip stream"
            sock.sendall(_head("200 OK", "application/json", len(body), gzip=True) + body)
        elif kind == "502 HTML":
            body = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
            sock.sendall(_head("502 Bad Gateway", "text/html", len(body)) + body)
        elif kind == "200 garbage":
            body = b"\x00\xffgarbage{{ not json"
            sock.sendall(_head("200 OK", "application/json", len(body)) + body)

    def close(self):
        self.stop.set()
        self.listener.close()


def _head(status: str, content_type: str, length: int, *, gzip: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {length}"]
    if gzip:
        lines.append("Content-Encoding: gzip")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_request(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    request_line, *fields = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = dict(field.split(": ", 1) for field in fields if ": " in field)
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return method, path, headers, body


class FullBacklog:
    """A listening port whose accept queue is full: a new connection's SYN goes unanswered, so
    connecting times out (Linux drops the SYN rather than refusing)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self):
        for filler in self.fillers:
            filler.close()
        self.listener.close()


def _point_hosts(adapter, base: str) -> None:
    adapter.hosts = {host: f"{base}/sandbox/{adapter.key}" for host in adapter.hosts}


def _write(adapter, write: str, order: OrderRequest, order_id: str):
    if write == "place":
        return adapter.place_order(order)
    if write == "modify":
        change = OrderModification(order_id=order_id, price=order.price - Decimal("1"))
        return adapter.modify_order(change)
    return adapter.cancel_order(order_id)


def _outcome(error: BrokerError | None) -> str:
    if isinstance(error, OrderStateUnknown):
        return "unknown"
    if isinstance(error, BrokerUnavailable) and error.retryable:
        return "retryable"
    return type(error).__name__ if error else "succeeded"


@pytest.fixture(autouse=True)
def _fresh_pools():
    yield
    door.close_sessions()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("broker", sorted(registry.ADAPTERS))
def test_a_failed_write_is_retryable_only_when_nothing_was_sent(broker, write, sandbox_hosts):
    adapter = log_in(broker, sandbox_hosts)
    tag = secrets.token_hex(4)
    order = resting_buy(adapter.holdings()[0], tag=tag)
    order_id = "" if write == "place" else adapter.place_order(order).order_id
    adapter.http.timeouts = {kind: (0.5, 0.5) for kind in CallKind}

    table, expected = {}, {}
    for failure in SENT:
        relay = Relay(sandbox_hosts, failure)
        _point_hosts(adapter, f"http://127.0.0.1:{relay.port}")
        try:
            _write(adapter, write, order, order_id)
            error = None
        except BrokerError as raised:
            error = raised
        finally:
            relay.close()
            door.close_sessions()
        table[failure], expected[failure] = _outcome(error), "unknown"
        assert relay.writes == 1, f"{broker} {write} reached the broker once under {failure}"
        if isinstance(error, OrderStateUnknown):
            assert error.broker == broker
            assert "reconcile" in str(error)
            if write == "place":
                assert error.tag == tag, f"{broker}: the unknown order carries its tag"

    with socket.create_server(("127.0.0.1", 0)) as taken:
        closed = taken.getsockname()[1]
    backlog = FullBacklog()
    for failure, base in (
        ("refused", f"http://127.0.0.1:{closed}"),
        ("connect timeout", f"http://127.0.0.1:{backlog.port}"),
    ):
        _point_hosts(adapter, base)
        try:
            _write(adapter, write, order, order_id)
            error = None
        except BrokerError as raised:
            error = raised
        table[failure], expected[failure] = _outcome(error), "retryable"
        if error is not None:
            assert error.broker == broker
    backlog.close()

    assert table == expected
