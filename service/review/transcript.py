"""One conversation as a reviewer reads it: each customer message with the NLU's intent, confidence and entities,
the bot's actions with the policy that chose them, the bot's and the agents' messages, in order.

`transcript_view(..., masked=True)` is what a 坐席 gets: phone numbers, ID numbers, e-mails and addresses masked in
every text and entity value (service/privacy.scrub_all); a 主管 gets it whole (the desk writes the 操作日志). The
conversation is named by its pseudonym, never by its sender id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.clock import CST
from service.conversation_log import BOT, CUSTOMER, LoggedEvent
from service.privacy import conversation_ref, scrub_all
from service.review.collect import FALLBACK_INTENT
from service.review.facts import HandoffSummary, Rating

HIDDEN_ACTIONS = frozenset({"action_listen", "action_session_start"})
RANKING = 3  # the runners-up shown under a customer message
MAX_ENTITY_TEXT = 200


@dataclass(frozen=True)
class TranscriptSource:
    """What a transcript is made of (read by the caller, from the tracker store and the bot's database)."""

    sender_id: str
    events: list[LoggedEvent]
    customer_id: str | None
    handoffs: list[HandoffSummary]
    ratings: list[Rating]
    in_inbox: Collection[int]
    threshold: float
    truncated: bool = False


def _iso(moment: datetime | None) -> str | None:
    """Stored datetimes are naive CST; they go out with their offset."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=CST) if moment.tzinfo is None else moment).isoformat()


def _text(value: Any, masked: bool) -> Any:
    if isinstance(value, str):
        return scrub_all(value) if masked else value
    return value


def _entities(event: LoggedEvent, masked: bool) -> list[dict[str, Any]]:
    shown = []
    for entity in event.entities:
        value = entity.get("value")
        value = str(value)[:MAX_ENTITY_TEXT] if value is not None else ""
        shown.append({"entity": str(entity.get("entity") or ""), "value": _text(value, masked),
                      "start": entity.get("start") if isinstance(entity.get("start"), int) else None,
                      "end": entity.get("end") if isinstance(entity.get("end"), int) else None,
                      "extractor": str(entity.get("extractor") or "")})
    return shown


def _ranking(event: LoggedEvent) -> list[dict[str, Any]]:
    ranking = (event.data.get("parse_data") or {}).get("intent_ranking") or ()
    shown = []
    for entry in ranking if isinstance(ranking, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            confidence = entry.get("confidence")
            shown.append({"name": entry["name"],
                          "confidence": float(confidence) if isinstance(confidence, (int, float)) else None})
        if len(shown) == RANKING:
            break
    return shown


def _entry(event: LoggedEvent, source: TranscriptSource, masked: bool) -> dict[str, Any] | None:
    base: dict[str, Any] = {"event_id": event.id, "at": _iso(event.at)}
    if event.kind == "session_started":
        return {**base, "kind": "session"}
    if event.kind == "user":
        if event.author != CUSTOMER:
            return None  # the desk's triggers (agent replies, queue updates): their effect is the bot's message
        low = event.confidence is not None and event.confidence < source.threshold
        return {**base, "kind": "message", "author": CUSTOMER, "text": _text(event.text or "", masked),
                "intent": event.intent, "confidence": event.confidence, "entities": _entities(event, masked),
                "ranking": _ranking(event), "channel": event.channel,
                "fallback": event.intent == FALLBACK_INTENT, "low_confidence": low,
                "in_inbox": event.id in source.in_inbox}
    if event.kind == "bot":
        metadata = event.data.get("metadata") or {}
        agent_name = metadata.get("agent_name") if isinstance(metadata, dict) else None
        response = metadata.get("utter_action") if isinstance(metadata, dict) else None
        return {**base, "kind": "message", "author": event.author or BOT, "text": _text(event.text or "", masked),
                "response": response if isinstance(response, str) else None,
                "agent_name": agent_name if isinstance(agent_name, str) and agent_name else None}
    if event.kind == "action":
        if event.action in HIDDEN_ACTIONS:
            return None
        return {**base, "kind": "action", "action": event.action, "policy": event.policy,
                "confidence": event.confidence}
    return None  # slots: their values are in the entities and the bot's answers


def transcript_view(source: TranscriptSource, masked: bool) -> dict[str, Any]:
    entries = [entry for event in source.events if (entry := _entry(event, source, masked)) is not None]
    said = [e for e in source.events if e.is_customer_message]
    return {
        "conversation": conversation_ref(source.sender_id),
        "customer_id": source.customer_id,
        "first_at": _iso(source.events[0].at) if source.events else None,
        "last_at": _iso(source.events[-1].at) if source.events else None,
        "channels": list(dict.fromkeys(e.channel for e in said if e.channel)),
        "messages": len(said),
        "handoffs": [{"session_id": h.session_id, "agent": h.agent, "status": h.status, "group": h.skill_group,
                      "queued_at": _iso(h.queued_at), "rating": h.rating} for h in source.handoffs],
        "ratings": [{"score": r.score, "source": r.source, "reference": r.reference, "at": _iso(r.at)}
                    for r in source.ratings],
        "threshold": source.threshold,
        "truncated": source.truncated,
        "entries": entries,
    }
