"""Invoice requests: title, tax number and e-mail rules."""

from __future__ import annotations

import re

from service.backends.base import Backends
from service.errors import InvalidInput, NotAllowed
from service.models import InvoiceRequest, Order, OrderStatus

PERSONAL_TITLE = "个人"
_TAX_ID = re.compile(r"^(?:[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|[0-9A-Z]{15}|[0-9A-Z]{20})$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_COMPANY_HINT = re.compile(r"公司|集团|中心|研究院|学校|大学|医院|事务所|工作室|商行|厂|店|协会|银行")
_TITLE_LEAD = re.compile(r"^(?:发票)?抬头(?:是|为|写|开|：|:)?|^(?:开|写)(?:成|给)?")


def normalise_title(text: str) -> str:
    """"抬头是杭州某某科技有限公司" → "杭州某某科技有限公司"; "个人的" → "个人"."""
    title = _TITLE_LEAD.sub("", re.sub(r"\s+", "", text)).strip("，,。.：:")
    if title.startswith("个人") or title in ("私人", "自己", "本人"):
        return PERSONAL_TITLE
    if len(title) < 2 or len(title) > 60:
        raise InvalidInput("invoice_title", "length")
    return title


def is_company(title: str) -> bool:
    return title != PERSONAL_TITLE and bool(_COMPANY_HINT.search(title))


def normalise_tax_id(text: str) -> str:
    candidate = re.sub(r"[\s-]", "", text).upper()
    match = re.search(r"[0-9A-Z]{15,20}", candidate)
    if not match or not _TAX_ID.match(match.group(0)):
        raise InvalidInput("tax_id", "format")
    return match.group(0)


def normalise_email(text: str) -> str:
    match = re.search(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", text or "")
    if not match or not _EMAIL.match(match.group(0)):
        raise InvalidInput("email", "format")
    return match.group(0).lower()


class InvoiceService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends

    async def request(self, order: Order, title: str, tax_id: str | None, email: str) -> InvoiceRequest:
        if order.status in (OrderStatus.CANCELLED, OrderStatus.UNPAID):
            raise NotAllowed("not_invoiceable")
        if is_company(title) and not tax_id:
            raise InvalidInput("tax_id", "required_for_company")
        return await self._b.invoices.request_invoice(order.id, title, tax_id, email)
