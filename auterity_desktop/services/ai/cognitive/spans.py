"""The entity type every extractor returns and the regional conventions they share.

Kept apart from ``entities`` so the per-kind finders (dates, contacts, money, vehicles) can
use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from auterity_desktop.services.ai.cognitive.text import invalid

KINDS = ("email", "vin", "money", "date", "time", "phone", "stock_number", "plate")


@dataclass(frozen=True)
class Entity:
    """A span of the text: ``text == source[start:end]`` (character offsets) and its
    normalised ``value`` — ISO date ``YYYY-MM-DD`` (``YYYY-MM`` for a month), ``HH:MM``
    time, ``{"amount", "currency"}`` money, lower-case e-mail, E.164 phone, upper-case
    VIN, plate or stock number. ``flags`` name doubts a reader should see, e.g.
    ``check_digit_invalid`` on a VIN or ``currency_assumed`` on "15k"."""

    kind: str
    text: str
    start: int
    end: int
    value: Any
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "value": self.value,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class Region:
    """What a country writes differently: the order of numeric dates, the telephone
    country code and trunk prefix, the currency of a bare amount or a "$"."""

    code: str
    day_first: bool
    calling_code: str
    trunk_prefix: str  # dropped from national numbers in E.164 ("0" in most of Europe)
    national_digits: tuple[int, ...]  # lengths of a national number without the prefix
    currency: str
    dollar: str = "USD"  # what "$" means there


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("US", False, "1", "1", (10,), "USD"),
        Region("CA", False, "1", "1", (10,), "CAD", dollar="CAD"),
        Region("GB", True, "44", "0", (9, 10), "GBP"),
        Region("IE", True, "353", "0", (7, 8, 9), "EUR"),
        Region("DE", True, "49", "0", tuple(range(6, 12)), "EUR"),
        Region("AT", True, "43", "0", tuple(range(6, 13)), "EUR"),
        Region("CH", True, "41", "0", (9,), "CHF"),
        Region("FR", True, "33", "0", (9,), "EUR"),
        Region("BE", True, "32", "0", (8, 9), "EUR"),
        Region("NL", True, "31", "0", (9,), "EUR"),
        Region("LU", True, "352", "", tuple(range(6, 12)), "EUR"),
        Region("IT", True, "39", "", tuple(range(6, 12)), "EUR"),  # keeps its leading 0
        Region("ES", True, "34", "", (9,), "EUR"),
        Region("PT", True, "351", "", (9,), "EUR"),
        Region("DK", True, "45", "", (8,), "DKK"),
        Region("NO", True, "47", "", (8,), "NOK"),
        Region("SE", True, "46", "0", tuple(range(7, 10)), "SEK"),
        Region("FI", True, "358", "0", tuple(range(5, 11)), "EUR"),
        Region("PL", True, "48", "", (9,), "PLN"),
        Region("CZ", True, "420", "", (9,), "CZK"),
        Region("AU", True, "61", "0", (9,), "AUD", dollar="AUD"),
    )
}


def region(code: Any) -> Region:
    if not isinstance(code, str) or code.upper() not in REGIONS:
        raise invalid(
            f"locale must be one of {', '.join(REGIONS)}",
            field="locale",
            known=list(REGIONS),
        )
    return REGIONS[code.upper()]


@dataclass(frozen=True)
class PlatePattern:
    """One licence-plate format. ``pattern`` is a regular expression matched on the text
    as written (upper-case letters, so ordinary words never match); a pattern with
    ``needs_context`` only counts right after a word such as "plate", "tag",
    "registration" or "Kennzeichen" — and there it also matches lower case."""

    name: str
    pattern: str
    needs_context: bool = False


@dataclass(frozen=True)
class Context:
    """What every finder needs besides the text."""

    reference: date
    region: Region
