"""A custom action that cannot run: the customer hears utter_backend_error, and the next call runs as usual."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from connectors import action_failure
from service.settings import PROJECT_ROOT, load_settings

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
APOLOGY = DOMAIN.responses["utter_backend_error"][0]["text"]


class ApologisingAction(RemoteAction):
    """RemoteAction as scripts/serve_rasa.py leaves it, without touching Rasa's class for the other tests."""

    run = action_failure.apologising(RemoteAction.run, timeout_s=0.5)


class ActionServer:
    """A local action server whose answer each test sets: events, a 5xx, a rejection, or a hang."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.url = ""

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.mode == "hang":
            await asyncio.sleep(5)
        if self.mode == "fail":
            return web.Response(status=500, text="boom")
        if self.mode == "reject":
            return web.json_response({"action_name": body["next_action"], "error": "no"}, status=400)
        return web.json_response({"events": [], "responses": [{"text": "您的订单已发货"}]})


@pytest.fixture
async def action_server() -> AsyncIterator[ActionServer]:
    server = ActionServer()
    app = web.Application()
    app.router.add_post("/webhook", server.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}/webhook"
    try:
        yield server
    finally:
        await runner.cleanup()


async def run(url: str) -> tuple[list[Any], list[str]]:
    action = ApologisingAction("action_order_status", EndpointConfig(url))
    output = CollectingOutputChannel()
    tracker = DialogueStateTracker("c1", DOMAIN.slots)
    events = await action.run(output, TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker, DOMAIN)
    return events, [json.dumps(m, ensure_ascii=False) for m in output.messages]


def said(events: list[Any]) -> list[str]:
    return [event.text for event in events if isinstance(event, BotUttered)]


async def test_with_the_action_server_down_the_customer_gets_an_apology_then_service_resumes(
        action_server: ActionServer) -> None:
    events, _ = await run("http://127.0.0.1:9/webhook")  # nothing listens there

    assert said(events) == [APOLOGY]
    assert "抱歉" in APOLOGY
    events, _ = await run(action_server.url)  # back: the same action runs, no restart
    assert said(events) == ["您的订单已发货"]


@pytest.mark.parametrize("mode", ["fail", "hang"])
async def test_an_action_server_error_or_hang_is_an_apology_within_the_timeout(action_server: ActionServer,
                                                                             mode: str) -> None:
    action_server.mode = mode
    loop = asyncio.get_running_loop()
    started = loop.time()
    events, _ = await run(action_server.url)
    assert said(events) == [APOLOGY]
    assert loop.time() - started < 3


async def test_a_forms_rejection_is_still_rasas_own(action_server: ActionServer) -> None:
    action_server.mode = "reject"
    with pytest.raises(ActionExecutionRejection):
        await run(action_server.url)


def test_install_wraps_rasas_remote_action_once() -> None:
    original = RemoteAction.run
    try:
        action_failure.install(1.0)
        wrapped = RemoteAction.run
        action_failure.install(1.0)
        assert RemoteAction.run is wrapped is not original
    finally:
        RemoteAction.run = original  # type: ignore[method-assign]


def test_the_action_call_timeout_is_a_setting() -> None:
    assert load_settings({}).action_call_timeout_s == 10.0
    assert load_settings({"ACTION_CALL_TIMEOUT_S": "3"}).action_call_timeout_s == 3.0
