"""Alembic environment: always runs on a connection handed over by ``core.db.Database``."""

from alembic import context

from auterity_desktop.core.orm import Base
from auterity_desktop.core.schema import import_all_models

import_all_models()

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable from the alembic CLI
    raise SystemExit("Run migrations with `auterity db upgrade`, not the alembic command.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
