"""The action server's answer is accepted or refused exactly as Rasa's own check does, with one validator."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from connectors.action_validation import validate_action_result

RASAS_OWN = RemoteAction._validate_action_result  # untouched: tests do not call install()

ANSWERS: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_id", "value": "E202611010001"}],
     "responses": [{"text": "您的订单已发货"}]},
    {"events": [{"event": "bot", "text": "好的"}, {"event": "action", "name": "action_listen"}], "responses": []},
    {},
]
REFUSED: list[dict[str, Any]] = [
    {"events": "not a list", "responses": []},
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [], "responses": ["not an object"]},
    {"events": [{"event": "slot"}], "responses": []},
]


def action() -> RemoteAction:
    return RemoteAction("action_check_order", None)


@pytest.mark.parametrize("answer", ANSWERS)
def test_an_answer_rasa_takes_is_taken(answer: dict[str, Any]) -> None:
    assert RASAS_OWN(action(), answer) is True
    assert validate_action_result(action(), answer) is True


@pytest.mark.parametrize("answer", REFUSED)
def test_an_answer_rasa_refuses_is_refused_with_rasas_message(answer: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as own:
        RASAS_OWN(action(), answer)
    with pytest.raises(ValidationError) as ours:
        validate_action_result(action(), answer)
    assert ours.value.message == own.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_the_validator_is_reused_across_calls() -> None:
    from connectors.action_validation import response_validator

    assert response_validator() is response_validator()
