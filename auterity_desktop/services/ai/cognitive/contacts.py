"""E-mail addresses and telephone numbers, the latter normalised to E.164 (``+13125550142``).

Telephone numbers are recognised in three shapes:

- international: ``+49 30 1234567``, ``0049 89 123456``, ``+44 (0)20 7946 0958`` — the
  country code is read from the number; for known countries the national part must have
  a plausible length, for North America it must follow the NANP rules;
- North American (regions US and CA): ``(312) 555-0142``, ``312.555.0199``,
  ``1-800-555-0199`` — area code and exchange start with 2–9; seven-digit local numbers
  are not reported (without the area code they cannot become E.164);
- national numbers of the region: with the trunk prefix ``0`` where the region uses one
  (``030 12345678`` in Germany, ``07700 900123`` in the UK), otherwise the plain national
  number (Spain, Denmark, ...) of the region's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auterity_desktop.services.ai.cognitive.spans import REGIONS, Context, Entity, Region

EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

INTERNATIONAL = re.compile(r"(?<![\w+#])(?:\+|00)(?P<body>[1-9][\d\s().\-/]{5,24}\d)(?![\w])")
NANP = re.compile(
    r"(?<![\w+#.$€£-])(?:1[\s.\-]?)?"
    r"(?:\((?P<a1>[2-9]\d{2})\)\s?(?P<ex1>[2-9]\d{2})[\s.\-]?(?P<ln1>\d{4})"
    r"|(?P<a2>[2-9]\d{2})(?P<s>[\s.\-]?)(?P<ex2>[2-9]\d{2})(?P=s)(?P<ln2>\d{4}))"
    r"(?![\w]|[.\-]\d)"
)
NATIONAL_TRUNK = re.compile(
    r"(?<![\w+#.$€£-])(?P<num>\(?0(?!0)\d{1,4}\)?(?:[\s.\-/]?\d{2,8}){1,4})(?![\w]|[.\-]\d)"
)
NATIONAL_PLAIN = re.compile(
    r"(?<![\w+#.$€£-])(?P<num>\d{2,4}(?:[\s.\-]?\d{2,4}){1,4})(?![\w]|[.\-]\d)"
)
_DOUBLE_SEPARATOR = re.compile(r"[\s.\-/]{2,}")

# Country calling codes of one or two digits; every other code has three.
_ONE_DIGIT = {"1", "7"}
_TWO_DIGITS = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61",
    "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94",
    "95", "98",
}  # fmt: skip
_BY_CODE: dict[str, Region] = {}
for _region in REGIONS.values():
    _BY_CODE.setdefault(_region.calling_code, _region)


def find_emails(text: str, ctx: Context) -> Iterator[Entity]:
    for m in EMAIL.finditer(text):
        value = m.group()
        local = value.split("@", 1)[0]
        if ".." in local or value.startswith("."):
            continue
        yield Entity("email", value, m.start(), m.end(), value.lower())


def _nanp_ok(national: str) -> bool:
    return len(national) == 10 and national[0] in "23456789" and national[3] in "23456789"


def split_country(digits: str) -> tuple[str, str]:
    if digits[0] in _ONE_DIGIT:
        return digits[0], digits[1:]
    if digits[:2] in _TWO_DIGITS:
        return digits[:2], digits[2:]
    return digits[:3], digits[3:]


def e164(country: str, national: str) -> str | None:
    """``+<country><national>`` when the parts are plausible, else None."""
    known = _BY_CODE.get(country)
    trunk = known.trunk_prefix if known is not None and country != "1" else ""
    if trunk and national.startswith(trunk):
        national = national[len(trunk) :]  # "+49 030 ...": a trunk prefix after the code
    if country == "1" and not _nanp_ok(national):
        return None
    if country != "1" and known is not None and len(national) not in known.national_digits:
        return None
    if not 8 <= len(country) + len(national) <= 15 or len(national) < 6:
        return None
    return f"+{country}{national}"


def _separators_ok(raw: str) -> bool:
    compact = raw.replace(") ", ")").replace(" (", "(")
    return not _DOUBLE_SEPARATOR.search(compact)


def find_phones(text: str, ctx: Context) -> Iterator[Entity]:
    region = ctx.region
    for m in INTERNATIONAL.finditer(text):
        # The pattern may run on into a following number ("+1 312 555 0142 2026"): try
        # the longest prefix that ends at a digit group and makes a valid number.
        ends = [g.end() for g in re.finditer(r"\d+", m["body"])]
        for end in reversed(ends):
            body = m["body"][:end]
            if not _separators_ok(body) or body.count("(") != body.count(")"):
                continue
            digits = re.sub(r"\D", "", body.replace("(0)", ""))
            value = e164(*split_country(digits))
            if value is not None:
                stop = m.start("body") + end
                yield Entity("phone", text[m.start() : stop], m.start(), stop, value)
                break
    if region.calling_code == "1":
        for m in NANP.finditer(text):
            national = "".join(
                m[a] + m[e] + m[n] for a, e, n in (("a1", "ex1", "ln1"), ("a2", "ex2", "ln2"))
                if m[a]
            )  # fmt: skip
            value = e164("1", national)
            if value is not None:
                yield Entity("phone", m.group(), m.start(), m.end(), value)
        return
    pattern = NATIONAL_TRUNK if region.trunk_prefix else NATIONAL_PLAIN
    for m in pattern.finditer(text):
        raw = m["num"]
        if not _separators_ok(raw) or raw.count("(") != raw.count(")"):
            continue
        national = re.sub(r"\D", "", raw)
        if region.trunk_prefix:
            national = national[len(region.trunk_prefix) :]
        if len(national) not in region.national_digits:
            continue
        value = e164(region.calling_code, national)
        if value is not None:
            yield Entity("phone", raw, m.start("num"), m.end("num"), value)
