"""The tracker store the review and report routes read (app.ctx.conversation_log), opened once for both: before the
server starts, unless a test put one there; closed after it stops (only when opened here)."""

from __future__ import annotations

from typing import Any

from sanic import Sanic

from service.conversation_log import open_conversation_log


async def open_tracker_log(app: Sanic, _loop: Any) -> None:
    app.ctx.conversation_log_owned = getattr(app.ctx, "conversation_log", None) is None
    if app.ctx.conversation_log_owned:
        app.ctx.conversation_log = open_conversation_log(app.ctx.settings)


async def close_tracker_log(app: Sanic, _loop: Any) -> None:
    if getattr(app.ctx, "conversation_log_owned", False):
        app.ctx.conversation_log.close()
        app.ctx.conversation_log_owned = False


def listen_for_tracker_log(app: Sanic) -> None:
    """Register the listeners: before the blueprints whose own start listeners read app.ctx.conversation_log."""
    app.register_listener(open_tracker_log, "before_server_start")
    app.register_listener(close_tracker_log, "after_server_stop")
