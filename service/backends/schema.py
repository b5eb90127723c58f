"""Tables of the stub backends' demo database (stands in for the shop's OMS, CRM, ...).

Amounts are stored in fen (integer cents); times are naive China Standard Time.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(32), nullable=False),
    Column("phone", String(20), nullable=False, unique=True),
    Column("tier", String(8), nullable=False),
    Column("tags", String(200), nullable=False, default=""),
    Column("points", Integer, nullable=False, default=0),
    Column("city", String(16), nullable=False, default=""),
)

products = Table(
    "products",
    metadata,
    Column("sku", String(16), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("category", String(16), nullable=False),
    Column("price_fen", Integer, nullable=False),
    Column("warranty_months", Integer, nullable=False),
    Column("aliases", String(200), nullable=False, default=""),
    Column("specs_json", Text, nullable=False, default="{}"),
)

stock = Table(
    "stock",
    metadata,
    Column("sku", String(16), primary_key=True),
    Column("warehouse", String(16), primary_key=True),
    Column("quantity", Integer, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("customer_id", String(16), nullable=False, index=True),
    Column("status", String(8), nullable=False),
    Column("total_fen", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("warehouse", String(16), nullable=False),
    Column("carrier", String(16)),
    Column("waybill", String(32), index=True),
    Column("eta", DateTime),
    Column("shipped_at", DateTime),
    Column("signed_at", DateTime),
    Column("receiver", String(32), nullable=False),
    Column("receiver_phone", String(20), nullable=False),
    Column("province", String(16), nullable=False),
    Column("city", String(16), nullable=False),
    Column("district", String(16), nullable=False),
    Column("detail", String(120), nullable=False),
    Column("cancel_reason", String(200)),
    Column("urge_count", Integer, nullable=False, default=0),
)

order_items = Table(
    "order_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(20), nullable=False, index=True),
    Column("sku", String(16), nullable=False),
    Column("product_name", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_fen", Integer, nullable=False),
)

trace_nodes = Table(
    "trace_nodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(20), nullable=False, index=True),
    Column("time", DateTime, nullable=False),
    Column("description", String(200), nullable=False),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("order_id", String(20), nullable=False, index=True),
    Column("amount_fen", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expected_workdays", Integer, nullable=False),
    Column("reason", String(200), nullable=False, default=""),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("order_id", String(20), nullable=False, index=True),
    Column("title", String(100), nullable=False),
    Column("tax_id", String(20)),
    Column("email", String(120), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

cases = Table(
    "aftersales_cases",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("order_id", String(20), nullable=False, index=True),
    Column("reason", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("contact_phone", String(20)),
    Column("preferred_time", String(40)),
)

repair_history = Table(
    "repair_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(20), nullable=False, index=True),
    Column("reported_at", DateTime, nullable=False),
    Column("fault", String(200), nullable=False),
    Column("result", String(200), nullable=False),
)
