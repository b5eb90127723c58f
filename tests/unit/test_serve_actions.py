"""scripts/serve_actions.py: the action server's token check (in process), its options and its start-up refusals."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa_sdk import Action

from scripts.serve_actions import DEFAULT_HOST, DEFAULT_PORT, build_app, main, parse_options, token_matches
from service.settings import PROJECT_ROOT
from tests.desk_harness import serving

TOKEN = "unit-test-action-server-token-0123456789"


def test_token_matches_only_the_exact_bearer_token() -> None:
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("", TOKEN)
    assert not token_matches(TOKEN, TOKEN)  # no scheme
    assert not token_matches(f"bearer {TOKEN}", TOKEN)
    assert not token_matches(f"Bearer {TOKEN}x", TOKEN)
    assert not token_matches(f"Bearer {TOKEN[:-1]}", TOKEN)
    assert not token_matches("Bearer ", TOKEN)
    assert not token_matches("Bearer ", "")


def recording_actions() -> tuple[types.ModuleType, list[str]]:
    """A module of one action (what rasa-sdk loads from actions/), recording the senders it ran for."""
    ran: list[str] = []

    class ActionCancelEverything(Action):
        def name(self) -> str:
            return "action_cancel_everything"

        async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[dict[str, Any]]:
            ran.append(tracker.sender_id)
            return []

    module = types.ModuleType("unit_test_actions")
    module.ActionCancelEverything = ActionCancelEverything  # type: ignore[attr-defined]
    ActionCancelEverything.__module__ = module.__name__
    return module, ran


def action_call(sender: str) -> dict[str, Any]:
    tracker = {"sender_id": sender, "slots": {}, "latest_message": {}, "events": [], "paused": False,
               "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}
    return {"next_action": "action_cancel_everything", "sender_id": sender, "tracker": tracker, "domain": {},
            "version": "3.6.21"}


async def test_only_calls_with_the_token_reach_an_action() -> None:
    module, ran = recording_actions()
    async with serving(build_app(TOKEN, module)) as url, aiohttp.ClientSession() as session:
        async def post(path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
            async with session.post(f"{url}{path}", json=action_call("victim"), headers=headers or {}) as answer:
                return answer.status, await answer.json()

        refused = [await post("/webhook"), await post("/webhook", {"Authorization": "Bearer wrong"}),
                   await post(f"/webhook?token={TOKEN}"), await post("/webhook", {"Authorization": TOKEN}),
                   await post("/webhook", {"X-Token": TOKEN})]
        assert [status for status, _ in refused] == [401] * 5
        assert refused[0][1] == {"error": "unauthorized", "reason": "the action server token is missing or wrong"}
        assert ran == []
        assert (await post("/webhook", {"Authorization": f"Bearer {TOKEN}"}))[0] == 200
        assert ran == ["victim"]
        async with session.get(f"{url}/actions") as answer:
            assert answer.status == 401
        async with session.get(f"{url}/actions", headers={"Authorization": f"Bearer {TOKEN}"}) as answer:
            # rasa-sdk lists every Action subclass this process has imported (other tests import actions/ too)
            assert answer.status == 200 and {"name": "action_cancel_everything"} in await answer.json()
        async with session.get(f"{url}/health") as answer:
            assert answer.status == 200


async def test_no_cors_for_any_origin() -> None:
    module, _ = recording_actions()
    async with serving(build_app(TOKEN, module)) as url, aiohttp.ClientSession() as session:
        async with session.get(f"{url}/health", headers={"Origin": "https://evil.example"}) as answer:
            assert "Access-Control-Allow-Origin" not in answer.headers


def test_the_app_wants_a_token() -> None:
    module, _ = recording_actions()
    with pytest.raises(ValueError):
        build_app("", module)


def test_options_listen_on_loopback_by_default() -> None:
    assert parse_options([], {}) == parse_options([], {"ACTIONS_HOST": ""})
    options = parse_options([], {})
    assert (options.host, options.port, options.actions) == (DEFAULT_HOST, DEFAULT_PORT, "actions")
    assert DEFAULT_HOST == "127.0.0.1"


def test_options_from_the_environment_and_the_command_line() -> None:
    options = parse_options([], {"ACTIONS_HOST": "0.0.0.0", "ACTIONS_PORT": "6055"})
    assert (options.host, options.port) == ("0.0.0.0", 6055)
    assert parse_options(["--port", "7055"], {"ACTIONS_PORT": "6055"}).port == 7055
    for argv, env in (([], {"ACTIONS_PORT": "http"}), (["--port", "0"], {}), (["--port", "70000"], {})):
        with pytest.raises(SystemExit):
            parse_options(argv, env)


def placeholder(name: str) -> str:
    """The value deploy/env.sample gives `name`: published, so no secret."""
    for line in (PROJECT_ROOT / "deploy" / "env.sample").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name} is not in deploy/env.sample")


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    for name in ("ACTION_SERVER_TOKEN", "RASA_JWT_SECRET", "DESK_SECRET", "TRACKER_ENCRYPTION_KEY", "IDENTITY_SECRET",
                 "REDIS_URL", "DATABASE_URL", "XIAOZHI_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XIAOZHI_VAR_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_refuses_to_start_with_a_published_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    isolate(monkeypatch, tmp_path, ACTION_SERVER_TOKEN=placeholder("ACTION_SERVER_TOKEN"))
    assert main(["--port", "5999"]) == 2
    error = capsys.readouterr().err
    assert "ACTION_SERVER_TOKEN is written in deploy/env.sample" in error
    assert placeholder("ACTION_SERVER_TOKEN") not in error


def test_refuses_to_start_in_scaled_mode_without_the_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    isolate(monkeypatch, tmp_path, XIAOZHI_MODE="scaled")
    assert main(["--port", "5999"]) == 2
    assert "ACTION_SERVER_TOKEN" in capsys.readouterr().err
    assert not (tmp_path / "action_server_token").exists()
