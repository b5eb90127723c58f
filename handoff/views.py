"""What agents and the bot are sent: handoff data masked per role, start results as JSON."""

from __future__ import annotations

from typing import Any

from handoff.bridge import StartResult
from service.privacy import mask_phone, scrub

SUPERVISOR = "主管"


def _masked(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    if isinstance(value, str):
        return mask_phone(value) if key == "phone" and value else scrub(value)
    return value


def for_role(data: dict[str, Any], role: str) -> dict[str, Any]:
    """Supervisors see everything; agents see phone numbers, ID numbers and addresses masked."""
    return data if role == SUPERVISOR else _masked(data)


def start_view(result: StartResult) -> dict[str, Any]:
    return {"status": result.status, "session_id": result.session_id, "group": result.group,
            "position": result.position, "eta_minutes": result.eta_minutes, "agent_name": result.agent_name,
            "unavailable": result.unavailable,
            "next_contact": result.next_contact.isoformat() if result.next_contact else None}
