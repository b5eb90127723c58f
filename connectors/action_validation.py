"""Checking the action server's answer against Rasa's schema without checking the schema itself every time.

Rasa 3.6 (rasa/core/actions/action.py, `RemoteAction._validate_action_result`) checks every answer of the action
server with `jsonschema.validate(result, schema)`. That function first validates the schema against JSON Schema's
meta-schema, then builds a validator: for Rasa's events schema that is most of the cost, and it is paid on every
action call, on the Rasa server's one event loop (~4.5 % of a busy server's samples in a py-spy profile of
`make bench`, 2026-12-04; docs/scaling.md). `install()` checks the schema once, keeps one validator and checks each
answer with it: the same validator class `validate` picks, the same best-matching error, the same message Rasa adds
to it, so an answer that Rasa refused is still refused and one it took is still taken.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def response_validator() -> Any:
    """One validator for RemoteAction's answer schema; the schema is checked here, once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(action: Any, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the one validator: True, or Rasa's ValidationError and message."""
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is not None:
        error.message += (  # Rasa's own wording
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    """Patch RemoteAction._validate_action_result (a second call changes nothing)."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
