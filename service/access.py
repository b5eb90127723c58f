"""What a customer's proof allows, one check per resource (orders, refunds, tickets, the profile).

Every read and write of a customer's data on the bot's side goes through one of these, and the
service methods that act on a customer's behalf call them too, so an action cannot forget.
The checks are pure: they take the identity and the record, and raise AccessDenied with a code
the bot turns into a polite answer:

- `proof_needed`: nobody is proven; the bot asks for a proof and carries on afterwards;
- `order_proof_needed`: anonymous status/logistics of this order needs its phone's last 4 digits;
- `not_owner`: the proven customer is someone else (for tickets the bot says "not found").
"""

from __future__ import annotations

from enum import Enum

from service.errors import NotAllowed
from service.identity import Identity
from service.models import Order, Refund
from service.tickets.models import Ticket


class Need(str, Enum):
    STATUS = "status"  # the order's status and logistics: what an anonymous ORDER proof opens
    OWNER = "owner"  # everything else: changes, refunds, invoices, repairs, other orders, personal data


class AccessDenied(NotAllowed):
    """The identity does not allow this; `code` is proof_needed, order_proof_needed or not_owner."""


def check_order(identity: Identity, order: Order, need: Need = Need.OWNER) -> None:
    if identity.proven:
        if order.customer_id != identity.customer_id:
            raise AccessDenied("not_owner")
        return
    if need is Need.STATUS:
        if identity.opens_order(order.id):
            return
        raise AccessDenied("order_proof_needed")
    raise AccessDenied("proof_needed")


def check_refund(identity: Identity, refund: Refund, order: Order) -> None:
    """A refund is the order's owner's business only."""
    if refund.order_id != order.id:
        raise AccessDenied("not_owner")
    check_order(identity, order, Need.OWNER)


def check_ticket(identity: Identity, sender_id: str, ticket: Ticket) -> None:
    """A ticket is its customer's, or, when it names no customer, the conversation's that opened it."""
    if ticket.customer_id:
        if not identity.proven:
            raise AccessDenied("proof_needed")
        if ticket.customer_id != identity.customer_id:
            raise AccessDenied("not_owner")
        return
    if not sender_id or ticket.sender_id != sender_id:
        raise AccessDenied("not_owner")


def may_see_ticket(identity: Identity, sender_id: str, ticket: Ticket) -> bool:
    try:
        check_ticket(identity, sender_id, ticket)
    except AccessDenied:
        return False
    return True


def check_profile(identity: Identity) -> str:
    """The customer id whose profile may be shown."""
    if not identity.proven or not identity.customer_id:
        raise AccessDenied("proof_needed")
    return identity.customer_id
