"""Alembic environment: runs against the connection handed over by service.store.db.migrate."""

from __future__ import annotations

from alembic import context

from service.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through migrate()
    raise RuntimeError("run migrations through service.store.db.migrate")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
