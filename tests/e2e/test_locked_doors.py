"""Rasa's and the action server's doors on a started stack (scripts/serve_rasa.py, scripts/serve_actions.py).

Rasa's HTTP API takes only a JWT signed with RASA_JWT_SECRET in the Authorization header; CORS only
for the widget origins; the action server only calls carrying ACTION_SERVER_TOKEN, which Rasa
sends; no secret on any command line; the desk's client still reaches trigger_intent.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest

from desk.rasa_client import HttpRasaClient, sign_rasa_jwt
from scripts.launch import http
from service.secrets import stored_secret
from tests.e2e.conftest import Bot

pytestmark = pytest.mark.e2e
SENDER = "locked-doors"
API_CALLS = [
    ("GET", f"/conversations/{SENDER}/tracker", None),
    ("POST", "/model/parse", {"text": "你好"}),
    ("GET", "/status", None),
]
OTHER_SECRET = "not-the-stack-s-secret-but-long-enough-for-hs256"
UNLISTED_ORIGIN = "https://evil.example"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def secret(bot: Bot, name: str) -> str:
    return stored_secret(bot.stack.settings, name)


@pytest.mark.parametrize(("method", "path", "body"), API_CALLS, ids=["tracker", "parse", "status"])
def test_rasas_api_takes_only_a_jwt_in_the_header(bot: Bot, method: str, path: str, body: Any) -> None:
    url = f"{bot.rasa_url}{path}"
    key = secret(bot, "RASA_JWT_SECRET")
    good = sign_rasa_jwt(key, time.time() + 300)
    refused = {
        "no token": http(method, url, body),
        "JWT in the URL": http(method, f"{url}?token={good}", body),
        "secret in the URL": http(method, f"{url}?token={key}", body),
        "JWT of another secret": http(method, url, body, headers=bearer(sign_rasa_jwt(OTHER_SECRET, time.time() + 300))),
        "expired JWT": http(method, url, body, headers=bearer(sign_rasa_jwt(key, time.time() - 600))),  # past the leeway
        "action server token": http(method, url, body, headers=bearer(secret(bot, "ACTION_SERVER_TOKEN"))),
    }
    assert {case: answer[0] for case, answer in refused.items()} == dict.fromkeys(refused, 401)
    assert http(method, url, body, headers=bearer(good))[0] == 200
    assert bot.api(method, path, body)[0] == 200


def test_a_customer_token_reads_only_its_own_conversation(bot: Bot) -> None:
    token = jwt.encode({"user": {"username": "someone-else", "role": "user"}, "exp": int(time.time()) + 300},
                       secret(bot, "RASA_JWT_SECRET"), algorithm="HS256")
    assert http("GET", f"{bot.rasa_url}/conversations/{SENDER}/tracker", headers=bearer(token))[0] == 403


def test_rasas_root_stays_open_for_health_checks(bot: Bot) -> None:
    status, body = http("GET", f"{bot.rasa_url}/")
    assert status == 200 and "Rasa" in body


def preflight(url: str, origin: str) -> dict[str, str]:
    request = urllib.request.Request(url, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(answer.headers)


@pytest.mark.parametrize("path", [f"/conversations/{SENDER}/tracker", "/model/parse", "/webhooks/rest/webhook"])
def test_cors_only_for_the_widget_origins(bot: Bot, path: str) -> None:
    listed = bot.stack.settings.widget_origins[0]
    assert "Access-Control-Allow-Origin" not in preflight(f"{bot.rasa_url}{path}", UNLISTED_ORIGIN)
    assert preflight(f"{bot.rasa_url}{path}", listed).get("Access-Control-Allow-Origin") == listed


def test_socketio_answers_cors_once(bot: Bot) -> None:
    """python-socketio answers CORS on its own path; Rasa's CORS stays off it, or browsers refuse two headers."""
    listed = bot.stack.settings.widget_origins[0]
    request = urllib.request.Request(f"{bot.rasa_url}/socket.io/?EIO=4&transport=polling", headers={"Origin": listed})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers.get_all("Access-Control-Allow-Origin") == [listed]


def forged_call(action: str) -> dict[str, Any]:
    tracker = {"sender_id": "victim", "slots": {"order_id": "E202611150002", "customer_id": "C001"},
               "latest_message": {"intent": {"name": "affirm"}, "entities": [], "text": "确认"}, "events": [],
               "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}
    return {"next_action": action, "sender_id": "victim", "tracker": tracker, "domain": {}, "version": "3.6.21"}


def test_the_action_server_refuses_calls_without_the_token(bot: Bot) -> None:
    webhook = f"{bot.stack.actions_url}/webhook"
    token = secret(bot, "ACTION_SERVER_TOKEN")
    refused = {
        "no token": http("POST", webhook, forged_call("action_cancel_order")),
        "wrong token": http("POST", webhook, forged_call("action_cancel_order"), headers=bearer(OTHER_SECRET)),
        "token in the URL": http("POST", f"{webhook}?token={token}", forged_call("action_cancel_order")),
        "token without Bearer": http("POST", webhook, forged_call("action_cancel_order"), headers={"Authorization": token}),
        "list of actions": http("GET", f"{bot.stack.actions_url}/actions"),
    }
    assert {case: answer[0] for case, answer in refused.items()} == dict.fromkeys(refused, 401)
    assert refused["no token"][1]["error"] == "unauthorized"
    assert http("GET", f"{bot.stack.actions_url}/health")[0] == 200


def test_the_action_server_listens_on_loopback_only(bot: Bot) -> None:
    port = int(bot.stack.actions_url.rsplit(":", 1)[1])
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:] if line.split()[3] == "0A"]
    assert f"0100007F:{port:04X}" in listening  # 127.0.0.1
    assert f"00000000:{port:04X}" not in listening


def test_rasa_calls_the_actions_with_the_token(bot: Bot) -> None:
    """action_greet runs on the action server: a VIP greeting by name means Rasa's call got through."""
    assert "张伟" in bot.texts(f"{SENDER}-greet", "你好", {"customer_id": "C001"})


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def test_no_secret_on_any_command_line(bot: Bot) -> None:
    values = [secret(bot, name) for name in ("RASA_JWT_SECRET", "ACTION_SERVER_TOKEN", "DESK_SECRET")]
    seen = 0
    for process in bot.stack.processes.values():
        for pid in [process.pid, *descendants(process.pid)]:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            seen += 1
            assert not [value for value in values if value in cmdline], f"a secret is on the command line of {pid}"
    assert seen >= len(bot.stack.processes)


async def test_the_desk_client_triggers_intents(bot: Bot) -> None:
    bot.texts(f"{SENDER}-desk", "你好", {"customer_id": "C001"})
    client = HttpRasaClient.from_settings(bot.stack.settings)  # RASA_URL and RASA_JWT_SECRET of the stack
    impostor = HttpRasaClient(bot.rasa_url, OTHER_SECRET)
    await client.open()
    await impostor.open()
    try:
        assert await client.trigger_intent(f"{SENDER}-desk", "EXTERNAL_ticket_resolved", {"ticket_id": "T2026112100001"})
        assert not await impostor.trigger_intent(f"{SENDER}-desk", "EXTERNAL_ticket_resolved", {"ticket_id": "T1"})
    finally:
        await client.close()
        await impostor.close()
