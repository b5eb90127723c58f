"""Shop policy figures; the FAQ answers in data/nlu/faq.yml state the same numbers."""

from __future__ import annotations

NO_REASON_RETURN_DAYS = 7  # 7天无理由: from the day after signing
QUALITY_RETURN_DAYS = 15  # quality problems: return or exchange within 15 days of signing
PRICE_PROTECTION_DAYS = 15  # 价保: price drop within 15 days of ordering
REFUND_WORKDAYS = 3  # refunds reach the original account within 1–3 working days
RECENT_ORDER_DAYS = 90  # orders a customer is shown to pick from
RECENT_ORDER_LIMIT = 5
