"""desk/rasa_client.py: the JWTs for Rasa's HTTP API, checked by Rasa's own server code, and the desk's client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web

from desk.rasa_client import (
    RENEW_BEFORE_S,
    TOKEN_TTL_S,
    HttpRasaClient,
    RasaJwt,
    main,
    rasa_api_headers,
    sign_rasa_jwt,
)
from scripts.launch import free_port
from service.settings import load_settings
from tests.desk_harness import serving

SECRET = "unit-test-rasa-jwt-secret-0123456789abcdef"
OTHER = "unit-test-another-secret-0123456789abcdef"
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def test_the_token_is_an_admin_for_rasa_with_an_expiry() -> None:
    token = sign_rasa_jwt(SECRET, NOW + 300)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert payload == {"user": {"username": "desk", "role": "admin"}, "exp": int(NOW + 300)}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, OTHER, algorithms=["HS256"], options={"verify_exp": False})


def test_a_token_is_reused_until_shortly_before_it_expires() -> None:
    clock = Clock()
    signer = RasaJwt(SECRET, clock=clock)
    first = signer.token()
    clock.now += TOKEN_TTL_S - RENEW_BEFORE_S - 1
    assert signer.token() == first
    clock.now += 1
    renewed = signer.token()
    assert renewed != first
    assert jwt.decode(renewed, SECRET, algorithms=["HS256"], options={"verify_exp": False})["exp"] == int(
        clock.now + TOKEN_TTL_S)
    assert signer.headers() == {"Authorization": f"Bearer {renewed}"}


def test_the_signer_wants_a_secret_and_keeps_it_out_of_repr() -> None:
    with pytest.raises(ValueError):
        RasaJwt("")
    assert SECRET not in repr(RasaJwt(SECRET)) and SECRET not in repr(HttpRasaClient("http://rasa", SECRET))


def test_rasa_api_headers_use_the_generated_secret(tmp_path: Path) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})
    token = rasa_api_headers(settings)["Authorization"].removeprefix("Bearer ")
    generated = (tmp_path / "rasa_jwt_secret").read_text().strip()
    assert jwt.decode(token, generated, algorithms=["HS256"])["user"]["role"] == "admin"
    given = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "RASA_JWT_SECRET": SECRET})
    assert jwt.decode(rasa_api_headers(given)["Authorization"][7:], SECRET, algorithms=["HS256"])


def test_the_command_prints_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XIAOZHI_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RASA_JWT_SECRET", SECRET)
    assert main() == 0
    printed = capsys.readouterr().out.strip()
    assert jwt.decode(printed, SECRET, algorithms=["HS256"])["user"]["username"] == "desk"
    assert SECRET not in printed


@asynccontextmanager
async def rasa_server(secret: str) -> AsyncIterator[str]:
    """Rasa's own HTTP server (rasa.server.create_app, no model loaded) checking JWTs signed with `secret`."""
    from rasa.server import create_app

    app = create_app(agent=None, cors_origins=None, jwt_secret=secret, jwt_method="HS256")
    async with serving(app) as url:
        yield url


async def test_rasas_own_auth_accepts_our_token_and_nothing_else() -> None:
    async with rasa_server(SECRET) as url, aiohttp.ClientSession() as session:
        async def status(headers: dict[str, str] | None = None, query: str = "") -> int:
            async with session.get(f"{url}/status{query}", headers=headers or {}) as answer:
                return answer.status

        good = RasaJwt(SECRET).headers()
        assert await status(good) == 409  # through the door; no model loaded in this test
        assert await status() == 401
        assert await status(RasaJwt(OTHER).headers()) == 401
        assert await status(query=f"?token={good['Authorization'][7:]}") == 401
        assert await status(query=f"?token={SECRET}") == 401


class RecordingRasa:
    """A stand-in for Rasa's trigger_intent route that records what it was sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query), request.headers.get("Authorization", ""),
                              await request.json()))
        return web.json_response({"tracker": {}})


@asynccontextmanager
async def recording_rasa() -> AsyncIterator[tuple[RecordingRasa, str]]:
    rasa = RecordingRasa()
    app = web.Application()
    app.router.add_post("/conversations/{sender}/trigger_intent", rasa.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield rasa, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_the_client_sends_the_jwt_in_the_header_not_the_url() -> None:
    async with recording_rasa() as (rasa, url):
        client = HttpRasaClient(url, SECRET)
        await client.open()
        try:
            assert await client.trigger_intent("web/c 001", "EXTERNAL_ticket_resolved", {"ticket_id": "T1"})
            assert await client.trigger_intent("web/c 001", "EXTERNAL_ticket_resolved", {"ticket_id": "T2"})
        finally:
            await client.close()
    (path, query, authorization, body), second = rasa.requests
    assert path == "/conversations/web/c 001/trigger_intent" and query == {"output_channel": "latest", "include_events": "NONE"}
    assert body == {"name": "EXTERNAL_ticket_resolved", "entities": {"ticket_id": "T1"}}
    token = authorization.removeprefix("Bearer ")
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["user"] == {"username": "desk", "role": "admin"}
    assert second[2] == authorization  # one token, reused until it nears its expiry


async def test_a_refusing_rasa_is_a_false_not_an_error() -> None:
    async with rasa_server(SECRET) as url:
        client = HttpRasaClient(url, OTHER)
        await client.open()
        try:
            assert await asyncio.wait_for(client.trigger_intent("s1", "EXTERNAL_ticket_resolved", {}), 10) is False
        finally:
            await client.close()


def test_from_settings_uses_rasa_url_and_the_stored_secret(tmp_path: Path) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "RASA_URL": "http://rasa.internal:5005/"})
    client = HttpRasaClient.from_settings(settings)
    assert repr(client) == "HttpRasaClient('http://rasa.internal:5005')"
    assert (tmp_path / "rasa_jwt_secret").exists()
