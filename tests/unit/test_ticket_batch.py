"""TicketService.create_many(): a batch of creations in one transaction, by create()'s rules (SQLite always, and
PostgreSQL, where the batch takes its set-based path, in the `postgres` suite)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from service.errors import InvalidInput
from service.tickets.models import Created, TicketDraft, TicketFilter
from service.tickets.rules import Category, Kind, Status
from service.tickets.service import MAX_BATCH, TicketService
from tests.unit.test_tickets import START, clock, draft  # noqa: F401  (clock is a fixture)


def mixed_drafts(customer: str) -> list[TicketDraft]:
    """New tickets, a safety word, a VIP, a repeated complaint, a duplicate inside the batch, a conversation
    without a customer id and an improvement task."""
    return [
        draft(customer_id=customer),
        draft(description="充电的时候冒烟了", customer_id=customer, order_id="E2"),
        draft(Category.ADDRESS, "要改收货地址", customer_id=customer, order_id="E3", customer_vip=True),
        draft(Category.COMPLAINT, "发错货", customer_id=customer, order_id="E4"),
        draft(Category.COMPLAINT, "又发错了", customer_id=customer, order_id="E5"),
        draft(description="右耳也没声音了", customer_id=customer),  # same order and category as the first
        draft(Category.RETURN, "尺码不合适想换", customer_id=None, sender_id=f"web-{customer}", order_id=None),
        draft(Category.IMPROVEMENT, "评分 1 分", kind=Kind.IMPROVEMENT, customer_id=customer),
    ]


def outcome(tickets: TicketService, created: list[Created]) -> list[tuple]:
    """What a user sees of each creation, without the ids and numbers that differ between runs."""
    position = {item.ticket.number: n for n, item in enumerate(created) if not item.duplicate}
    return [(item.duplicate, position[item.ticket.number], item.ticket.kind, item.ticket.category,
             item.ticket.priority, item.ticket.department, item.ticket.first_response_due, item.ticket.resolution_due,
             [(e.kind, e.comment) for e in tickets.trail(item.ticket.number)]) for item in created]


def test_a_batch_makes_the_tickets_one_create_after_another_makes(tickets: TicketService) -> None:
    one_by_one = [tickets.create(d) for d in mixed_drafts("C100")]
    batch = tickets.create_many(mixed_drafts("C200"))
    assert outcome(tickets, batch) == outcome(tickets, one_by_one)
    assert [item.duplicate for item in batch] == [False] * 5 + [True] + [False] * 2
    assert [item.ticket.priority for item in batch[:5]] == ["一般", "特急", "紧急", "一般", "紧急"]
    assert batch[5].ticket.number == batch[0].ticket.number
    assert [e.kind for e in tickets.trail(batch[0].ticket.number)] == ["created", "duplicate"]
    assert batch[0].ticket.resolution_due == START + timedelta(hours=48)


def test_batch_numbers_are_unique_and_each_ticket_can_be_found(tickets: TicketService) -> None:
    drafts = [draft(customer_id=f"C{n:03d}", order_id=f"E{n}") for n in range(120)]
    created = tickets.create_many(drafts)
    numbers = [item.ticket.number for item in created]
    assert len(set(numbers)) == 120 and all(n.startswith("T20261121") for n in numbers)
    for item in (created[0], created[57], created[-1]):
        found = tickets.get(item.ticket.number)
        assert (found.id, found.customer_id, found.status) == (item.ticket.id, item.ticket.customer_id, Status.NEW)
    assert tickets.search(TicketFilter(), page_size=1).total == 120


def test_a_draft_for_an_open_ticket_comments_on_it(tickets: TicketService) -> None:
    first = tickets.create(draft()).ticket
    again, other = tickets.create_many([draft(description="右耳也没声音了"), draft(order_id="E9")])
    assert again.duplicate and again.ticket.number == first.number
    assert tickets.trail(first.number)[-1].comment == "右耳也没声音了"
    assert not other.duplicate and other.ticket.number != first.number


def test_improvement_task_in_a_batch_notifies_the_supervisor(tickets: TicketService) -> None:
    [created] = tickets.create_many([draft(Category.IMPROVEMENT, "工单 T1 的客户评分 1 分", kind=Kind.IMPROVEMENT)])
    [note] = tickets.notifications()
    assert note.ticket_number == created.ticket.number and note.kind == "low_rating"


def test_one_bad_draft_writes_nothing(tickets: TicketService) -> None:
    drafts = [draft(order_id="E1"), dataclasses.replace(draft(order_id="E2"), description=" ", summary="")]
    with pytest.raises(InvalidInput, match="draft 1"):
        tickets.create_many(drafts)
    with pytest.raises(InvalidInput, match=str(MAX_BATCH)):
        tickets.create_many([draft(order_id=f"E{n}") for n in range(MAX_BATCH + 1)])
    assert tickets.search(TicketFilter()).total == 0
    assert tickets.create_many([]) == []


def test_concurrent_batches_never_open_the_same_ticket_twice(tickets: TicketService) -> None:
    """Two writers send batches that share open keys: each key gets one ticket, the other draft comments on it."""
    results: list[list[Created]] = []
    gate = threading.Barrier(2, timeout=10)

    def write(offset: int) -> None:
        gate.wait()
        results.append(tickets.create_many([draft(customer_id=f"C{(n + offset) % 30:03d}") for n in range(30)]))

    threads = [threading.Thread(target=write, args=(offset,)) for offset in (0, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2
    assert tickets.search(TicketFilter(), page_size=1).total == 30
    assert sorted(item.duplicate for batch in results for item in batch) == [False] * 30 + [True] * 30
