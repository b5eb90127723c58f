"""Searching past conversations and reading one as the NLU read it: filters, an agent's scope, masking, ratings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.clock import fixed_clock
from service.db import make_engine
from service.errors import InvalidInput, NotAllowed, NotFound
from service.migrate import upgrade
from service.privacy import conversation_ref
from service.review.search import ConversationQuery
from service.review.service import ReviewService, Viewer
from service.review.transcript import transcript_view
from tests.review_conversations import ANON, DAY, ID_NUMBER, LI, PHONE, ZHANG
from tests.unit.desk_fixtures import review_service

SUPERVISOR, AGENT1, AGENT2 = Viewer("supervisor", True), Viewer("agent1", False), Viewer("agent2", False)
pytestmark = pytest.mark.usefixtures("restore_log_record_factory")


@pytest.fixture
async def review(tmp_path: Path) -> ReviewService:
    return await review_service(tmp_path)


def found(review: ReviewService, viewer: Viewer = SUPERVISOR, **query: object) -> list[str]:
    page = review.search(ConversationQuery(**query), viewer)  # type: ignore[arg-type]
    return [item.sender_id for item in page.items]


def test_search_by_each_filter(review: ReviewService) -> None:
    assert found(review) == [ANON, ZHANG, LI]  # the latest message first
    assert found(review, customer_id="C001") == [ZHANG]
    assert found(review, customer_id="C404") == []
    assert found(review, since=date(2026, 11, 21)) == [ANON, ZHANG]
    assert found(review, until=date(2026, 11, 20)) == [LI]
    assert found(review, since=date(2026, 11, 22)) == []
    assert found(review, intent="nlu_fallback") == [ZHANG]
    assert found(review, intent="query_order_status") == [LI]
    assert found(review, rating=2) == [ZHANG]
    assert found(review, rating=5) == []
    assert found(review, channel="wechat") == [ANON]
    assert found(review, channel="rest", since=date(2026, 11, 21)) == []


def test_a_summary_says_whose_what_and_how_rated(review: ReviewService) -> None:
    page = review.search(ConversationQuery(customer_id="C001"), SUPERVISOR)
    [summary] = page.items
    assert (summary.customer_id, summary.messages, summary.fallbacks, summary.channels) == ("C001", 3, 1, ("socketio",))
    assert set(summary.intents) == {"nlu_fallback", "query_logistics", "urge_delivery"}
    assert [(r.score, r.source) for r in summary.ratings] == [(2, "handoff")]
    assert summary.conversation == conversation_ref(ZHANG)
    assert (page.total, page.truncated) == (1, False)


def test_pages_and_bounds(review: ReviewService) -> None:
    page = review.search(ConversationQuery(page=2, page_size=2), SUPERVISOR)
    assert ([i.sender_id for i in page.items], page.total) == ([LI], 3)
    for bad in (ConversationQuery(page_size=51), ConversationQuery(page=0), ConversationQuery(rating=6),
                ConversationQuery(since=date(2025, 1, 1), until=date(2026, 11, 21))):
        with pytest.raises(InvalidInput):
            review.search(bad, SUPERVISOR)


def test_since_after_until_finds_nothing(review: ReviewService) -> None:
    page = review.search(ConversationQuery(since=date(2026, 11, 22), until=date(2026, 11, 21)), SUPERVISOR)
    assert (page.items, page.total) == ([], 0)


def test_an_agent_finds_and_reads_only_conversations_of_their_handoffs(review: ReviewService) -> None:
    assert found(review, AGENT1) == [ZHANG]
    assert found(review, AGENT1, channel="wechat") == []
    assert found(review, AGENT2) == []
    review.check_reader(ZHANG, AGENT1)
    review.check_reader(LI, SUPERVISOR)
    with pytest.raises(NotAllowed) as refused:
        review.check_reader(ZHANG, AGENT2)
    assert refused.value.code == "not_your_conversation"


def test_a_pseudonym_finds_its_conversation(review: ReviewService) -> None:
    assert review.resolve(conversation_ref(LI)) == LI
    with pytest.raises(NotFound):
        review.resolve("0" * 12)


def test_a_transcript_reads_as_the_nlu_read_it(review: ReviewService) -> None:
    review.scan()
    view = transcript_view(review.transcript(ZHANG), masked=False)
    assert view["conversation"] == conversation_ref(ZHANG) and ZHANG not in str(view)
    assert view["customer_id"] == "C001" and view["messages"] == 3
    assert [h["agent"] for h in view["handoffs"]] == ["agent1"] and view["ratings"][0]["score"] == 2
    kinds = [(e["kind"], e.get("author") or e.get("action")) for e in view["entries"]]
    assert kinds == [("message", "customer"), ("action", "action_default_fallback"), ("message", "bot"),
                     ("message", "customer"), ("action", "action_check_logistics"), ("message", "bot"),
                     ("message", "customer"), ("message", "agent")]
    fallback, _, bot, logistics, action, _, unsure, agent = view["entries"]
    assert fallback["fallback"] and fallback["in_inbox"] and fallback["ranking"][1]["name"] == "urge_delivery"
    assert (logistics["intent"], logistics["confidence"], logistics["low_confidence"]) == ("query_logistics", 0.95, False)
    assert logistics["entities"] == [{"entity": "order_id", "value": "E202611010001", "start": 3, "end": 16,
                                      "extractor": "RegexEntityExtractor"}]
    assert not logistics["in_inbox"] and unsure["low_confidence"] and unsure["in_inbox"]
    assert (action["policy"], bot["response"]) == ("RulePolicy", "utter_default")
    assert (agent["text"], agent["agent_name"]) == ("您好，我是小王，马上帮您催一下", "小王")
    assert PHONE in fallback["text"] and ID_NUMBER in fallback["text"]  # whole, for a 主管


def test_an_agents_transcript_is_masked(review: ReviewService) -> None:
    view = transcript_view(review.transcript(ZHANG), masked=True)
    assert PHONE not in str(view) and ID_NUMBER not in str(view)
    assert "138****8000" in view["entries"][0]["text"]


def test_an_unknown_conversation_has_no_transcript(review: ReviewService) -> None:
    with pytest.raises(NotFound):
        review.transcript("nobody")


def test_the_customer_comes_from_the_tracker_when_the_database_does_not_know(tmp_path: Path,
                                                                            review: ReviewService) -> None:
    other = ReviewService(review.log, make_engine(f"sqlite:///{tmp_path / 'empty.db'}"), fixed_clock(DAY))
    upgrade(other.inbox._engine)
    assert other.transcript(ZHANG).customer_id == "C001"  # the customer_id slot
    listed = {s.sender_id: s.customer_id for s in other.search(ConversationQuery(), SUPERVISOR).items}
    assert listed == {ZHANG: "C001", LI: None, ANON: None}
