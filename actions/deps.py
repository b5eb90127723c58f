"""The service objects actions use, built once per process on first use."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from handoff.records import HandoffRecords
from service.aftersales import AfterSalesService
from service.backends import Backends, default_backends
from service.clock import Clock
from service.customers import CustomerService
from service.invoices import InvoiceService
from service.logistics import LogisticsService
from service.orders import OrderService
from service.products import ProductService
from service.proofs import IdentityService
from service.refunds import RefundService
from service.secrets import stored_secret
from service.settings import Settings, get_settings
from service.tickets import default_ticket_service
from service.tickets.service import TicketService


@dataclass(frozen=True)
class Services:
    clock: Clock
    backends: Backends
    orders: OrderService
    logistics: LogisticsService
    aftersales: AfterSalesService
    refunds: RefundService
    invoices: InvoiceService
    products: ProductService
    customers: CustomerService
    tickets: TicketService
    handoffs: HandoffRecords
    identity: IdentityService


def build_services(backends: Backends, clock: Clock, tickets: TicketService,
                   handoffs: HandoffRecords | None = None, settings: Settings | None = None,
                   identity: IdentityService | None = None) -> Services:
    settings = settings or get_settings()
    return Services(
        clock=clock,
        backends=backends,
        orders=OrderService(backends, clock),
        logistics=LogisticsService(backends, clock),
        aftersales=AfterSalesService(backends, clock),
        refunds=RefundService(backends, clock),
        invoices=InvoiceService(backends),
        products=ProductService(backends),
        customers=CustomerService(backends),
        tickets=tickets,
        handoffs=handoffs or HandoffRecords(tickets.engine, clock),
        identity=identity or IdentityService.build(backends, tickets.engine, clock,
                                                   stored_secret(settings, "DESK_SECRET"), settings),
    )


_lock = threading.Lock()
_default: Services | None = None


def default_services() -> Services:
    global _default
    with _lock:
        if _default is None:
            _default = build_services(default_backends(), Clock(get_settings().business_date), default_ticket_service())
        return _default
