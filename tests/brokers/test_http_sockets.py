"""The door over real sockets (requests on urllib3's pool): keep-alive, a broker that hangs up,
timeouts, cut answers, compressed and chunked bodies, TLS and proxies, and what each means for
an order."""

import datetime
import gzip
import ipaddress
import socket
import ssl
import threading
import time
from base64 import b64decode
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from brokers import http
from brokers.errors import BrokerUnavailable, OrderStateUnknown
from brokers.http import BrokerHttp, CallKind


class Server:
    """A broker on a loopback port: each accepted connection is served by ``serve(server,
    sock)`` in its own thread; what arrived is kept in ``heads``."""

    def __init__(self, serve, *, tls: ssl.SSLContext | None = None):
        self.serve, self.tls = serve, tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted, self.closed, self.heads, self.stop = 0, 0, [], threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/api", scheme: str = "http") -> str:
        host = "localhost" if scheme == "https" else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        try:
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True)
            self.serve(self, sock)
        except (OSError, ssl.SSLError):
            pass
        finally:
            sock.close()
            with self.lock:
                self.closed += 1

    def read_head(self, sock) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return ""
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        self.heads.append(head)
        return head

    def close(self):
        self.stop.set()
        self.listener.close()


def reply(body: bytes = b'{"data": 1}', *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def keep_alive(server, sock):
    while server.read_head(sock):
        sock.sendall(reply())


def one_answer_then_hang_up(server, sock):
    if server.read_head(sock):
        sock.sendall(reply())


def silent(server, sock):
    server.read_head(sock)
    server.stop.wait(5)


def cut_short(server, sock):
    if server.read_head(sock):
        sock.sendall(reply(b'{"data": 1', "Content-Length: 100"))


@pytest.fixture
def serve():
    servers = []

    def start(handler, **kwargs) -> Server:
        servers.append(Server(handler, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def _fresh_pools():
    yield
    http.close_sessions()


@pytest.fixture
def short_timeouts(monkeypatch):
    for kind in CallKind:
        monkeypatch.setitem(http.TIMEOUTS, kind, (1.0, 0.3))


counter = iter(range(10**6))


def door() -> BrokerHttp:
    """A door of one more account of the same broker (they share the broker host's pool)."""
    return BrokerHttp(broker="demo", account=f"T{next(counter)}")


def data(response):
    return response.json()["data"]


def test_calls_to_one_broker_share_one_kept_alive_connection(serve):
    broker = serve(keep_alive)
    d = door()
    assert [d.call("GET", broker.url(), endpoint="x", parse=data) for _ in range(3)] == [1, 1, 1]
    assert broker.accepted == 1
    assert len(broker.heads) == 3


def test_a_thousand_accounts_of_one_broker_share_its_host_pool(serve):
    """A sync of 1,000 connections of one broker on the sync's fan-out: the sockets opened and
    still open afterwards are bounded by the host's pool, not by the number of accounts."""
    broker = serve(keep_alive)
    doors = [BrokerHttp(broker="demo", account=f"ACC{n}") for n in range(1000)]

    def sync(d: BrokerHttp) -> list:
        return [d.call("GET", broker.url(f"/{what}"), endpoint=what, parse=data) for what in "hpf"]

    with ThreadPoolExecutor(max_workers=http.SYNC_FAN_OUT) as pool:
        answers = list(pool.map(sync, doors))

    assert answers == [[1, 1, 1]] * 1000
    assert len(broker.heads) == 3000
    assert broker.accepted <= http.POOL_SIZE
    http.close_sessions()
    deadline = time.monotonic() + 5
    while broker.closed < broker.accepted and time.monotonic() < deadline:
        time.sleep(0.01)
    assert broker.closed == broker.accepted  # the pool held every socket it opened


def test_a_connection_the_broker_closed_while_idle_is_replaced_not_failed(serve):
    broker = serve(one_answer_then_hang_up)
    d = door()
    assert d.call("GET", broker.url(), endpoint="x", parse=data) == 1
    broker.stop.wait(0.1)  # the broker's FIN reaches us while the connection is idle
    assert d.call("POST", broker.url(), endpoint="x", parse=data, kind=CallKind.ORDER) == 1
    assert broker.accepted == 2


def test_no_reply_in_time_is_unavailable_for_a_read_and_unknown_for_an_order(serve, short_timeouts):
    broker = serve(silent)
    with pytest.raises(BrokerUnavailable, match="no reply within the 0.3 s read timeout") as read:
        door().call("GET", broker.url(), endpoint="holdings", parse=data)
    assert not isinstance(read.value, OrderStateUnknown)
    with pytest.raises(
        OrderStateUnknown, match="no reply within the 0.3 s read timeout after the order was sent"
    ):
        door().call("POST", broker.url(), endpoint="orders", parse=data, kind=CallKind.ORDER)


def test_an_answer_cut_short_leaves_an_order_unknown(serve):
    broker = serve(cut_short)
    with pytest.raises(OrderStateUnknown, match="cut short after the order was sent"):
        door().call("POST", broker.url(), endpoint="orders", parse=data, kind=CallKind.ORDER)
    # A read: named for what happened (the request went out), never "could not connect".
    with pytest.raises(BrokerUnavailable, match="cut short") as read:
        door().call("GET", broker.url(), endpoint="holdings", parse=data)
    assert read.value.code == "cut_off"


def test_a_port_nobody_listens_on_never_received_the_order():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    with pytest.raises(BrokerUnavailable) as error:
        door().call(
            "POST", f"http://127.0.0.1:{port}/orders", endpoint="orders", parse=data,
            kind=CallKind.ORDER,
        )  # fmt: skip
    assert not isinstance(error.value, OrderStateUnknown)


@pytest.mark.parametrize(
    "answer",
    [
        reply(gzip.compress(b'{"data": 7}'), "Content-Encoding: gzip"),
        reply(b'7\r\n{"data"\r\n4\r\n: 7}\r\n0\r\n\r\n', "Transfer-Encoding: chunked"),
    ],
    ids=["gzip", "chunked"],
)
def test_compressed_and_chunked_answers_are_read_whole(serve, answer):
    def handler(server, sock):
        while server.read_head(sock):
            sock.sendall(answer)

    broker = serve(handler)
    d = door()
    assert [d.call("GET", broker.url(), endpoint="x", parse=data) for _ in range(2)] == [7, 7]
    assert broker.accepted == 1
    assert "gzip" in broker.heads[0].lower()  # we asked for compressed answers


def test_a_body_that_does_not_decompress_is_a_clear_failure(serve):
    def handler(server, sock):
        if server.read_head(sock):
            sock.sendall(reply(b"not gzip at all", "Content-Encoding: gzip"))

    broker = serve(handler)
    with pytest.raises(BrokerUnavailable, match="ContentDecodingError"):
        door().call("GET", broker.url(), endpoint="x", parse=data)


# --- TLS -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A CA of our own and a certificate it signed for localhost."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject, issuer, key, signer, *, ca, names=()):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("Test CA", "Test CA", ca_key, ca_key, ca=True)
    leaf = certificate(
        "localhost",
        "Test CA",
        key,
        ca_key,
        ca=False,
        names=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "leaf.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder


@pytest.fixture
def tls_broker(serve, certificates):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    return serve(keep_alive, tls=context)


def test_tls_to_a_broker_whose_certificate_we_trust(tls_broker, certificates):
    d = door()
    url = tls_broker.url(scheme="https")
    http.session_for("demo", url).verify = str(certificates / "ca.pem")
    assert [d.call("GET", url, endpoint="x", parse=data) for _ in range(2)] == [1, 1]
    assert tls_broker.accepted == 1


def test_a_certificate_we_cannot_verify_is_refused_before_any_order_is_sent(tls_broker):
    with pytest.raises(BrokerUnavailable, match="could not connect") as error:
        door().call(
            "POST", tls_broker.url(scheme="https"), endpoint="orders", parse=data,
            kind=CallKind.ORDER,
        )  # fmt: skip
    assert not isinstance(error.value, OrderStateUnknown)
    assert tls_broker.heads == []


# --- proxies -------------------------------------------------------------------------------
@pytest.fixture
def proxied(monkeypatch):
    def use(proxy_url: str):
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        http._proxies_for.cache_clear()

    yield use
    http._proxies_for.cache_clear()


def test_plain_http_goes_to_the_proxy_with_its_credentials(serve, proxied):
    proxy = serve(keep_alive)
    proxied(f"http://desk:p%40ss@127.0.0.1:{proxy.port}")
    assert door().call("GET", "http://api.broker.example/v1/x", endpoint="x", parse=data) == 1
    request_line, *headers = proxy.heads[0].split("\r\n")
    assert request_line == "GET http://api.broker.example/v1/x HTTP/1.1"
    fields = dict(h.split(": ", 1) for h in headers)
    assert fields["Host"] == "api.broker.example"
    assert b64decode(fields["Proxy-Authorization"].removeprefix("Basic ")) == b"desk:p@ss"


def test_a_proxy_that_refuses_the_tunnel_never_passed_the_order_on(serve, proxied):
    def refuse(server, sock):
        if server.read_head(sock):
            sock.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")

    proxy = serve(refuse)
    proxied(f"http://127.0.0.1:{proxy.port}")
    with pytest.raises(BrokerUnavailable) as error:
        door().call(
            "POST", "https://api.broker.example/orders", endpoint="orders", parse=data,
            kind=CallKind.ORDER,
        )  # fmt: skip
    assert not isinstance(error.value, OrderStateUnknown)
    assert proxy.heads[0].startswith("CONNECT api.broker.example:443 ")
