"""Alembic environment: the URL comes from the caller or from service.settings."""

from __future__ import annotations

from alembic import context

from service.db import make_engine
from service.settings import get_settings
import handoff.schema  # noqa: F401  (registers the handoff tables on the shared metadata)
import service.identity_schema  # noqa: F401  (and the identity tables)
import service.channel_schema  # noqa: F401  (and the channel tables)
import service.review.schema  # noqa: F401  (and conversation review's)
import service.reports.schema  # noqa: F401  (and the reporting table the event consumer feeds)
from service.tickets.schema import metadata

url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
