"""Building rasa-sdk trackers and reading what an action said, for action tests."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from service.settings import PROJECT_ROOT


def domain() -> dict[str, Any]:
    """domain.yml as the action server receives it."""
    import yaml

    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def tracker(
    text: str = "",
    intent: str = "inform",
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    active_loop: str | None = None,
    ranking: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker whose latest message is `text` with `intent` and `entities`."""
    entity_list = [{"entity": k, "value": v, "start": 0, "end": 0} for k, v in (entities or {}).items()]
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entity_list,
               "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}]}
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": message, "metadata": metadata or {}}]
    all_slots = {"order_topic": "status", **(slots or {})}
    return Tracker("tester", all_slots, message, events, False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def signed_in(customer_id: str, proof: str = "signed") -> dict[str, str]:
    """The identity slots of a customer proven by `proof` (what the actions set after a proof)."""
    return {"customer_id": customer_id, "identity_proof": proof}


def checked_claim(customer_id: str | None = None, phone: str | None = None, proof: str = "signed",
                  ref: str = "ref-1") -> dict[str, Any]:
    """Message metadata as a channel leaves it after checking the page's identity claim."""
    claim: dict[str, str] = {"proof": proof, "ref": ref}
    if customer_id:
        claim["customer_id"] = customer_id
    if phone:
        claim["phone"] = phone
    return {"identity": claim}


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") or "" for m in dispatcher.messages]


def said(dispatcher: CollectingDispatcher, response: str) -> dict[str, Any]:
    """The message for `response` (its template variables are top-level keys)."""
    for message in dispatcher.messages:
        if message.get("response") == response:
            return message
    raise AssertionError(f"{response} not uttered; got {responses(dispatcher)}")


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
