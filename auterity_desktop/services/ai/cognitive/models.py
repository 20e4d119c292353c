"""The cognitive engine's table: intent sets trained by users.

A set is stored as its labelled examples, not as model weights: training takes
milliseconds, so the engine retrains on first use, and an improved featuriser in a later
release applies to every stored set without a migration. ``revision`` changes with every
training, so a console sharing a PostgreSQL database notices another console's retraining
by one indexed read.
"""

from __future__ import annotations

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from auterity_desktop.core.orm import Base


class IntentSetRow(Base):
    __tablename__ = "cognitive_intent_sets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    examples: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # {intent: [text, ...]}
    intents: Mapped[int] = mapped_column(Integer)
    example_count: Mapped[int] = mapped_column(Integer)
    revision: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Float)
