"""The review routes over real HTTP: roles, masking and the 操作日志, the inbox loop, bad input, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.privacy import conversation_ref
from tests.desk_harness import Desk, MovableClock
from tests.review_conversations import ID_NUMBER, LI, NAME, PHONE, ZHANG, record_ownership, write_conversations
from tests.unit.desk_fixtures import assert_refused, desk_settings, serve_desk, tracker_log
from tests.unit.test_tracker_store import KEY

ROUTES = [("GET", "/api/review/conversations", None), ("GET", f"/api/review/conversations/{conversation_ref(ZHANG)}", None),
          ("POST", "/api/review/marks", {"conversation": conversation_ref(ZHANG), "event_id": 1}),
          ("GET", "/api/review/inbox", None), ("POST", "/api/review/inbox/scan", None),
          ("POST", "/api/review/inbox/1", {"status": "discarded"}), ("GET", "/api/review/inbox/export.yml", None)]
SUPERVISOR_ONLY = [route for route in ROUTES if "/inbox" in route[1]]


pytestmark = pytest.mark.usefixtures("restore_log_record_factory")


@pytest.fixture
async def desk(tmp_path: Path, desk_clock: MovableClock) -> AsyncIterator[Desk]:
    """A desk reading a tracker store of three conversations (injected), with no background scan."""
    async with review_desk(tmp_path, desk_clock, 0) as running:
        yield running


@asynccontextmanager
async def review_desk(tmp_path: Path, desk_clock: MovableClock, scan_every_s: float) -> AsyncIterator[Desk]:
    await write_conversations(tmp_path, KEY)

    def prepare(ctx: Any) -> None:
        ctx.conversation_log = tracker_log(tmp_path)
        ctx.review_scan_every_s = scan_every_s

    async with serve_desk(desk_settings(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}"), desk_clock, prepare) as desk:
        record_ownership(desk.tickets._engine)
        yield desk


async def test_no_token_a_bot_token_and_agents_on_the_inbox_are_refused(desk: Desk) -> None:
    await assert_refused(desk, ROUTES, SUPERVISOR_ONLY)


async def test_supervisors_search_everything_agents_their_handoffs(desk: Desk) -> None:
    supervisor, agent1, agent2 = [await desk.login(u) for u in ("supervisor", "agent1", "agent2")]
    status, page = await desk.call("GET", "/api/review/conversations", supervisor)
    assert status == 200 and page["total"] == 3
    assert ZHANG not in str(page) and LI not in str(page)  # pseudonyms only
    first = page["items"][1]
    assert (first["conversation"], first["customer_id"], first["fallbacks"]) == (conversation_ref(ZHANG), "C001", 1)
    assert first["ratings"][0]["score"] == 2 and first["first_at"].endswith("+08:00")
    status, page = await desk.call("GET", "/api/review/conversations?since=2026-11-20&until=2026-11-20&channel=rest",
                                   supervisor)
    assert [i["conversation"] for i in page["items"]] == [conversation_ref(LI)]
    _, mine = await desk.call("GET", "/api/review/conversations", agent1)
    assert [i["conversation"] for i in mine["items"]] == [conversation_ref(ZHANG)]
    _, none = await desk.call("GET", "/api/review/conversations", agent2)
    assert none["items"] == []


async def test_transcripts_masked_for_agents_whole_for_supervisors_with_the_audit(desk: Desk) -> None:
    supervisor, agent1, agent2 = [await desk.login(u) for u in ("supervisor", "agent1", "agent2")]
    path = f"/api/review/conversations/{conversation_ref(ZHANG)}"
    status, masked = await desk.call("GET", path, agent1)
    assert status == 200 and PHONE not in str(masked) and ID_NUMBER not in str(masked)
    assert masked["entries"][0]["intent"] == "nlu_fallback"
    status, refused = await desk.call("GET", path, agent2)
    assert (status, refused["error"]) == (403, "not_your_conversation")
    token = supervisor
    status, whole = await desk.call("GET", path, token)
    assert status == 200 and PHONE in whole["entries"][0]["text"]
    _, audit = await desk.call("GET", "/api/audit", token)
    [row] = audit["items"]
    assert (row["viewer"], row["customer_id"], row["reference"]) == ("supervisor", "C001", conversation_ref(ZHANG))
    assert set(row["shown"]) == {"phone", "id_number"}
    assert row["source"] == "GET /api/review/conversations/<conversation>"
    assert (await desk.call("GET", "/api/review/conversations/" + "0" * 12, token))[0] == 404
    assert (await desk.call("GET", "/api/review/conversations/" + ZHANG, token))[0] == 404  # never by the sender id


async def test_the_inbox_loop_scan_mark_review_export(desk: Desk) -> None:
    token, agent1 = await desk.login("supervisor"), await desk.login("agent1")
    status, scan = await desk.call("POST", "/api/review/inbox/scan", token)
    assert status == 200 and (scan["added"], scan["more"]) == (3, False)
    status, inbox = await desk.call("GET", "/api/review/inbox?status=new", token)
    assert status == 200 and inbox["total"] == 3 and inbox["counts"]["new"] == 3
    assert "query_logistics" in inbox["intents"] and "nlu_fallback" not in inbox["intents"]
    fallback = inbox["items"][0]
    assert fallback["source"] == "fallback" and fallback["guess"] == "urge_delivery"
    assert PHONE not in str(inbox) and ID_NUMBER not in str(inbox) and NAME not in str(inbox)

    # an agent marks a clear message of a conversation they handled
    _, transcript = await desk.call("GET", f"/api/review/conversations/{conversation_ref(ZHANG)}", agent1)
    clear = next(e for e in transcript["entries"] if e.get("intent") == "query_logistics")
    assert not clear["in_inbox"]
    mark = {"conversation": conversation_ref(ZHANG), "event_id": clear["event_id"]}
    status, marked = await desk.call("POST", "/api/review/marks", agent1, mark)
    assert status == 201 and marked["added"] and marked["item"]["source"] == "marked"
    assert (await desk.call("POST", "/api/review/marks", agent1, mark))[0] == 200
    status, refused = await desk.call("POST", "/api/review/marks", await desk.login("agent2"), mark)
    assert (status, refused["error"]) == (403, "not_your_conversation")

    status, item = await desk.call("POST", f"/api/review/inbox/{fallback['id']}", token,
                                   {"status": "corrected", "intent": "query_logistics"})
    assert status == 200 and (item["status"], item["intent"], item["reviewer"]) == ("corrected", "query_logistics",
                                                                                   "supervisor")
    status, item = await desk.call("POST", f"/api/review/inbox/{marked['item']['id']}", token, {"status": "confirmed"})
    assert status == 200 and item["intent"] == "query_logistics"
    status, new = await desk.call("POST", f"/api/review/inbox/{inbox['items'][2]['id']}", token,
                                  {"status": "corrected", "intent": "ask_company_info"})
    assert status == 200 and new["new_intent"]

    async with desk.session.get(desk.url + "/api/review/inbox/export.yml",
                                headers={"Authorization": f"Bearer {token}"}) as answer:
        assert answer.status == 200 and answer.content_type == "application/yaml"
        assert answer.headers["Content-Disposition"].startswith('attachment; filename="review_')
        batch, text = answer.headers["X-Review-Batch"], await answer.text()
    content = yaml.safe_load(text)
    assert {b["intent"] for b in content["nlu"]} == {"query_logistics", "ask_company_info"}
    assert "新意图 ask_company_info" in text and PHONE not in text and NAME not in text
    status, again = await desk.call("GET", "/api/review/inbox/export.yml", token)
    assert (status, again["error"]) == (422, "nothing_to_export")
    status, same = await desk.call("GET", f"/api/review/inbox/export.yml?batch={batch}", token)
    assert status == 200 and same == text
    status, late = await desk.call("POST", f"/api/review/inbox/{fallback['id']}", token, {"status": "discarded"})
    assert (status, late["error"]) == (422, "already_exported")
    _, exported = await desk.call("GET", "/api/review/inbox?exported=true", token)
    assert exported["total"] == 3


BAD_INPUT = [
    ("GET", "/api/review/conversations?page=0", None, 422, "invalid_parameter"),
    ("GET", "/api/review/conversations?page_size=51", None, 422, "invalid_parameter"),
    ("GET", "/api/review/conversations?since=2026-13-01", None, 400, "bad_parameter"),
    ("GET", "/api/review/conversations?since=21.11.2026", None, 400, "bad_parameter"),
    ("GET", "/api/review/conversations?since=0001-01-01", None, 422, "invalid_input"),
    ("GET", "/api/review/conversations?until=9999-12-31", None, 422, "invalid_input"),
    ("GET", "/api/review/conversations?rating=6", None, 422, "invalid_parameter"),
    ("GET", "/api/review/conversations?rating=x", None, 400, "bad_parameter"),
    ("GET", "/api/review/conversations?channel=fax", None, 422, "invalid_parameter"),
    ("GET", "/api/review/conversations?intent=查物流", None, 422, "invalid_parameter"),
    ("GET", "/api/review/conversations?customer_id=" + "C" * 17, None, 422, "invalid_parameter"),
    ("GET", "/api/review/conversations?who=me", None, 400, "bad_parameter"),
    ("GET", "/api/review/conversations?page=1&page=2", None, 400, "bad_parameter"),
    ("GET", "/api/review/inbox?status=done", None, 422, "invalid_parameter"),
    ("GET", "/api/review/inbox?source=x", None, 422, "invalid_parameter"),
    ("GET", "/api/review/inbox?exported=maybe", None, 400, "bad_parameter"),
    ("GET", "/api/review/inbox?page_size=101", None, 422, "invalid_parameter"),
    ("GET", "/api/review/inbox/export.yml?batch=../x", None, 422, "invalid_parameter"),
    ("GET", "/api/review/inbox/export.yml?batch=20200101-000000", None, 404, "not_found"),
    ("POST", "/api/review/marks", [], 400, "bad_body"),
    ("POST", "/api/review/marks", {"conversation": "abc"}, 400, "bad_body"),
    ("POST", "/api/review/marks", {"conversation": "0" * 12, "event_id": 1, "x": 1}, 400, "bad_body"),
    ("POST", "/api/review/marks", {"conversation": "0" * 12, "event_id": "1"}, 422, "invalid_input"),
    ("POST", "/api/review/marks", {"conversation": "0" * 12, "event_id": True}, 422, "invalid_input"),
    ("POST", "/api/review/marks", {"conversation": "0" * 12, "event_id": 2 ** 40}, 422, "invalid_input"),
    ("POST", "/api/review/marks", {"conversation": 5, "event_id": 1}, 422, "invalid_input"),
    ("POST", "/api/review/marks", {"conversation": "0" * 12, "event_id": 1}, 404, "not_found"),
    ("POST", "/api/review/inbox/1", {"status": "confirmed"}, 404, "not_found"),
    ("POST", "/api/review/inbox/99999999999", {"status": "confirmed"}, 404, "not_found"),
    ("POST", "/api/review/inbox/abc", {"status": "confirmed"}, 404, "not_found"),
    ("POST", "/api/review/inbox/1", {"status": "done"}, 422, "invalid_input"),
    ("POST", "/api/review/inbox/1", {"intent": "x"}, 400, "bad_body"),
    ("POST", "/api/review/inbox/1", {"status": "corrected", "intent": 3}, 422, "invalid_input"),
]


async def test_bad_input_is_named(desk: Desk) -> None:
    token = await desk.login("supervisor")
    for method, path, body, status, code in BAD_INPUT:
        got, answer = await desk.call(method, path, token, body)
        assert (got, answer["error"]) == (status, code), (path, body, answer)
        assert answer["reason"]


async def test_a_bad_intent_is_a_422(desk: Desk) -> None:
    token = await desk.login("supervisor")
    await desk.call("POST", "/api/review/inbox/scan", token)
    _, inbox = await desk.call("GET", "/api/review/inbox", token)
    status, answer = await desk.call("POST", f"/api/review/inbox/{inbox['items'][0]['id']}", token,
                                     {"status": "corrected", "intent": "Bad Name"})
    assert (status, answer["error"], answer["field"]) == (422, "invalid_input", "intent")


async def test_the_routes_are_described(desk: Desk) -> None:
    _, spec = await desk.call("GET", "/openapi.json")
    for method, path, _ in ROUTES:
        described = path.replace(conversation_ref(ZHANG), "{conversation}").replace("/inbox/1", "/inbox/{item_id}")
        assert method.lower() in spec["paths"][described], path
    listed = spec["paths"]["/api/review/conversations"]["get"]["parameters"]
    assert [p["name"] for p in listed] == ["customer_id", "since", "until", "intent", "rating", "channel", "page",
                                           "page_size"]
    assert all(p["allowEmptyValue"] for p in listed)
    assert "ReviewTranscript" in spec["components"]["schemas"]


async def test_the_desk_collects_in_the_background(tmp_path: Path, desk_clock: MovableClock) -> None:
    async with review_desk(tmp_path, desk_clock, 0.05) as desk:
        token = await desk.login("supervisor")
        for _ in range(100):
            _, inbox = await desk.call("GET", "/api/review/inbox", token)
            if inbox["total"] == 3:
                break
            await asyncio.sleep(0.05)
        assert inbox["total"] == 3
        assert desk.app.ctx.review_job is not None and not desk.app.ctx.review_job.done()
