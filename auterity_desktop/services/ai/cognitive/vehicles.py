"""Vehicle identifiers: VINs, licence plates and dealer stock numbers.

VIN (ISO 3779): 17 characters without I, O and Q, ending in at least four digits. The
ninth character is the check digit of North American VINs (49 CFR 565): every character is
transliterated (A=1 … H=8, J=1 … R=9, S=2 … Z=9, digits as themselves), weighted
8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2, summed, and the sum modulo 11 is the check digit
(10 is written X). A VIN whose check digit does not match is still reported — usually it
is a typo a person should fix — but flagged ``check_digit_invalid``; a VIN from outside
North America with a letter in position nine (VW's "WVWZZZ…") uses no check digit and is
flagged ``check_digit_not_used``.

Licence plates: patterns per format (``PlatePattern``), matched case-sensitively on upper
case so ordinary words never match; letter groups that are common abbreviations, makes or
trims ("GMC 2500", "RAM 1500", "XLE") are not plates. Right after "plate", "tag",
"registration", "Kennzeichen", ... every pattern — and the looser context-only ones — also
matches lower case.

Stock numbers: "stock #A1234", "stock number 4521", "Stock No. 4521B", "STK-12345",
"stk 9981" — an explicit marker is needed, so "in stock 2024 models" is no stock number.
The value is the identifier without the marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from auterity_desktop.services.ai.cognitive.spans import Context, Entity, PlatePattern
from auterity_desktop.services.ai.cognitive.text import invalid

_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Za-hj-npr-z0-9]{13}\d{4}(?![A-Za-z0-9])")


def vin_check_digit(vin: str) -> str:
    """The check digit a VIN should carry in position nine (ISO 3779 / 49 CFR 565)."""
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin.upper(), _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_flags(vin: str) -> tuple[str, ...]:
    vin = vin.upper()
    if vin[8] == vin_check_digit(vin):
        return ()
    north_america = vin[0] in "12345"
    if not north_america and vin[8] not in "0123456789X":
        return ("check_digit_not_used",)
    return ("check_digit_invalid",)


def find_vins(text: str, ctx: Context) -> Iterator[Entity]:
    for m in VIN.finditer(text):
        vin = m.group()
        if not any(c.isalpha() for c in vin):
            continue
        yield Entity("vin", vin, m.start(), m.end(), vin.upper(), vin_flags(vin))


STOCK = re.compile(
    r"\b(?:stock\s*(?:(?:number|num|no|nr)\b\.?\s*[#:]?|[#:]|-)|stk\s*[#:.\-]?)\s*"
    r"(?P<id>[A-Z0-9](?:[A-Z0-9\-]{1,12})[A-Z0-9])\b",
    re.IGNORECASE,
)


def find_stock_numbers(text: str, ctx: Context) -> Iterator[Entity]:
    for m in STOCK.finditer(text):
        ident = m["id"]
        if not any(c.isdigit() for c in ident):
            continue
        yield Entity("stock_number", m.group(), m.start(), m.end(), ident.upper())


DEFAULT_PLATE_PATTERNS: tuple[PlatePattern, ...] = (
    PlatePattern("us_california", r"[1-9][A-Z]{3}\d{3}"),
    PlatePattern("us_3_letters_4_digits", r"[A-Z]{3}[- ]?\d{4}"),
    PlatePattern("us_3_letters_3_digits", r"[A-Z]{3}[- ]?\d{3}", needs_context=True),
    PlatePattern("us_3_digits_3_letters", r"\d{3}[- ]?[A-Z]{3}", needs_context=True),
    PlatePattern("uk", r"[A-Z]{2}\d{2} ?[A-Z]{3}"),
    PlatePattern("de", r"[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} ?\d{1,4}[EH]?"),
    PlatePattern("fr_it", r"[A-Z]{2}[- ]?\d{3}[- ]?[A-Z]{2}"),
    PlatePattern("nl_hyphenated", r"[A-Z0-9]{1,3}-[A-Z0-9]{2,3}-[A-Z0-9]{1,3}"),
    PlatePattern("es", r"\d{4} ?[BCDFGHJKLMNPRSTVWXYZ]{3}", needs_context=True),
    PlatePattern("generic", r"[A-Z0-9]{2,4}[- ]?[A-Z0-9]{2,4}", needs_context=True),
)

# Upper-case words that look like a plate's letters in ordinary dealership text.
STOP_LETTERS = frozenset([
    "GMC", "BMW", "RAM", "KIA", "VW", "SUV", "MPG", "AWD", "FWD", "RWD", "CVT", "TRD", "LTD",
    "LTZ", "XLE", "XSE", "XLT", "SLT", "SXT", "GTS", "AMG", "GTI", "LX", "EX", "SE", "LE",
    "XL", "SR", "VIN", "USD", "EUR", "GBP", "CHF", "CAD", "AUD", "APR", "PST", "EST", "CST",
    "MST", "GMT", "UTC", "DMS", "CRM", "SMS", "RPM", "KPH", "MPH", "LED", "HID", "ABS", "DVD",
    "PDF", "FYI", "ASAP", "TPMS", "OEM", "MSRP", "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN",
    "STK", "REF", "INV", "NO", "NR", "PO", "ID", "ORD", "AM", "PM", "EV", "HP", "MY", "CC",
    "TV", "AC", "DC", "QTY", "PCS", "TEL", "FAX", "ZIP",
])  # fmt: skip
PLATE_CONTEXT = re.compile(
    r"\b(?:licen[cs]e\s+plates?|number\s+plates?|plates?|tags?|reg(?:istration)?|rego|"
    r"kennzeichen|immatriculation|plaque|targa|matr[íi]cula|kenteken)"
    r"(?:\s+(?:number|num|no\.?|nr\.?|#))?(?:\s*(?:is|was|:|#|=|-))?\s*",
    re.IGNORECASE,
)


def _plate_ok(candidate: str, *, strict: bool) -> bool:
    alnum = re.sub(r"[^0-9A-Za-zÄÖÜäöü]", "", candidate)
    if not 4 <= len(alnum) <= 8:
        return False
    if not any(c.isdigit() for c in alnum) or not any(c.isalpha() for c in alnum):
        return False
    if strict:
        for group in re.findall(r"[A-Za-zÄÖÜäöü]+", candidate):
            if group.upper() in STOP_LETTERS:
                return False
    return True


class PlateMatcher:
    """Compiled plate patterns: case-sensitive ones for free text, case-insensitive ones
    for the place right after a context word."""

    def __init__(self, patterns: Sequence[PlatePattern]) -> None:
        self.free = [
            re.compile(rf"(?<![\w-])(?:{p.pattern})(?![\w-])") for p in patterns
            if not p.needs_context
        ]  # fmt: skip
        self.anchored = [re.compile(rf"(?:{p.pattern})(?![\w-])", re.IGNORECASE) for p in patterns]

    def find(self, text: str) -> Iterator[Entity]:
        for pattern in self.free:
            for m in pattern.finditer(text):
                if _plate_ok(m.group(), strict=True):
                    yield _plate(m.group(), m.start())
        for context in PLATE_CONTEXT.finditer(text):
            best: re.Match[str] | None = None
            for pattern in self.anchored:
                found = pattern.match(text, context.end())
                if found is None or not _plate_ok(found.group(), strict=False):
                    continue
                if best is None or len(found.group()) > len(best.group()):
                    best = found
            if best is not None:
                yield _plate(best.group(), best.start())


def _plate(raw: str, start: int) -> Entity:
    value = re.sub(r"[^0-9A-ZÄÖÜ]", "", raw.upper())
    return Entity("plate", raw, start, start + len(raw), value)


def check_plate_patterns(patterns: object) -> tuple[PlatePattern, ...]:
    """Validate user-supplied patterns (PlatePattern objects or {"name", "pattern",
    "needs_context"} mappings); a bad regular expression is INVALID_INPUT."""
    if isinstance(patterns, str | bytes) or not isinstance(patterns, Sequence):
        raise invalid("plate_patterns must be a list of patterns", field="plate_patterns")
    checked: list[PlatePattern] = []
    for position, item in enumerate(patterns):
        if isinstance(item, PlatePattern):
            spec = item
        elif isinstance(item, dict) and isinstance(item.get("pattern"), str):
            spec = PlatePattern(
                str(item.get("name") or f"pattern_{position + 1}"),
                item["pattern"],
                bool(item.get("needs_context", False)),
            )
        else:
            raise invalid(
                "Each plate pattern needs a 'pattern' (a regular expression)",
                field="plate_patterns",
                index=position,
            )
        if len(spec.pattern) > 200:
            raise invalid("A plate pattern may have at most 200 characters", index=position)
        try:
            re.compile(spec.pattern)
        except re.error as exc:
            raise invalid(
                f"Plate pattern {spec.name!r} is not a valid regular expression: {exc}",
                field="plate_patterns",
                index=position,
            ) from None
        checked.append(spec)
    return tuple(checked)
