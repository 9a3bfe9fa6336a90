"""What the real server commands write about each request: never a login's one-time code, its
state, nor a token in a query string."""

import sys

import pytest
import requests

from tests.servers import environment, serving

# Values no redaction knows in advance: only their parameter names give them away.
REQUEST_TOKEN = "rq7TokenValue0000000000000000001"
STATE = "st8StateValue000000000000000000002"
ACCESS_TOKEN = "acc3ssTokenValue00000000000000003"
CODE = "c0deValue0000000000000000000000004"

SECRET_REQUESTS = [
    # Zerodha's callback: the one-time request token and the state.
    (
        "GET",
        f"/brokers/callback/zerodha/?status=success&request_token={REQUEST_TOKEN}&state={STATE}",
    ),
    # Upstox's: the OAuth code and the state.
    ("GET", f"/brokers/callback/upstox/?code={CODE}&state={STATE}"),
    # The Kite logout (the sandbox's here, as the real one): the whole access token.
    ("DELETE", f"/sandbox/zerodha/session/token?api_key=kitedemo01&access_token={ACCESS_TOKEN}"),
    # Kite's login URL carries our state inside redirect_params, percent-encoded.
    (
        "GET",
        f"/sandbox/zerodha/connect/login?v=3&api_key=kitedemo01&redirect_params=state%3D{STATE}",
    ),
]

COMMANDS = {
    # The production command (Dockerfile, docker-compose.yml): gunicorn and uvicorn workers.
    "gunicorn": [
        sys.executable,
        "-m",
        "config.web",
        "-b",
        "127.0.0.1",
        "-p",
        "{port}",
        "--workers",
        "2",
    ],
    # One Daphne process with its access log redacted.
    "daphne": [
        sys.executable,
        "-m",
        "config.server",
        "-b",
        "127.0.0.1",
        "-p",
        "{port}",
        "config.asgi:application",
    ],
    # `make run`'s: Daphne's runserver, logging through Python's logging.
    "runserver": [sys.executable, "manage.py", "runserver", "127.0.0.1:{port}", "--noreload"],
}


@pytest.mark.parametrize("server", COMMANDS)
def test_the_access_log_never_holds_a_login_code_state_or_token(server, tmp_path):
    log = tmp_path / "server.log"
    env = environment(tmp_path, SANDBOX_ENABLED="true")

    with serving(COMMANDS[server], env=env, output=log) as url:
        for method, path in SECRET_REQUESTS:
            requests.request(method, url + path, timeout=10, allow_redirects=False)

    written = log.read_text()
    assert "/brokers/callback/zerodha/" in written, written[-2000:]  # the lines are there...
    assert "/sandbox/zerodha/session/token" in written
    assert "request_token=[REDACTED]&state=[REDACTED]" in written
    assert "access_token=[REDACTED]" in written
    for secret in (REQUEST_TOKEN, STATE, ACCESS_TOKEN, CODE):  # ...but never a secret
        assert secret not in written
