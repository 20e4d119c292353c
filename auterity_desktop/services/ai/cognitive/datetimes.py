"""Dates and times in customer messages, resolved against a reference date.

Rules (the choices a reader would otherwise have to guess):

- ISO dates (2026-03-12, 2026/03/12) are year-month-day everywhere. Other numeric dates
  (03/12/2026, 12.03.26) follow the region: month first in the US and Canada, day first
  elsewhere — unless one part cannot be a month (25/12 is the 25th of December anywhere).
  Two-digit years up to ten years ahead of the reference are 20xx, older ones 19xx.
  A numeric date without a year ("3/12") counts only after "on", "by", "until", ...
  — otherwise "1/2" in "1/2 tank" would be a date.
- Dates with month names: "12 March 2026", "12th of March", "March 12th, 2026", "Mar 12",
  "Saturday, April 4" (the weekday is checked; a mismatch is flagged ``weekday_mismatch``);
  "March 2026" and "in/by/early/late April" are months (``YYYY-MM``). A date without a year
  gets the year that puts it nearest the reference date ("Dec 28" said in March is last
  December; "April 2" is this April). "May" alone is a month only when capitalised.
- Relative dates: today, tonight, tomorrow, yesterday, the day after tomorrow, the day
  before yesterday, "in 3 days", "in two weeks", "5 days from now", "the 14th" (the next
  14th on or after the reference). Weekdays: "Friday", "on Friday" and "this Friday" are
  the first such day on or after the reference; "next Friday" is a week later when that
  day is still in the reference's (Monday-first) week; "last Friday" is the latest one
  before the reference. Abbreviated weekdays ("Fri") need a modifier, a dot or comma, or a
  number after them, so the French "Mon" (my) stays a word.
- Times: "2pm", "2:30 p.m.", "9.30am", "14:30", "14h30", "noon", "midnight",
  "10 o'clock" → ``HH:MM`` on a 24-hour clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

from auterity_desktop.services.ai.cognitive.spans import Context, Entity

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
FULL_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
)  # fmt: skip
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5,
    "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a few": 3,
}  # fmt: skip

_MONTH = r"(?P<m>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WD_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_WD_PREFIX = r"(?:(?P<wd>" + _WD_NAMES + r")\.?,?\s+(?:the\s+)?)?"
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:,?[\s\-]+(?P<y>\d{4}))?"
_I = re.IGNORECASE

DAY_MONTH = re.compile(
    rf"\b{_WD_PREFIX}(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}(?:\s+of)?[\s\-]+{_MONTH}{_YEAR}\b", _I
)
MONTH_DAY = re.compile(
    rf"\b{_WD_PREFIX}{_MONTH}\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}{_YEAR}(?![\d:])\b", _I
)
MONTH_YEAR = re.compile(rf"\b{_MONTH},?\s+(?P<y>\d{{4}})\b", _I)
MONTH_ALONE = re.compile(
    r"\b(?P<prep>in|by|during|early|mid|late|end\s+of|beginning\s+of|until|till|since)[\s-]+"
    r"(?P<m>" + "|".join(FULL_MONTHS) + r")\b",
    _I,
)
ISO = re.compile(r"(?<![\d./-])(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?!\d)")
NUMERIC = re.compile(
    rf"(?<![\d./-])(?:{_WD_PREFIX})?(?P<a>\d{{1,2}})(?P<s>[./-])(?P<b>\d{{1,2}})(?P=s)"
    r"(?P<y>\d{4}|\d{2})(?![\d]|[./-]\d)",
    _I,
)
NUMERIC_NO_YEAR = re.compile(
    r"\b(?P<prep>on|by|until|till|before|after|from|due|for)\s+(?P<a>\d{1,2})/(?P<b>\d{1,2})"
    r"(?![\d/]|\.\d)",
    _I,
)
ORDINAL_DAY = re.compile(
    r"\b(?:(?P<wd>" + _WD_NAMES + r")\.?,?\s+)?the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b(?!\s+of\b)",
    _I,
)
RELATIVE_WORD = re.compile(
    r"\b(?P<w>day\s+after\s+tomorrow|day\s+before\s+yesterday|today|"
    r"tonight|tomorrow|tomorow|tommorow|tommorrow|tmrw|yesterday)\b",
    _I,
)
_COUNT = r"(?P<n>\d{1,3}|a\s+couple\s+of|a\s+few|" + "|".join(NUMBER_WORDS) + r")"
IN_N = re.compile(rf"\bin\s+{_COUNT}\s+(?P<u>days?|weeks?)\b", _I)
N_FROM_NOW = re.compile(rf"\b{_COUNT}\s+(?P<u>days?|weeks?)\s+from\s+(?:now|today)\b", _I)
WEEKDAY = re.compile(
    r"\b(?:(?P<mod>this\s+coming|this|next|last|coming|past)\s+)?(?P<wd>" + _WD_NAMES + r")\b",
    _I,
)

TIME_AMPM = re.compile(
    r"(?<![\d:.,$€£])(?P<h>\d{1,2})(?:[:.](?P<min>[0-5]\d))?\s?"
    r"(?P<ap>[ap])(?:\.\s?m\.|m\b)",
    _I,
)
TIME_24 = re.compile(
    r"(?<![\d:.,/$€£-])(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)(?::[0-5]\d)?(?![\d:])(?!\s?[ap]\.?m\b)",
    _I,
)
TIME_H = re.compile(r"\b(?P<h>[01]?\d|2[0-3])h(?P<min>[0-5]\d)\b", _I)
TIME_WORD = re.compile(r"\b(?P<w>noon|midday|midnight)\b", _I)
TIME_OCLOCK = re.compile(r"\b(?P<h>1[0-2]|[1-9])\s?o'?clock\b", _I)


# -- resolving -------------------------------------------------------------------------------
def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def nearest(reference: date, month: int, day: int) -> date | None:
    """The date with this month and day nearest ``reference`` (last, this or next year)."""
    options = [
        d for y in (reference.year - 1, reference.year, reference.year + 1)
        if (d := _valid(y, month, day)) is not None
    ]  # fmt: skip
    if not options:
        return None
    return min(options, key=lambda d: (abs((d - reference).days), d))


def nearest_month(reference: date, month: int) -> tuple[int, int]:
    options = [(y, month) for y in (reference.year - 1, reference.year, reference.year + 1)]
    return min(options, key=lambda ym: abs((ym[0] - reference.year) * 12 + ym[1] - reference.month))


def full_year(value: str, reference: date) -> int:
    year = int(value)
    if len(value) == 4:
        return year
    pivot = reference.year % 100 + 10
    return (2000 if year <= pivot else 1900) + year


def weekday_date(reference: date, weekday: int, modifier: str) -> date:
    modifier = " ".join(modifier.lower().split())
    if modifier in ("last", "past"):
        back = (reference.weekday() - weekday) % 7 or 7
        return reference - timedelta(days=back)
    upcoming = reference + timedelta(days=(weekday - reference.weekday()) % 7)
    if modifier == "next":
        week_start = reference - timedelta(days=reference.weekday())
        if upcoming < week_start + timedelta(days=7):
            upcoming += timedelta(days=7)
    return upcoming


def _count(value: str) -> int:
    value = " ".join(value.lower().split())
    return int(value) if value.isdigit() else NUMBER_WORDS[value]


def _entity(kind: str, match: re.Match[str], value: str, flags: tuple[str, ...] = ()) -> Entity:
    start, end = match.span()
    return Entity(kind, match.string[start:end], start, end, value, flags)


def _weekday_flag(match: re.Match[str], found: date) -> tuple[str, ...]:
    named = match.groupdict().get("wd")
    if named and WEEKDAYS[named.lower()] != found.weekday():
        return ("weekday_mismatch",)
    return ()


# -- finders ---------------------------------------------------------------------------------
def find_dates(text: str, ctx: Context) -> Iterator[Entity]:
    ref = ctx.reference
    for pattern in (DAY_MONTH, MONTH_DAY):
        for m in pattern.finditer(text):
            month, day = MONTHS[m["m"].lower()], int(m["d"])
            found = _valid(int(m["y"]), month, day) if m["y"] else nearest(ref, month, day)
            if found is not None:
                yield _entity("date", m, found.isoformat(), _weekday_flag(m, found))
    for m in MONTH_YEAR.finditer(text):
        if m["m"].lower() == "may" and not m["m"].startswith("M"):
            continue
        yield _entity("date", m, f"{int(m['y']):04d}-{MONTHS[m['m'].lower()]:02d}")
    for m in MONTH_ALONE.finditer(text):
        if m["m"].lower() == "may" and m["m"] != "May":
            continue
        year, month = nearest_month(ref, MONTHS[m["m"].lower()])
        yield _entity("date", m, f"{year:04d}-{month:02d}")
    for m in ISO.finditer(text):
        found = _valid(int(m["y"]), int(m["m"]), int(m["d"]))
        if found is not None:
            yield _entity("date", m, found.isoformat())
    for m in NUMERIC.finditer(text):
        found = _numeric(int(m["a"]), int(m["b"]), full_year(m["y"], ref), ctx)
        if found is not None:
            yield _entity("date", m, found.isoformat(), _weekday_flag(m, found))
    for m in NUMERIC_NO_YEAR.finditer(text):
        found = _numeric(int(m["a"]), int(m["b"]), None, ctx)
        if found is not None:
            start = m.start("a")
            yield Entity("date", text[start : m.end()], start, m.end(), found.isoformat())
    for m in ORDINAL_DAY.finditer(text):
        found = _day_of_month(ref, int(m["d"]))
        if found is not None:
            yield _entity("date", m, found.isoformat(), _weekday_flag(m, found))
    for m in RELATIVE_WORD.finditer(text):
        word = " ".join(m["w"].lower().split()).removeprefix("the ")
        if word == "day after tomorrow":
            offset = 2
        elif word == "day before yesterday":
            offset = -2
        elif word in ("today", "tonight"):
            offset = 0
        elif word == "yesterday":
            offset = -1
        else:
            offset = 1
        yield _entity("date", m, (ref + timedelta(days=offset)).isoformat())
    for pattern in (IN_N, N_FROM_NOW):
        for m in pattern.finditer(text):
            days = _count(m["n"]) * (7 if m["u"].lower().startswith("week") else 1)
            yield _entity("date", m, (ref + timedelta(days=days)).isoformat())
    for m in WEEKDAY.finditer(text):
        name, modifier = m["wd"], m["mod"] or ""
        if name.lower() not in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                "saturday", "sunday"):  # fmt: skip
            after = text[m.end() : m.end() + 3]
            if not (modifier or re.match(r"[.,]|\s?\d", after)) or not name[0].isupper():
                continue
        found = weekday_date(ref, WEEKDAYS[name.lower()], modifier)
        end = m.end() + (1 if text[m.end() : m.end() + 1] == "." and len(name) <= 5 else 0)
        yield Entity("date", text[m.start() : end], m.start(), end, found.isoformat())


def _numeric(a: int, b: int, year: int | None, ctx: Context) -> date | None:
    """Day and month from two numbers, by the region's order unless only one order works."""
    orders = [(b, a), (a, b)] if ctx.region.day_first else [(a, b), (b, a)]
    for month, day in orders:
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        if year is None:
            return nearest(ctx.reference, month, day)
        return _valid(year, month, day)
    return None


def _day_of_month(reference: date, day: int) -> date | None:
    year, month = reference.year, reference.month
    for _ in range(3):  # the 31st may skip a short month
        if day >= reference.day or (year, month) != (reference.year, reference.month):
            found = _valid(year, month, day)
            if found is not None and found >= reference:
                return found
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return None


def find_times(text: str, ctx: Context) -> Iterator[Entity]:
    for m in TIME_AMPM.finditer(text):
        hour, minute = int(m["h"]), int(m["min"] or 0)
        if not 1 <= hour <= 12:
            continue
        hour = hour % 12 + (12 if m["ap"].lower() == "p" else 0)
        yield _entity("time", m, f"{hour:02d}:{minute:02d}")
    for pattern in (TIME_24, TIME_H):
        for m in pattern.finditer(text):
            yield _entity("time", m, f"{int(m['h']):02d}:{int(m['min']):02d}")
    for m in TIME_WORD.finditer(text):
        yield _entity("time", m, "00:00" if m["w"].lower() == "midnight" else "12:00")
    for m in TIME_OCLOCK.finditer(text):
        yield _entity("time", m, f"{int(m['h']):02d}:00")
