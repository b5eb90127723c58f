"""The training-data inbox: what a scan collects (fallbacks, unsure messages; once each), masked; marks; verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import InvalidInput, NotAllowed, NotFound
from service.review.inbox import CONFIRMED, CORRECTED, DISCARDED, FALLBACK, LOW_CONFIDENCE, MARKED, NEW, InboxQuery
from service.review.intents import check_intent_name
from service.review.masking import mask_text, name_forms
from service.review.service import ReviewService
from tests.review_conversations import ANON, FALLBACK_TEXT, ID_NUMBER, LI, NAME, PHONE, ZHANG
from tests.unit.desk_fixtures import review_service

pytestmark = pytest.mark.usefixtures("restore_log_record_factory")


@pytest.fixture
async def review(tmp_path: Path) -> ReviewService:
    return await review_service(tmp_path, threshold=0.6)


def test_a_scan_collects_fallbacks_and_unsure_messages_once(review: ReviewService) -> None:
    first = review.scan()
    assert (first.scanned, first.added, first.more) == (5, 3, False)
    page = review.inbox.search(InboxQuery())
    assert [(i.source, i.guess, i.status) for i in page.items] == [
        (FALLBACK, "urge_delivery", NEW), (LOW_CONFIDENCE, "urge_delivery", NEW), (LOW_CONFIDENCE, "out_of_scope", NEW)]
    assert page.items[0].confidence == pytest.approx(0.28)  # the best real intent under nlu_fallback
    assert page.counts == {NEW: 3, CONFIRMED: 0, CORRECTED: 0, DISCARDED: 0}
    again = review.scan()  # goes on from the last event: nothing new
    assert (again.scanned, again.added) == (0, 0)
    review.inbox.scanned("nlu", 0)  # even a scan from the start adds nothing twice (one item per event)
    assert review.inbox.last_scanned("nlu") == first.last_event_id  # the mark never moves back
    assert review.inbox.add([]) == []


def test_a_lower_threshold_takes_fewer(review: ReviewService) -> None:
    review.collector.threshold = 0.5
    review.scan()
    assert [i.source for i in review.inbox.search(InboxQuery()).items] == [FALLBACK, LOW_CONFIDENCE]


def test_no_phone_id_number_or_name_reaches_the_inbox(review: ReviewService) -> None:
    review.scan()
    texts = [i.text for i in review.inbox.search(InboxQuery()).items]
    assert texts[0] == "我是某某，手机138****8000，身份证330106********4，东西咋还没到"
    assert texts[1] == "我手机号138****8000，能不能快点"
    for text in texts:
        assert PHONE not in text and ID_NUMBER not in text and NAME not in text


def test_masking_replaces_known_names_and_their_given_names() -> None:
    assert name_forms(["欧阳娜娜", "张伟", "李", " "]) == ["欧阳娜娜", "娜娜", "张伟"]
    assert mask_text("你好 我是 欧阳娜娜\n娜娜 电话 13900139000", ["欧阳娜娜"]) == "你好 我是 某某 某某 电话 139****9000"
    assert "某某" not in mask_text(FALLBACK_TEXT)  # an unknown name cannot be recognised


def test_a_mark_adds_a_customer_message_once(review: ReviewService) -> None:
    events = review.transcript(LI).events
    message = next(e for e in events if e.is_customer_message)
    item, added = review.mark(LI, message.id)
    assert added and (item.source, item.guess, item.status) == (MARKED, "query_order_status", NEW)
    assert item.conversation != LI and len(item.conversation) == 12
    again, added = review.mark(LI, message.id)
    assert not added and again.id == item.id
    bot = next(e for e in events if e.kind == "bot")
    with pytest.raises(NotFound):
        review.mark(LI, bot.id)  # not a user event
    with pytest.raises(NotFound):
        review.mark(ANON, message.id)  # another conversation's message
    with pytest.raises(NotFound):
        review.mark(LI, 10_000)
    trigger = next(e for e in review.transcript(ZHANG).events if e.kind == "user" and not e.is_customer_message)
    with pytest.raises(NotAllowed) as refused:
        review.mark(ZHANG, trigger.id)
    assert refused.value.code == "not_a_customer_message"


def test_verdicts(review: ReviewService) -> None:
    review.scan()
    fallback, unsure, other = review.inbox.search(InboxQuery()).items
    confirmed = review.inbox.review(unsure.id, CONFIRMED, None, "supervisor")
    assert (confirmed.status, confirmed.intent, confirmed.reviewer) == (CONFIRMED, "urge_delivery", "supervisor")
    corrected = review.inbox.review(fallback.id, CORRECTED, " query_logistics ", "supervisor")
    assert (corrected.status, corrected.intent) == (CORRECTED, "query_logistics")
    same = review.inbox.review(other.id, CORRECTED, "out_of_scope", "supervisor")
    assert same.status == CONFIRMED  # "corrected" to what the NLU said
    other_way = review.inbox.review(other.id, CONFIRMED, "chitchat/ask_name", "supervisor")
    assert (other_way.status, other_way.intent) == (CORRECTED, "chitchat/ask_name")
    reopened = review.inbox.review(other.id, NEW, None, "supervisor")
    assert (reopened.status, reopened.intent, reopened.reviewer) == (NEW, None, None)
    assert review.inbox.review(other.id, DISCARDED, "ignored", "supervisor").intent is None
    for bad in ("Query", "a b", "nlu_fallback", "faq/", "a//b", "x" * 81, "", None, 3):
        with pytest.raises(InvalidInput):
            review.inbox.review(fallback.id, CORRECTED, bad, "supervisor")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        review.inbox.review(fallback.id, "done", None, "supervisor")
    with pytest.raises(NotFound):
        review.inbox.review(999, CONFIRMED, None, "supervisor")


def test_a_fallback_with_no_real_guess_cannot_be_confirmed(review: ReviewService) -> None:
    review.scan()
    item = review.inbox.search(InboxQuery(source=FALLBACK)).items[0]
    with review.inbox._engine.begin() as conn:  # as if the NLU had given no ranking
        from service.review.schema import review_inbox

        conn.execute(review_inbox.update().where(review_inbox.c.id == item.id).values(guess="nlu_fallback"))
    with pytest.raises(NotAllowed) as refused:
        review.inbox.review(item.id, CONFIRMED, None, "supervisor")
    assert refused.value.code == "nothing_to_confirm"


def test_intent_names() -> None:
    assert check_intent_name(" faq/shipping_fee ") == "faq/shipping_fee"
    assert check_intent_name("new_intent_2") == "new_intent_2"
    for bad in ("2abc", "a/b/c", "EXTERNAL_x", "查物流"):
        with pytest.raises(InvalidInput):
            check_intent_name(bad)


def test_filters_and_pages(review: ReviewService) -> None:
    review.scan()
    assert review.inbox.search(InboxQuery(source=LOW_CONFIDENCE)).total == 2
    assert review.inbox.search(InboxQuery(status=CONFIRMED)).total == 0
    page = review.inbox.search(InboxQuery(page=2, page_size=2))
    assert (len(page.items), page.total) == (1, 3)
    assert review.inbox.search(InboxQuery(exported=True)).total == 0
    with pytest.raises(InvalidInput):
        review.inbox.search(InboxQuery(page_size=101))
