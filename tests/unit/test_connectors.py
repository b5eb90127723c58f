"""Channels: identity claims are verified, malformed webhook bodies are refused."""

from __future__ import annotations

import logging

import pytest
from rasa.core.channels.channel import UserMessage

from connectors.identity import identity_hash, verify_claims, verifying
from connectors.rest_channel import request_problem


def test_claims_are_trusted_without_a_secret() -> None:
    assert verify_claims({"customer_id": "C001"}, None) == {"customer_id": "C001"}


def test_claims_need_a_valid_hash_when_a_secret_is_set(caplog: pytest.LogCaptureFixture) -> None:
    good = {"customer_id": "C001", "identity_hash": identity_hash("k", "C001"), "page": "/orders"}
    assert verify_claims(good, "k") == {"customer_id": "C001", "page": "/orders"}
    with caplog.at_level(logging.WARNING):
        assert verify_claims({"customer_id": "C001", "identity_hash": "forged"}, "k") == {}
        assert verify_claims({"phone": "13800138000"}, "k") == {}
    assert "identity_claim_rejected" in caplog.text and "13800138000" not in caplog.text


async def test_every_message_passes_the_check_before_rasa_sees_it() -> None:
    seen: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        seen.append(message)

    handler = verifying(on_new_message, secret="k")
    await handler(UserMessage("你好", sender_id="s", metadata={"customer_id": "C001", "identity_hash": "nope"}))
    assert seen[0].metadata == {}


@pytest.mark.parametrize("body, problem", [
    ({"sender": "s", "message": "你好"}, None),
    ({"sender": "s", "message": "你好", "metadata": {"customer_id": "C001"}}, None),
    ([1, 2], "JSON object"),
    ({"message": "你好"}, "sender"),
    ({"sender": "s"}, "message"),
    ({"sender": "s", "message": "   "}, "message"),
    ({"sender": "s", "message": "长" * 2001}, "at most 2000"),
    ({"sender": "s", "message": "你好", "metadata": "C001"}, "metadata"),
])
def test_webhook_bodies(body: object, problem: str | None) -> None:
    found = request_problem(body)
    assert (found is None) if problem is None else (problem in str(found))
