"""The review routes (desk/review_api.py) in OpenAPI 3: what they accept and answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from desk.openapi_parts import DAY, OpenApiPart, answer, errors, ref
from desk.openapi_parts import query as query_parameter
from desk.params import MAX_ID
from service.review.inbox import MAX_PAGE as INBOX_MAX_PAGE
from service.review.inbox import MAX_PAGE_SIZE as INBOX_MAX_PAGE_SIZE
from service.review.intents import MAX_INTENT
from service.review.search import MAX_PAGE, MAX_PAGE_SIZE

Schema = dict[str, Any]
TEXT: Schema = {"type": "string"}
MAYBE_TEXT: Schema = {"type": "string", "nullable": True}
WHEN: Schema = {"type": "string", "format": "date-time"}
MAYBE_WHEN: Schema = {**WHEN, "nullable": True}
MAYBE_NUMBER: Schema = {"type": "number", "nullable": True}
CONVERSATION: Schema = {"type": "string", "description": "the conversation's pseudonym (12 hex digits), never its "
                        "sender id: that is the conversation's key"}


def _page(name: str, maximum: int, default: int, what: str) -> Schema:
    return query_parameter(name, what, {"type": "integer", "minimum": 1, "maximum": maximum, "default": default})


def _schemas(statuses: Sequence[str], sources: Sequence[str]) -> dict[str, Schema]:
    rating = {"type": "object", "properties": {
        "score": {"type": "integer", "minimum": 1, "maximum": 5}, "source": {"type": "string", "enum": ["handoff", "ticket"]},
        "reference": {"type": "string", "description": "the handoff session id or the ticket number"}, "at": MAYBE_WHEN}}
    entry = {"type": "object", "required": ["event_id", "kind"], "properties": {
        "event_id": {"type": "integer"}, "at": MAYBE_WHEN,
        "kind": {"type": "string", "enum": ["message", "action", "session"]},
        "author": {"type": "string", "enum": ["customer", "bot", "agent"]}, "text": TEXT,
        "intent": MAYBE_TEXT, "confidence": MAYBE_NUMBER,
        "entities": {"type": "array", "items": {"type": "object", "properties": {
            "entity": TEXT, "value": TEXT, "start": {"type": "integer", "nullable": True},
            "end": {"type": "integer", "nullable": True}, "extractor": TEXT}}},
        "ranking": {"type": "array", "items": {"type": "object", "properties": {"name": TEXT, "confidence": MAYBE_NUMBER}}},
        "channel": MAYBE_TEXT, "fallback": {"type": "boolean"}, "low_confidence": {"type": "boolean"},
        "in_inbox": {"type": "boolean"}, "response": MAYBE_TEXT, "agent_name": MAYBE_TEXT,
        "action": MAYBE_TEXT, "policy": MAYBE_TEXT}}
    item = {"type": "object", "required": ["id", "conversation", "text", "guess", "source", "status"], "properties": {
        "id": {"type": "integer"}, "event_id": {"type": "integer"}, "conversation": CONVERSATION,
        "text": {"type": "string", "description": "what the customer wrote, masked: phone and ID numbers, "
                 "addresses, e-mails and the customer's known names"},
        "guess": {"type": "string", "description": "the NLU's intent (for an nlu_fallback, its best real intent)"},
        "confidence": MAYBE_NUMBER, "source": {"type": "string", "enum": list(sources)},
        "status": {"type": "string", "enum": list(statuses)}, "intent": MAYBE_TEXT, "reviewer": MAYBE_TEXT,
        "said_at": WHEN, "collected_at": WHEN, "reviewed_at": MAYBE_WHEN, "batch": MAYBE_TEXT,
        "exported_at": MAYBE_WHEN,
        "new_intent": {"type": "boolean", "description": "the chosen intent is not in domain.yml yet"}}}
    return {
        "ReviewRating": rating,
        "ReviewConversation": {"type": "object", "required": ["conversation"], "properties": {
            "conversation": CONVERSATION, "customer_id": MAYBE_TEXT, "first_at": WHEN, "last_at": WHEN,
            "messages": {"type": "integer", "description": "the customer's"},
            "intents": {"type": "array", "items": TEXT}, "channels": {"type": "array", "items": TEXT},
            "fallbacks": {"type": "integer"}, "ratings": {"type": "array", "items": ref("ReviewRating")}}},
        "ReviewConversationPage": {"type": "object", "required": ["items", "total", "page", "page_size"], "properties": {
            "items": {"type": "array", "items": ref("ReviewConversation")}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "page_size": {"type": "integer"},
            "truncated": {"type": "boolean", "description": "a bound of the search cut it short: narrow it"}}},
        "ReviewEntry": entry,
        "ReviewTranscript": {"type": "object", "required": ["conversation", "entries"], "properties": {
            "conversation": CONVERSATION, "customer_id": MAYBE_TEXT, "first_at": MAYBE_WHEN, "last_at": MAYBE_WHEN,
            "channels": {"type": "array", "items": TEXT}, "messages": {"type": "integer"},
            "handoffs": {"type": "array", "items": {"type": "object", "properties": {
                "session_id": TEXT, "agent": MAYBE_TEXT, "status": TEXT, "group": TEXT, "queued_at": MAYBE_WHEN,
                "rating": {"type": "integer", "nullable": True}}}},
            "ratings": {"type": "array", "items": ref("ReviewRating")},
            "threshold": {"type": "number", "description": "under this confidence a message counts as unsure"},
            "truncated": {"type": "boolean"}, "entries": {"type": "array", "items": ref("ReviewEntry")}}},
        "ReviewInboxItem": item,
        "ReviewInboxPage": {"type": "object", "required": ["items", "total", "page", "page_size", "counts", "intents"],
                            "properties": {
            "items": {"type": "array", "items": ref("ReviewInboxItem")}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "page_size": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                       "description": "items per status in the whole inbox"},
            "intents": {"type": "array", "items": TEXT, "description": "the project's intents (domain.yml and the "
                        "retrieval topics of data/nlu), for the picker"},
            "threshold": {"type": "number", "description": "REVIEW_CONFIDENCE_THRESHOLD: under it a message is collected"}}},
        "ReviewMark": {"type": "object", "required": ["added", "item"], "properties": {
            "added": {"type": "boolean", "description": "false: the message was in the inbox already"},
            "item": ref("ReviewInboxItem")}},
        "ReviewScan": {"type": "object", "required": ["scanned", "added"], "properties": {
            "scanned": {"type": "integer", "description": "customer messages read"},
            "added": {"type": "integer"}, "last_event_id": {"type": "integer"},
            "more": {"type": "boolean", "description": "the scan stopped at its bound; scan again for the rest"}}},
    }


def review_part(query: Sequence[str], channels: Sequence[str], statuses: Sequence[str],
                sources: Sequence[str]) -> OpenApiPart:
    day = DAY
    filters = {
        "customer_id": query_parameter("customer_id", "conversations of this customer", {"type": "string",
                              "pattern": "^[A-Za-z0-9_-]{1,16}$"}),
        "since": query_parameter("since", "from this CST day on (included); 2000-01-01 to 2099-12-31", day),
        "until": query_parameter("until", "up to this CST day (included); at most 366 days after since", day),
        "intent": query_parameter("intent", "a customer message read as this intent (faq: any faq/<topic>; nlu_fallback)",
                         {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_/]{0,79}$"}),
        "rating": query_parameter("rating", "a handoff or ticket of the conversation rated this",
                         {"type": "integer", "minimum": 1, "maximum": 5}),
        "channel": query_parameter("channel", "a customer message on this channel", {"type": "string", "enum": list(channels)}),
        "page": _page("page", MAX_PAGE, 1, "page number, from 1"),
        "page_size": _page("page_size", MAX_PAGE_SIZE, 20, "conversations per page"),
    }
    conversation = {"name": "conversation", "in": "path", "required": True, "description": CONVERSATION["description"],
                    "schema": {"type": "string", "pattern": "^[0-9a-f]{12}$"}}
    item_id = {"name": "item_id", "in": "path", "required": True, "description": "an inbox item's id",
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
    verdict = {"type": "object", "required": ["status"], "additionalProperties": False, "properties": {
        "status": {"type": "string", "enum": list(statuses), "description": "confirmed: the guess was right; "
                   "corrected: it is `intent`; discarded: not training data; new: undo"},
        "intent": {"type": "string", "nullable": True, "maxLength": MAX_INTENT,
                   "description": "for corrected: a known intent or a new one, [a-z_][a-z0-9_]* or faq/<topic>"}}}
    mark = {"type": "object", "required": ["conversation", "event_id"], "additionalProperties": False, "properties": {
        "conversation": {"type": "string", "pattern": "^[0-9a-f]{12}$"},
        "event_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                     "description": "a customer message's event_id in the transcript"}}}
    paths: dict[str, Schema] = {
        "/api/review/conversations": {"get": {
            "summary": "Search past conversations, latest first", "operationId": "searchConversations",
            "tags": ["review"], "parameters": [filters[name] for name in query],
            "description": "主管: every conversation; 坐席: the conversations of handoffs they handled.",
            "responses": {"200": answer(ref("ReviewConversationPage"), "one page"), **errors(400, 401, 422)}}},
        "/api/review/conversations/{conversation}": {"get": {
            "summary": "A transcript: the NLU's reading of each customer message, the bot's actions, the agents' part",
            "operationId": "getTranscript", "tags": ["review"], "parameters": [conversation],
            "description": "Phone numbers, ID numbers, e-mails and addresses masked for 坐席 (and only a conversation of "
                           "a handoff they handled: 403 otherwise); whole for 主管, written to the 操作日志.",
            "responses": {"200": answer(ref("ReviewTranscript"), "the conversation"), **errors(401, 403, 404)}}},
        "/api/review/marks": {"post": {
            "summary": "Send a customer message to the training inbox", "operationId": "markMessage",
            "tags": ["review"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": mark}}},
            "responses": {"201": answer(ref("ReviewMark"), "added"),
                          "200": answer(ref("ReviewMark"), "it was in the inbox already"),
                          **errors(400, 401, 403, 404, 413, 422)}}},
        "/api/review/inbox": {"get": {
            "summary": "The training-data inbox, oldest message first (主管)", "operationId": "listInbox",
            "tags": ["review"], "parameters": [
                query_parameter("status", "only items in this status", {"type": "string", "enum": list(statuses)}),
                query_parameter("source", "only items from this source", {"type": "string", "enum": list(sources)}),
                query_parameter("exported", "true or 1: only exported items; false or 0: only those not exported",
                       {"type": "string", "enum": ["true", "1", "false", "0"]}),
                _page("page", INBOX_MAX_PAGE, 1, "page number, from 1"),
                _page("page_size", INBOX_MAX_PAGE_SIZE, 50, "items per page")],
            "responses": {"200": answer(ref("ReviewInboxPage"), "one page and the known intents"),
                          **errors(400, 401, 403, 422)}}},
        "/api/review/inbox/scan": {"post": {
            "summary": "Collect fallback and low-confidence messages now (主管)", "operationId": "scanInbox",
            "tags": ["review"], "description": "The desk also scans every minute; a scan goes on from the last one.",
            "requestBody": {"required": False, "description": "empty: any JSON or none; not read",
                            "content": {"application/json": {"schema": {}}}},
            "responses": {"200": answer(ref("ReviewScan"), "what the scan found"), **errors(401, 403)}}},
        "/api/review/inbox/{item_id}": {"post": {
            "summary": "Confirm, correct, discard or reopen an inbox item (主管)", "operationId": "reviewInboxItem",
            "tags": ["review"], "parameters": [item_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": verdict}}},
            "description": "422 already_exported for an item that went out in an export; 422 nothing_to_confirm when "
                           "the NLU had no intent to confirm (correct it instead).",
            "responses": {"200": answer(ref("ReviewInboxItem"), "the item"), **errors(400, 401, 403, 404, 413, 422)}}},
        "/api/review/inbox/export.yml": {"get": {
            "summary": "Export the reviewed items as Rasa NLU YAML for data/nlu/ (主管)", "operationId": "exportInbox",
            "tags": ["review"],
            "description": "Without batch: every confirmed or corrected item not exported yet becomes a new batch and is "
                           "marked exported (422 nothing_to_export when there is none); with batch: that export "
                           "again. Deduplicated, examples already in data/nlu left out, new intents flagged in a "
                           "comment. The batch is in the X-Review-Batch header.",
            "parameters": [query_parameter("batch", "an earlier batch, e.g. 20261121-100000",
                                  {"type": "string", "pattern": "^[0-9]{8}-[0-9]{6}(-[0-9a-f]{4})?$"})],
            "responses": {"200": {"description": "the training file (an attachment)",
                                  "content": {"application/yaml": {"schema": {"type": "string"}}}},
                          **errors(400, 401, 403, 404, 405, 422)}}},
    }
    return OpenApiPart(tag="review", paths=paths, schemas=_schemas(statuses, sources))
