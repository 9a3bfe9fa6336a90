"""The door's transport: requests' ``HTTPAdapter`` over the standard library's ``http.client``.

requests stays the door's interface: prepared requests, ``Response``, its exceptions, and the
``responses`` stubs of the tests, which stand in for ``HTTPAdapter.send`` (not overridden
here). Underneath, each origin's keep-alive sockets are pooled here instead of in urllib3's
pool manager, whose pool, request and response layers cost about a quarter of a broker call's
CPU (bench/bench_broker_call.py measures both over a socket). A sync reads some 26 answers
that arrive together, one at a time under the GIL, so that CPU is wall time.

What urllib3 did happens here the same way:

- a (connect, read) timeout: connecting (and the TLS handshake) is bounded by the first, each
  read by the second;
- an idle socket the broker closed is noticed before reuse and replaced, never a failed call;
- TLS verified against requests' CA bundle or the configured one, host name checked, TLS 1.2
  or newer;
- a proxy from the environment: a CONNECT tunnel for https, the absolute URL for http, and the
  proxy URL's credentials sent as Proxy-Authorization;
- gzip and deflate bodies decoded when the body is read;
- failures raised as urllib3's exception types, so requests turns them into the exceptions
  the door reads, and a failure before anything was sent (refused, unresolvable, connect
  timeout, TLS, proxy) stays told apart from one after (read timeout, dropped connection):
  the difference between an order that was never placed and one whose fate is unknown.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from requests.exceptions import InvalidSchema
from requests.utils import DEFAULT_CA_BUNDLE_PATH, prepend_scheme_if_needed, select_proxy
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.wait import wait_for_read

PORTS = {"http": 80, "https": 443}


class Transport(HTTPAdapter):
    """Mounted on a connection's session for http:// and https://; at most ``maxsize`` idle
    sockets kept per origin (more may be open at once: the extras close when done)."""

    def __init__(self, *, maxsize: int = 16):
        super().__init__(pool_connections=1, pool_maxsize=maxsize, max_retries=0)
        self.maxsize = maxsize
        self._origins: dict[tuple, Origin] = {}
        self._lock = threading.Lock()

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        if cert:
            raise InvalidSchema("client certificates are not supported by the broker transport")
        parts = urlsplit(request.url)
        proxy = select_proxy(request.url, proxies)
        key = (parts.scheme, parts.hostname, parts.port, proxy, verify)
        origin = self._origins.get(key)
        if origin is None:
            with self._lock:
                origin = self._origins.get(key)
                if origin is None:
                    origin = self._origins[key] = Origin(
                        parts.scheme,
                        parts.hostname or "",
                        parts.port or PORTS[parts.scheme],
                        proxy=proxy,
                        proxy_headers=self.proxy_headers(proxy) if proxy else {},
                        verify=verify,
                        maxsize=self.maxsize,
                    )
        return origin

    def cert_verify(self, conn, url, verify, cert):
        """TLS settings live in each origin's context (built once), not on each call."""

    def close(self):
        with self._lock:
            origins, self._origins = list(self._origins.values()), {}
        for origin in origins:
            origin.close()
        super().close()


class Origin:
    """Keep-alive connections to one scheme://host:port, through one proxy or none."""

    def __init__(
        self, scheme: str, host: str, port: int, *, proxy, proxy_headers, verify, maxsize: int
    ):
        self.scheme, self.host, self.port = scheme, host, port
        self.verify, self.maxsize = verify, maxsize
        self.proxy = _proxy_address(proxy) if proxy else None
        self.proxy_headers: dict[str, str] = proxy_headers  # its credentials, if any
        self._context: ssl.SSLContext | None = None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    # --- what HTTPAdapter.send calls ------------------------------------------------------
    def urlopen(self, method, url, body=None, headers=None, *, timeout, **_urllib3_options):
        connect_timeout, read_timeout = (
            _seconds(timeout.connect_timeout),
            _seconds(timeout.read_timeout),
        )
        connection = self._checkout() or self._connect(url, connect_timeout)
        headers = dict(headers or {})
        if self.proxy and self.scheme == "http":
            headers.update(self.proxy_headers)
        try:
            connection.sock.settimeout(read_timeout)
            connection.request(
                method, url, body=body.encode() if isinstance(body, str) else body, headers=headers
            )
            response = connection.getresponse()
            content = response.read()
        except TimeoutError as error:
            connection.close()
            raise ReadTimeoutError(
                self, url, f"Read timed out. (read timeout={read_timeout})"
            ) from error
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise ProtocolError("Connection aborted.", error) from error
        except BaseException:  # whatever else went wrong, the socket is not left half-used
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._checkin(connection)
        return Answer(response, content)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    # --- connections -----------------------------------------------------------------------
    def _checkout(self) -> http.client.HTTPConnection | None:
        """The newest idle connection the other side has not closed (a closed one reads EOF)."""
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.sock is not None and not wait_for_read(connection.sock, 0.0):
                    return connection
                connection.close()
        return None

    def _checkin(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self.maxsize:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self, url: str, timeout: float | None) -> http.client.HTTPConnection:
        host, port = self.proxy or (self.host, self.port)
        if self.scheme == "https":
            try:
                context = self._tls()
            except (OSError, ValueError) as error:
                raise MaxRetryError(self, url, SSLError(error)) from error
            connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
            if self.proxy:
                connection.set_tunnel(self.host, self.port, headers=self.proxy_headers)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.connect()
        except OSError as error:  # timeouts, TLS and resolution errors are OSErrors too
            connection.close()
            raise MaxRetryError(
                self, url, self._why_not_connected(error, connection, host, timeout)
            ) from error
        return connection

    def _why_not_connected(self, error: OSError, connection, host: str, timeout) -> Exception:
        if isinstance(error, socket.gaierror):
            return NameResolutionError(host, connection, error)
        if isinstance(error, TimeoutError):
            return ConnectTimeoutError(
                connection, f"Connection to {host} timed out. (connect timeout={timeout})"
            )
        if isinstance(error, ssl.SSLError | ssl.CertificateError):
            return SSLError(error)
        if self.proxy and str(error).startswith("Tunnel connection failed"):
            return ProxyError("Unable to connect to proxy", error)
        return NewConnectionError(connection, f"Failed to establish a new connection: {error}")

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            if self.verify is False:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif isinstance(self.verify, str) and os.path.isdir(self.verify):
                context = ssl.create_default_context(capath=self.verify)
            elif isinstance(self.verify, str):
                context = ssl.create_default_context(cafile=self.verify)
            else:
                context = ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._context = context
        return self._context


class Answer:
    """What requests reads off a urllib3 response, for a body read in full already."""

    def __init__(self, response: http.client.HTTPResponse, content: bytes):
        self.status, self.reason, self.version = response.status, response.reason, response.version
        headers: dict[str, str] = {}
        for name, value in response.getheaders():  # repeated headers joined, as urllib3 does
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers
        self._coding = (response.getheader("Content-Encoding") or "").strip().lower()
        self._content: bytes | None = content

    def stream(self, amt: int | None = None, decode_content: bool = True) -> Iterator[bytes]:
        data = self.read(decode_content=decode_content)
        if data:
            yield data

    def read(self, amt: int | None = None, decode_content: bool = True, **_) -> bytes:
        content, self._content = self._content, None
        if not content:
            return b""
        return self._decoded(content) if decode_content else content

    def _decoded(self, content: bytes) -> bytes:
        coding = self._coding
        try:
            if coding in ("gzip", "x-gzip"):
                return zlib.decompress(content, 16 + zlib.MAX_WBITS)
            if coding == "deflate":
                try:
                    return zlib.decompress(content)
                except zlib.error:  # raw deflate, as some servers send it
                    return zlib.decompress(content, -zlib.MAX_WBITS)
        except zlib.error as error:
            raise DecodeError(
                f"Received response with content-encoding: {coding}, but failed to decode it.",
                error,
            ) from error
        return content

    def release_conn(self) -> None:
        """The connection went back to its pool when the body was read."""

    def close(self) -> None:
        self._content = None


def _proxy_address(proxy: str) -> tuple[str, int]:
    parts = urlsplit(prepend_scheme_if_needed(proxy, "http"))
    if parts.scheme != "http" or not parts.hostname:
        raise InvalidSchema(f"unsupported proxy {parts.scheme}://{parts.hostname or ''}")
    return parts.hostname, parts.port or 80


def _seconds(value) -> float | None:
    return value if isinstance(value, int | float) else None
