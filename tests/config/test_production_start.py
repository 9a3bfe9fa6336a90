"""The production start, as the image does it, without Docker: the Dockerfile's collectstatic
line (DEBUG off), migrate, then the Dockerfile's CMD on a free port; sign-in, admin and the API
docs answer 200 with DEBUG off, their static files included."""

import base64
import json
import re
import secrets
import shlex
import sys
from pathlib import Path

import requests

from tests.servers import ROOT, environment, manage, serving

ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [tuple(line.split(None, 1)) for line in joined.splitlines() if line.strip()]


def build_static_step() -> tuple[dict[str, str], list[str]]:
    """The Dockerfile's collectstatic RUN: its environment and its command."""
    runs = [args for word, args in dockerfile_instructions() if word == "RUN"]
    (line,) = [args for args in runs if "collectstatic" in args]
    words = shlex.split(line)
    env = dict(w.split("=", 1) for w in words if ASSIGNMENT.match(w))
    command = [w for w in words if not ASSIGNMENT.match(w)]
    return env, command


def serve_command() -> list[str]:
    """The Dockerfile's CMD, on a loopback port of the test's choosing."""
    (cmd,) = [json.loads(args) for word, args in dockerfile_instructions() if word == "CMD"]
    command = [sys.executable if part == "python" else part for part in cmd]
    command[command.index("-b") + 1] = "127.0.0.1"
    command[command.index("-p") + 1] = "{port}"
    return command


def production_env(folder: Path, **values) -> dict[str, str]:
    return environment(
        folder,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        FIELD_ENCRYPTION_KEYS=base64.b64encode(secrets.token_bytes(32)).decode(),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="https://127.0.0.1",
        SANDBOX_ENABLED="false",
        STATIC_ROOT=str(folder / "static"),
        **values,
    )


def test_the_image_start_sequence_serves_sign_in_admin_and_docs_with_debug_off(tmp_path):
    # About 20 s: collectstatic compresses every file, as the image build does.
    build_env, build = build_static_step()
    assert build_env.get("DEBUG") == "false", "static files are built as production serves them"
    assert build[:3] == ["python", "manage.py", "collectstatic"]
    static = tmp_path / "static"

    built = manage(
        *build[2:], env={**environment(tmp_path), **build_env, "STATIC_ROOT": str(static)}
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert (static / "staticfiles.json").exists(), "the manifest production reads"

    env = production_env(tmp_path)
    migrated = manage("migrate", "--no-input", env=env)
    assert migrated.returncode == 0, migrated.stderr[-2000:]

    behind_tls = {"X-Forwarded-Proto": "https"}  # the proxy in front terminates TLS
    with serving(serve_command(), env=env, output=tmp_path / "server.log") as url:
        for page in ("/accounts/sign-in/", "/admin/login/", "/api/docs/"):
            answer = requests.get(url + page, headers=behind_tls, timeout=10)
            assert answer.status_code == 200, (page, answer.text[:500])
            assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', answer.text)
            assert assets, page
            for asset in assets:
                # Hashed names from the manifest, served by whitenoise with DEBUG off.
                assert re.search(r"\.[0-9a-f]{12}\.\w+$", asset.split("?")[0]), asset
                served = requests.get(url + asset, headers=behind_tls, timeout=10)
                assert served.status_code == 200, asset
    assert "Traceback" not in (tmp_path / "server.log").read_text()
