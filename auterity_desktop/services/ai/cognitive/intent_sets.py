"""Intent sets: the built-in ones shipped in ``resources/ai`` and the ones users train,
stored in ``cognitive_intent_sets``, plus the cache of trained models.

A stored set may take the name of a built-in one ("dealership" retrained with the
dealer's own examples); it then replaces it until it is deleted, when the built-in set
applies again. Models are cached per (name, revision); every lookup reads the stored
revision, so a console retrains when another console sharing the database changed a set.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from auterity_desktop.core.db import Database
from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.cognitive.intent import (
    IntentModel,
    automotive_concepts,
    builtin_sets,
)
from auterity_desktop.services.ai.cognitive.models import IntentSetRow
from auterity_desktop.services.ai.cognitive.text import invalid, rule

SET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
BUILTIN = "builtin"


@dataclass(frozen=True)
class IntentSetInfo:
    """An intent set as lists show it. ``builtin``: shipped with the product and not
    replaced; ``replaces_builtin``: a stored set that has a built-in set's name.
    ``revision`` changes with every training (``"builtin"`` for shipped sets)."""

    name: str
    intents: list[str]
    examples: int
    builtin: bool
    replaces_builtin: bool = False
    description: str = ""
    revision: str = BUILTIN
    created_by: str | None = None
    created_at: float | None = None
    updated_by: str | None = None
    updated_at: float | None = None
    per_intent: dict[str, int] = field(default_factory=dict)


def check_set_name(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("The intent set name must be a string", field="name")
    if not SET_NAME.match(value):
        raise rule(
            "An intent set name is 1–64 lower-case letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
            field="name",
            name=value[:80],
        )
    return value


def _builtin_info(name: str) -> IntentSetInfo:
    spec = builtin_sets()[name]
    return IntentSetInfo(
        name=name,
        intents=list(spec.examples),
        examples=sum(len(v) for v in spec.examples.values()),
        builtin=True,
        description=spec.description,
        per_intent={k: len(v) for k, v in spec.examples.items()},
    )


def _row_info(row: IntentSetRow) -> IntentSetInfo:
    examples = dict(row.examples)
    builtin = builtin_sets().get(row.name)
    return IntentSetInfo(
        name=row.name,
        intents=list(examples),
        examples=row.example_count,
        builtin=False,
        replaces_builtin=builtin is not None,
        description=builtin.description if builtin is not None else "",
        revision=row.revision,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        per_intent={k: len(v) for k, v in examples.items()},
    )


class IntentSets:
    def __init__(self, database: Database, clock: Callable[[], float]) -> None:
        self.database = database
        self.clock = clock
        self._models: dict[str, tuple[str, IntentModel]] = {}

    async def _revision(self, name: str) -> str | None:
        async with self.database.session() as db:
            result = await db.execute(
                select(IntentSetRow.revision).where(IntentSetRow.name == name)
            )
            return result.scalar_one_or_none()

    async def examples(self, name: str) -> tuple[str, dict[str, list[str]], dict[str, str]]:
        """(revision, examples, intent descriptions) of the set called ``name``."""
        async with self.database.session() as db:
            row = await db.get(IntentSetRow, name)
            stored = (row.revision, dict(row.examples)) if row is not None else None
        builtin = builtin_sets().get(name)
        descriptions = builtin.descriptions if builtin is not None else {}
        if stored is not None:
            return stored[0], stored[1], descriptions
        if builtin is not None:
            return BUILTIN, builtin.examples, descriptions
        raise self._missing(name)

    @staticmethod
    def _missing(name: str) -> ServiceError:
        return ServiceError(
            ErrorCode.NOT_FOUND,
            f"There is no intent set {name!r}",
            {"intent_set": name, "builtin": sorted(builtin_sets())},
        )

    async def model(self, name: str) -> IntentModel:
        """The trained model of ``name``, retrained when the stored set changed."""
        revision = await self._revision(name)
        if revision is None:
            if name not in builtin_sets():
                raise self._missing(name)
            revision = BUILTIN
        cached = self._models.get(name)
        if cached is not None and cached[0] == revision:
            return cached[1]
        revision, examples, _ = await self.examples(name)
        model = await asyncio.to_thread(IntentModel.train, examples, automotive_concepts())
        self._models[name] = (revision, model)
        return model

    async def save(
        self, name: str, examples: dict[str, list[str]], actor: str
    ) -> tuple[IntentSetInfo, bool]:
        """Train and store (replacing a stored set of that name); (info, replaced)."""
        model = await asyncio.to_thread(IntentModel.train, examples, automotive_concepts())
        revision = uuid.uuid4().hex
        now = self.clock()
        total = sum(len(v) for v in examples.values())
        try:
            async with self.database.session() as db:
                row = await db.get(IntentSetRow, name)
                replaced = row is not None
                if row is None:
                    row = IntentSetRow(name=name, created_by=actor, created_at=now)
                    db.add(row)
                row.examples = examples
                row.intents = len(examples)
                row.example_count = total
                row.revision = revision
                row.updated_by = actor
                row.updated_at = now
                info = _row_info(row)
        except IntegrityError:  # another console created it between our read and write
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"The intent set {name!r} was created at the same time elsewhere; try again",
                {"intent_set": name},
            ) from None
        self._models[name] = (revision, model)
        return info, replaced

    async def delete(self, name: str) -> IntentSetInfo:
        async with self.database.session() as db:
            row = await db.get(IntentSetRow, name)
            if row is None:
                if name in builtin_sets():
                    raise rule(
                        f"{name!r} is a built-in intent set; it cannot be deleted",
                        intent_set=name,
                    )
                raise self._missing(name)
            info = _row_info(row)
            await db.execute(delete(IntentSetRow).where(IntentSetRow.name == name))
        self._models.pop(name, None)
        return info

    async def list(self) -> list[IntentSetInfo]:
        async with self.database.session() as db:
            rows = (await db.execute(select(IntentSetRow))).scalars().all()
            stored = {row.name: _row_info(row) for row in rows}
        for name in builtin_sets():
            stored.setdefault(name, _builtin_info(name))
        return [stored[name] for name in sorted(stored)]
