"""What agents and the bot are sent: handoff data masked per role, whose data it is (for the audit), start results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handoff.bridge import StartResult
from service.audit import Owner
from service.clock import iso
from service.privacy import conversation_ref, mask_phone, scrub

SUPERVISOR = "主管"
AGENT = "坐席"


# Keys the desk itself made up: never a customer's words, and an agent acts on them (pick, reply, end). A session id
# is 32 hex characters, so now and then it holds eleven digits that read as a mobile number; masked, it named no session.
IDENTIFIER_KEYS = frozenset({"session_id", "conversation"})


def _masked(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    if isinstance(value, str):
        if key in IDENTIFIER_KEYS:
            return value
        return mask_phone(value) if key == "phone" and value else scrub(value)
    return value


def _pseudonymous(value: Any) -> Any:
    """The data with every `sender_id` replaced by a `conversation` pseudonym (see privacy.conversation_ref)."""
    if isinstance(value, dict):
        return {("conversation" if k == "sender_id" else k): (conversation_ref(str(v or "")) if k == "sender_id"
                                                              else _pseudonymous(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_pseudonymous(v) for v in value]
    return value


def for_role(data: dict[str, Any], role: str) -> dict[str, Any]:
    """Supervisors see everything but the conversations' keys; agents see phone numbers, ID numbers and
    addresses masked as well."""
    shown = _pseudonymous(data)
    return shown if role == SUPERVISOR else _masked(shown)


def session_owner(data: Mapping[str, Any]) -> Owner | None:
    """For the audit: anything carrying a session_id is that session's customer's. The customer id comes from the
    context package when the data has it (session views); for queue entries and events it is left to the caller
    to look up by the session id."""
    session_id = data.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        return None
    context = data.get("context")
    customer = ""
    if isinstance(context, Mapping):
        profile = context.get("customer")
        slots = context.get("slots")
        if isinstance(profile, Mapping) and profile.get("id"):
            customer = str(profile["id"])
        elif isinstance(slots, Mapping) and slots.get("customer_id"):
            customer = str(slots["customer_id"])
    return Owner(customer, session_id)


def start_view(result: StartResult) -> dict[str, Any]:
    return {"status": result.status, "session_id": result.session_id, "group": result.group,
            "position": result.position, "eta_minutes": result.eta_minutes, "agent_name": result.agent_name,
            "unavailable": result.unavailable,
            "next_contact": iso(result.next_contact), "hours": result.hours, "closed_at": iso(result.closed_at)}
