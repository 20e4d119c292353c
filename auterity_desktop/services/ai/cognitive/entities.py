"""Entity extraction: every finder's candidates, one entity per stretch of text.

Finders (``datetimes``, ``contacts``, ``money``, ``vehicles``) may propose overlapping
spans — "12.03.2026" is also a plausible German phone number, "STK-1234" also a US plate.
The more specific kind wins (the order of ``PRIORITY``); within a kind the longer span
("the day after tomorrow" over "tomorrow"). The result is sorted by position and no two
entities overlap.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from auterity_desktop.services.ai.cognitive.contacts import find_emails, find_phones
from auterity_desktop.services.ai.cognitive.datetimes import find_dates, find_times
from auterity_desktop.services.ai.cognitive.money import find_money
from auterity_desktop.services.ai.cognitive.spans import (
    KINDS,
    Context,
    Entity,
    PlatePattern,
    Region,
)
from auterity_desktop.services.ai.cognitive.text import clean
from auterity_desktop.services.ai.cognitive.vehicles import (
    DEFAULT_PLATE_PATTERNS,
    PlateMatcher,
    find_stock_numbers,
    find_vins,
)

# Most specific first: an e-mail address can contain anything, a VIN is 17 checked
# characters, money carries a currency, dates and times have fixed shapes; phones, stock
# numbers and plates are the loosest.
PRIORITY = ("email", "vin", "money", "date", "time", "stock_number", "phone", "plate")
assert set(PRIORITY) == set(KINDS)

Finder = Callable[[str, Context], Iterable[Entity]]
FINDERS: tuple[Finder, ...] = (
    find_emails,
    find_vins,
    find_money,
    find_dates,
    find_times,
    find_stock_numbers,
    find_phones,
)


class EntityExtractor:
    """Extracts entities with fixed plate patterns (compiled once)."""

    def __init__(self, plate_patterns: Sequence[PlatePattern] = DEFAULT_PLATE_PATTERNS) -> None:
        self.plates = tuple(plate_patterns)
        self._plates = PlateMatcher(self.plates)

    def extract(self, text: str, reference: date, region: Region) -> list[Entity]:
        # Offsets found on the cleaned text (same length) are offsets into ``text``.
        work = clean(text)
        ctx = Context(reference, region)
        candidates: list[Entity] = []
        for finder in FINDERS:
            candidates.extend(finder(work, ctx))
        candidates.extend(self._plates.find(work))
        return [
            Entity(e.kind, text[e.start : e.end], e.start, e.end, e.value, e.flags)
            for e in resolve(candidates)
        ]


def resolve(candidates: Iterable[Entity]) -> list[Entity]:
    """Non-overlapping entities: by kind priority, then longer span, then earlier."""
    rank = {kind: i for i, kind in enumerate(PRIORITY)}
    ordered = sorted(
        {(e.kind, e.start, e.end): e for e in reversed(list(candidates))}.values(),
        key=lambda e: (rank[e.kind], -(e.end - e.start), e.start),
    )
    # Chosen spans never overlap, so sorted by start their ends are sorted too: a new span
    # overlaps one only if the last chosen span starting before its end reaches past its
    # start. Bisection keeps this O(n log n) for texts with tens of thousands of entities.
    starts: list[int] = []
    ends: list[int] = []
    chosen: list[Entity] = []
    for entity in ordered:
        if entity.end <= entity.start:
            continue
        i = bisect.bisect_left(starts, entity.end)
        if i > 0 and ends[i - 1] > entity.start:
            continue
        starts.insert(i, entity.start)
        ends.insert(i, entity.end)
        chosen.append(entity)
    return sorted(chosen, key=lambda e: (e.start, e.end))
