"""What the review routes answer: search results, inbox items, scan results, as JSON-ready dicts.

Staff see a conversation's pseudonym (`conversation`), never its sender id; the inbox's text was masked when it was
collected, so it is the same for every role.
"""

from __future__ import annotations

from typing import Any

from desk.views import iso
from service.review.collect import ScanResult
from service.review.facts import Rating
from service.review.inbox import InboxItem, InboxPage
from service.review.intents import TrainingData
from service.review.search import ConversationPage, ConversationSummary


def rating_view(rating: Rating) -> dict[str, Any]:
    return {"score": rating.score, "source": rating.source, "reference": rating.reference, "at": iso(rating.at)}


def summary_view(summary: ConversationSummary) -> dict[str, Any]:
    return {"conversation": summary.conversation, "customer_id": summary.customer_id,
            "first_at": iso(summary.first_at), "last_at": iso(summary.last_at), "messages": summary.messages,
            "intents": list(summary.intents), "channels": list(summary.channels), "fallbacks": summary.fallbacks,
            "ratings": [rating_view(r) for r in summary.ratings]}


def conversation_page_view(page: ConversationPage) -> dict[str, Any]:
    return {"items": [summary_view(s) for s in page.items], "total": page.total, "page": page.page,
            "page_size": page.page_size, "truncated": page.truncated}


def item_view(item: InboxItem, training: TrainingData | None = None) -> dict[str, Any]:
    body = {"id": item.id, "event_id": item.event_id, "conversation": item.conversation, "text": item.text,
            "guess": item.guess, "confidence": item.confidence, "source": item.source, "status": item.status,
            "intent": item.intent, "reviewer": item.reviewer, "said_at": iso(item.said_at),
            "collected_at": iso(item.collected_at), "reviewed_at": iso(item.reviewed_at), "batch": item.batch,
            "exported_at": iso(item.exported_at)}
    if training is not None:
        body["new_intent"] = bool(item.intent) and not training.is_known(item.intent or "")
    return body


def inbox_page_view(page: InboxPage, training: TrainingData, threshold: float) -> dict[str, Any]:
    return {"items": [item_view(i, training) for i in page.items], "total": page.total, "page": page.page,
            "page_size": page.page_size, "counts": page.counts, "intents": list(training.intents),
            "threshold": threshold}


def scan_view(result: ScanResult) -> dict[str, Any]:
    return {"scanned": result.scanned, "added": result.added, "last_event_id": result.last_event_id,
            "more": result.more}
