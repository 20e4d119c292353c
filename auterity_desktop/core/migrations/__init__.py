"""Alembic migrations, applied on start and by ``auterity db upgrade``."""
