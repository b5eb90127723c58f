"""A custom action that cannot run gets the customer an apology, not silence.

Rasa 3.6 calls the action server from RemoteAction.run; when the server is down, answers 5xx or takes too long,
that raises, and the processor (rasa/core/processor.py, `except Exception` in _run_action) logs the error and
carries on without the action's events: the customer's message gets no answer at all. `install()` (called by
scripts/serve_rasa.py before Rasa starts) wraps RemoteAction.run so that such a failure instead utters
`utter_backend_error` (「非常抱歉，系统查询暂时有点慢……」) and returns that message as the action's only event.
The next message is served as usual: as soon as the action server is back, its actions run again, no restart.

- A rejection (ActionExecutionRejection: a form's validation refusing a slot) is Rasa's own flow and passes through.
- An action call takes at most `timeout_s` (ACTION_CALL_TIMEOUT_S, 10 s by default; Rasa's own is 300 s), so a hung
  action server cannot hold a conversation, and its lock, for five minutes.
- Logs name the action and the error's type, never the conversation or the customer's text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from service.logs import log_event

logger = logging.getLogger(__name__)
APOLOGY = "utter_backend_error"
_WRAPPED = "_xiaozhi_apology_wrapped"

Run = Callable[..., Awaitable[list[Any]]]


async def apology_events(nlg: Any, tracker: Any, output_channel: Any) -> list[Any]:
    """utter_backend_error, sent to the customer and returned as the tracker's BotUttered event."""
    from rasa.core.actions.action import create_bot_utterance

    message = await nlg.generate(APOLOGY, tracker, output_channel.name())
    if not message:
        return []
    message["utter_action"] = APOLOGY
    return [create_bot_utterance(message)]


def apologising(run: Run, timeout_s: float) -> Run:
    """RemoteAction.run, bounded by timeout_s, with an apology in place of a failure."""
    from rasa.core.actions.action import ActionExecutionRejection

    async def run_or_apologise(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Any]:
        try:
            return await asyncio.wait_for(run(self, output_channel, nlg, tracker, domain), timeout=timeout_s)
        except ActionExecutionRejection:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the action server is down, failing or too slow: say so, politely
            log_event(logger, "custom_action_failed", logging.WARNING, action=self.name(),
                      error=type(error).__name__, timeout_s=timeout_s)
            return await apology_events(nlg, tracker, output_channel)

    setattr(run_or_apologise, _WRAPPED, True)
    run_or_apologise.__doc__ = run.__doc__
    return run_or_apologise


def install(timeout_s: float) -> None:
    """Wrap Rasa's RemoteAction.run once per process (a second call changes nothing)."""
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction.run, _WRAPPED, False):
        return
    RemoteAction.run = apologising(RemoteAction.run, timeout_s)  # type: ignore[method-assign]
