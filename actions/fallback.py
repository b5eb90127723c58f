"""The first stage of the two-stage fallback: offer the two most likely topics as buttons."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction
from actions.names import Intent, Response

MAX_TOPICS = 2


def topic_label(domain: DomainDict, intent: str) -> str | None:
    """The topic's display name from its `utter_topic_<intent>` response, if it has one."""
    variations: Any = domain.get("responses", {}).get(f"{Response.TOPIC_PREFIX}{intent}") or []
    return variations[0].get("text") if variations else None


def likely_topics(ranking: list[dict[str, Any]], domain: DomainDict, limit: int = MAX_TOPICS) -> list[tuple[str, str]]:
    """(intent, label) of the best-ranked intents that have a topic name."""
    topics: list[tuple[str, str]] = []
    for entry in ranking:
        intent = str(entry.get("name") or "")
        label = topic_label(domain, intent)
        if label and intent != Intent.NLU_FALLBACK:
            topics.append((intent, label))
        if len(topics) == limit:
            break
    return topics


def payload(intent: str, entities: list[dict[str, Any]]) -> str:
    """"/query_logistics{"order_id": "E…"}": the button keeps what the customer already said."""
    values = {str(e["entity"]): e["value"] for e in entities if e.get("entity") and e.get("value")}
    return f"/{intent}{json.dumps(values, ensure_ascii=False)}" if values else f"/{intent}"


class ActionDefaultAskAffirmation(Action):
    """Replaces Rasa's single "did you mean" with the two likeliest topics plus 都不是."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        message = tracker.latest_message or {}
        ranking = list(message.get("intent_ranking") or [])
        entities = list(message.get("entities") or [])
        buttons = [{"title": label, "payload": payload(intent, entities)} for intent, label in likely_topics(ranking, domain)]
        none_label = (domain.get("responses", {}).get(Response.AFFIRMATION_NONE) or [{"text": "都不是"}])[0]["text"]
        buttons.append({"title": none_label, "payload": f"/{Intent.OUT_OF_SCOPE}"})
        dispatcher.utter_message(response=Response.ASK_AFFIRMATION, buttons=buttons)
        return []


def fallbacks_in_a_row(tracker: Tracker, count: int = 2) -> bool:
    intents = [str((e.get("parse_data") or {}).get("intent", {}).get("name"))
               for e in tracker.events if e.get("event") == "user"]
    return len(intents) >= count and all(i == Intent.NLU_FALLBACK for i in intents[-count:])


class ActionDefaultFallback(ServiceAction):
    """Two misunderstandings in a row: hand over to a person. Any other dead end: say so and offer one."""

    def name(self) -> str:
        return "action_default_fallback"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if fallbacks_in_a_row(tracker):
            from actions.handoff import ActionRequestHuman  # handoff imports fallback's neighbours

            return await ActionRequestHuman(self._services).handle(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]
