"""Proofs of identity without Rasa: one-time codes, an order's phone digits, and what each proof opens."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from service.access import AccessDenied, check_profile, check_ticket, may_see_ticket
from service.backends import build_backends
from service.identity import ANONYMOUS, Claim, Identity, Proof
from service.identity_schema import otp_codes
from service.otp import Outcome, TooSoon
from service.proofs import IdentityService, LastFour, phone_in
from service.settings import Settings, load_settings
from service.sms import last_message_to
from service.tickets import build_ticket_service
from tests.desk_harness import NOW, MovableClock, draft

PHONE = "13800138000"  # 张伟 (C001)
SECRET = "x" * 8 + "proof-key-for-tests-0123456789"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})


@pytest.fixture
def identity(settings: Settings, clock: MovableClock) -> IdentityService:
    tickets = build_ticket_service(settings, clock)
    return IdentityService.build(build_backends(settings, clock), tickets.engine, clock, SECRET, settings)


def sent_code(settings: Settings, phone: str = PHONE) -> str:
    text = last_message_to(settings.sms_outbox, phone)
    assert text is not None, "no SMS"
    return re.search(r"\d{6}", text).group(0)


async def test_a_code_proves_the_phones_customer(identity: IdentityService, settings: Settings,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        sent = await identity.send_code(PHONE, "web-1")
        code = sent_code(settings)
        assert sent.masked_phone == "138****8000" and sent.minutes == 5
        result = await identity.check_code(PHONE, "web-1", code)
    assert result.identity == Identity("C001", Proof.OTP)
    assert code not in caplog.text and PHONE not in caplog.text
    assert (await identity.check_code(PHONE, "web-1", code)).check.outcome is Outcome.EXPIRED  # used once


async def test_codes_are_kept_only_as_keyed_hashes(identity: IdentityService, settings: Settings) -> None:
    await identity.send_code(PHONE, "web-1")
    code = sent_code(settings)
    with identity._codes._engine.connect() as conn:
        row = conn.execute(select(otp_codes)).one()
    assert code not in str(tuple(row)) and PHONE not in str(tuple(row))


async def test_five_tries_then_a_new_code(identity: IdentityService, settings: Settings) -> None:
    await identity.send_code(PHONE, "web-1")
    code = sent_code(settings)
    wrong = "000000" if code != "000000" else "111111"
    outcomes = [(await identity.check_code(PHONE, "web-1", wrong)).check for _ in range(5)]
    assert [c.tries_left for c in outcomes[:4]] == [4, 3, 2, 1] and outcomes[4].outcome is Outcome.LOCKED
    assert (await identity.check_code(PHONE, "web-1", code)).identity is None  # the right one, too late


async def test_a_code_lasts_five_minutes_and_belongs_to_its_conversation(identity: IdentityService, settings: Settings,
                                                                         clock: MovableClock) -> None:
    await identity.send_code(PHONE, "web-1")
    code = sent_code(settings)
    assert (await identity.check_code(PHONE, "web-2", code)).identity is None  # another conversation
    clock.advance(minutes=5, seconds=1)
    assert (await identity.check_code(PHONE, "web-1", code)).check.outcome is Outcome.EXPIRED


async def test_codes_are_rate_limited_per_phone_and_per_conversation(identity: IdentityService,
                                                                     clock: MovableClock) -> None:
    await identity.send_code(PHONE, "web-1")
    with pytest.raises(TooSoon) as again:
        await identity.send_code(PHONE, "web-2")  # the same phone from anywhere: once a minute
    assert 0 < again.value.retry_after_s <= 60
    for phone in ("13900139000", "13600136000"):  # three codes in ten minutes per conversation
        clock.advance(seconds=61)
        await identity.send_code(phone, "web-1")
    clock.advance(seconds=61)
    with pytest.raises(TooSoon):
        await identity.send_code("13700137000", "web-1")
    for _ in range(4):  # five an hour per phone
        clock.advance(minutes=11)
        await identity.send_code(PHONE, f"web-{_ + 10}")
    clock.advance(minutes=2)
    with pytest.raises(TooSoon):
        await identity.send_code(PHONE, "web-99")


async def test_an_unknown_number_gets_no_sms_and_the_same_answer(identity: IdentityService, settings: Settings) -> None:
    sent = await identity.send_code("13012345678", "web-1")
    assert sent.masked_phone == "130****5678"
    assert last_message_to(settings.sms_outbox, "13012345678") is None
    result = await identity.check_code("13012345678", "web-1", "123456")
    assert result.identity is None and result.check.outcome is Outcome.WRONG and result.check.tries_left == 4


async def test_an_orders_phone_digits_open_that_order_only(identity: IdentityService) -> None:
    result = await identity.check_last4("E202611010001", "8000", "web-1")
    assert result.outcome is LastFour.OK and result.identity == Identity(proof=Proof.ORDER, order_id="E202611010001")
    assert not result.identity.proven
    wrong = [await identity.check_last4("E202611010001", "1234", "web-2") for _ in range(5)]
    assert [w.tries_left for w in wrong[:4]] == [4, 3, 2, 1] and wrong[4].outcome is LastFour.LOCKED
    assert (await identity.check_last4("E202611010001", "8000", "web-2")).outcome is LastFour.LOCKED
    assert (await identity.check_last4("E209901010001", "8000", "web-3")).outcome is LastFour.WRONG  # no such order


async def test_guessing_one_order_from_many_conversations_is_bounded(identity: IdentityService) -> None:
    for n in range(10):
        await identity.check_last4("E202611150002", f"{n:04d}", f"guesser-{n}")
    assert (await identity.check_last4("E202611150002", "8000", "guesser-x")).outcome is LastFour.LOCKED


async def test_a_checked_claim_names_a_known_customer_only(identity: IdentityService) -> None:
    assert await identity.from_claim(Claim(Proof.SIGNED, "r", phone="13900139000")) == Identity("C002", Proof.SIGNED)
    assert await identity.from_claim(Claim(Proof.CLAIMED, "r", customer_id="C404")) is None


def test_phone_numbers_in_what_customers_type() -> None:
    assert phone_in("我的手机是 138 0013 8000") == "13800138000"
    assert phone_in("13800138000或13900139000") is None and phone_in("1380013800") is None


async def test_tickets_belong_to_their_customer_or_their_conversation(settings: Settings, clock: MovableClock) -> None:
    tickets = build_ticket_service(settings, clock)
    mine = tickets.create(draft()).ticket  # C001's, opened in conversation web-c001
    anonymous = tickets.create(draft(customer_id=None, sender_id="guest-1", order_id=None,
                                     description="没登录也能登记")).ticket
    check_ticket(Identity("C001", Proof.OTP), "anywhere", mine)
    for stranger, code in ((Identity("C002", Proof.SIGNED), "not_owner"), (ANONYMOUS, "proof_needed"),
                           (Identity(proof=Proof.ORDER, order_id="E202611010001"), "proof_needed")):
        with pytest.raises(AccessDenied, match=code):
            check_ticket(stranger, "web-c001", mine)
    assert may_see_ticket(ANONYMOUS, "guest-1", anonymous) and not may_see_ticket(ANONYMOUS, "guest-2", anonymous)
    assert not may_see_ticket(Identity("C001", Proof.SIGNED), "web-c001", replace(anonymous, sender_id="guest-1"))


def test_the_profile_is_its_owners() -> None:
    assert check_profile(Identity("C002", Proof.CLAIMED)) == "C002"
    for nobody in (ANONYMOUS, Identity(proof=Proof.ORDER, order_id="E202611010001"), Identity("C001", None)):
        with pytest.raises(AccessDenied):
            check_profile(nobody)
