"""Entity extraction: precision and recall on held-out messages, and the rules per kind —
VIN check digits, relative dates, number formats, E.164 phones, plates, stock numbers —
with offsets that always point at the text and never overlap.

``entities_test.jsonl`` (48 messages, 70 entities, 7 without any; written before the
extractor): precision and recall 0.986 on the first run, 1.000 after the one disagreement
("the day after tomorrow" vs "day after tomorrow" as the span) was settled for the shorter
span, like "Friday" without "on". ``entities_holdout.jsonl`` (25 messages, 47 entities;
written after the extractor was finished, measured once): precision 1.000, recall 1.000.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.cognitive.entities import EntityExtractor, resolve
from auterity_desktop.services.ai.cognitive.spans import Entity, PlatePattern, region
from auterity_desktop.services.ai.cognitive.vehicles import (
    check_plate_patterns,
    vin_check_digit,
    vin_flags,
)
from tests.services.ai.cognitive.conftest import REFERENCE

DATA = Path(__file__).parent / "data"
EXTRACTOR = EntityExtractor()


def extract(text: str, locale: str = "US", reference: date = REFERENCE) -> list[Entity]:
    return EXTRACTOR.extract(text, reference, region(locale))


def triples(entities: list[Entity]) -> list[tuple[str, str, Any]]:
    return [(e.kind, e.text, e.value) for e in entities]


def test_precision_and_recall_on_held_out_messages() -> None:
    rows = [
        json.loads(line)
        for name in ("entities_test.jsonl", "entities_holdout.jsonl")
        for line in (DATA / name).read_text("utf-8").splitlines()
    ]
    assert len(rows) >= 70
    found: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for row in rows:
        got = extract(row["text"], row.get("locale", "US"))
        for e in got:
            assert row["text"][e.start : e.end] == e.text
        have = {(e.kind, e.text, json.dumps(e.value, sort_keys=True)) for e in got}
        want = {(k, t, json.dumps(v, sort_keys=True)) for k, t, v in row["entities"]}
        for kind, *_ in have:
            found[kind] += 1
        for kind, *_ in want:
            gold[kind] += 1
        for kind, *_ in have & want:
            right[kind] += 1
    assert set(gold) == {"date", "time", "money", "email", "phone", "vin", "plate",
                         "stock_number"}  # fmt: skip
    precision = sum(right.values()) / sum(found.values())
    recall = sum(right.values()) / sum(gold.values())
    assert precision >= 0.9
    assert recall >= 0.9
    for kind in gold:
        assert right[kind] / gold[kind] >= 0.8, kind


# -- VIN ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "vin",
    ["1HGCM82633A004352", "1M8GDM9AXKP042788", "JH4KA7561PC008269", "2T1BURHE0JC014702",
     "5YJ3E1EA2KF317000"],
)  # fmt: skip
def test_valid_vins_pass_the_check_digit(vin: str) -> None:
    assert vin_check_digit(vin) == vin[8]
    assert vin_flags(vin) == ()
    (entity,) = extract(f"The VIN is {vin}.")
    assert (entity.kind, entity.value, entity.flags) == ("vin", vin, ())


@pytest.mark.parametrize(
    ("vin", "expected"),
    [
        ("1HGCM82634A004352", "1"),  # a typo after the check digit changes the sum
        ("1M8GDM9A1KP042788", "X"),  # check digit itself wrong
        ("2T1BURHE1JC014702", "0"),
    ],
)
def test_wrong_check_digits_are_flagged(vin: str, expected: str) -> None:
    assert vin_check_digit(vin) == expected != vin[8]
    (entity,) = extract(f"vin {vin}")
    assert entity.kind == "vin"
    assert entity.flags == ("check_digit_invalid",)


def test_european_vins_without_a_check_digit_are_flagged_as_such() -> None:
    (entity,) = extract("Golf WVWZZZ1JZXW000001")
    assert entity.flags == ("check_digit_not_used",)


@pytest.mark.parametrize(
    "text",
    [
        "1HGCM82633A00435",  # 16 characters
        "1HGCM82633A0043521",  # 18
        "1HGCM82633A0O4352",  # contains O
        "1HGCM8263IA004352",  # contains I
        "12345678901234567",  # no letters
        "ABCDEFGHJKLMNPRST",  # does not end in digits
    ],
)
def test_not_vins(text: str) -> None:
    assert [e for e in extract(f"ref {text} end") if e.kind == "vin"] == []


# -- dates and times ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("today", "2026-03-10"),
        ("tonight", "2026-03-10"),
        ("tomorrow", "2026-03-11"),
        ("yesterday", "2026-03-09"),
        ("day before yesterday", "2026-03-08"),
        ("Friday", "2026-03-13"),
        ("this Friday", "2026-03-13"),
        ("next Friday", "2026-03-20"),  # Friday of this week is "this", next week's "next"
        ("next Monday", "2026-03-16"),  # already in the next week
        ("last Friday", "2026-03-06"),
        ("Tuesday", "2026-03-10"),  # the reference day itself
        ("next Tuesday", "2026-03-17"),
        ("in 5 days", "2026-03-15"),
        ("in a week", "2026-03-17"),
        ("10 days from now", "2026-03-20"),
        ("the 31st", "2026-03-31"),
        ("the 9th", "2026-04-09"),  # the 9th of March has passed
        ("March 12th", "2026-03-12"),
        ("12 March 2026", "2026-03-12"),
        ("12th of March", "2026-03-12"),
        ("Mar 12, 2027", "2027-03-12"),
        ("Dec 28", "2025-12-28"),  # nearest: last December
        ("September 1", "2026-09-01"),  # 175 days ahead is nearer than 190 back
        ("October 1", "2025-10-01"),  # 160 days back is nearer than 205 ahead
        ("March 2026", "2026-03"),
        ("late June", "2026-06"),
        ("2026-03-12", "2026-03-12"),
        ("2026/3/2", "2026-03-02"),
        ("03/04/2026", "2026-03-04"),  # US: month first
        ("25/12/2025", "2025-12-25"),  # only day-first works
        ("3/4/26", "2026-03-04"),
        ("3/4/99", "1999-03-04"),
        ("Friday the 13th", "2026-03-13"),
        ("Sat. 10am", "2026-03-14"),
    ],
)
def test_dates_resolve_against_the_reference(text: str, value: str) -> None:
    dates = [e for e in extract(f"See you {text} ok") if e.kind == "date"]
    span = text.removesuffix(" 10am")
    assert [(e.text, e.value) for e in dates] == [(span, value)]


def test_numeric_dates_follow_the_region() -> None:
    assert extract("on 03/04/2026", "US")[0].value == "2026-03-04"
    assert extract("on 03/04/2026", "GB")[0].value == "2026-04-03"
    assert extract("am 03.04.2026", "DE")[0].value == "2026-04-03"


def test_weekday_that_contradicts_the_date_is_flagged() -> None:
    (entity,) = extract("Monday, March 12, 2026")
    assert entity.value == "2026-03-12"
    assert entity.flags == ("weekday_mismatch",)


@pytest.mark.parametrize(
    "text",
    [
        "I may come by later",
        "Mon portable",
        "1/2 tank of gas",
        "31/02/2026",
        "13/13/2026",
        "score 3:1",
        "Version 2.0",
        "we march on",
        "open on Saturdays",
    ],
)
def test_not_dates_or_times(text: str) -> None:
    assert [e for e in extract(text) if e.kind in ("date", "time")] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2pm", "14:00"),
        ("2:30 pm", "14:30"),
        ("2:30 p.m.", "14:30"),
        ("9.30am", "09:30"),
        ("12am", "00:00"),
        ("12pm", "12:00"),
        ("14:30", "14:30"),
        ("9:05", "09:05"),
        ("14h30", "14:30"),
        ("noon", "12:00"),
        ("midnight", "00:00"),
        ("10 o'clock", "10:00"),
    ],
)
def test_times(text: str, value: str) -> None:
    times = [e for e in extract(f"at {text} please") if e.kind == "time"]
    assert [(e.text, e.value) for e in times] == [(text, value)]


# -- money -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "amount", "currency", "locale"),
    [
        ("$1,299.99", 1299.99, "USD", "US"),
        ("$1.2M", 1_200_000.0, "USD", "US"),
        ("1.299,00 €", 1299.0, "EUR", "DE"),
        ("1 299,50 €", 1299.5, "EUR", "FR"),
        ("€1.299", 1299.0, "EUR", "DE"),
        ("CHF 1'299.50", 1299.5, "CHF", "CH"),
        ("£200", 200.0, "GBP", "GB"),
        ("USD 499", 499.0, "USD", "DE"),
        ("89.90 EUR", 89.9, "EUR", "DE"),
        ("500 dollars", 500.0, "USD", "US"),
        ("250 bucks", 250.0, "USD", "US"),
        ("$300", 300.0, "CAD", "CA"),
        ("C$300", 300.0, "CAD", "US"),
        ("$30k", 30_000.0, "USD", "US"),
    ],
)
def test_money(text: str, amount: float, currency: str, locale: str) -> None:
    (entity,) = extract(f"It was {text} in total", locale)
    assert (entity.kind, entity.text) == ("money", text)
    assert entity.value == {"amount": amount, "currency": currency}
    assert entity.flags == ()


def test_bare_thousands_are_money_with_an_assumed_currency() -> None:
    (entity,) = extract("I was hoping for 15k", "DE")
    assert entity.value == {"amount": 15000.0, "currency": "EUR"}
    assert entity.flags == ("currency_assumed",)


@pytest.mark.parametrize("text", ["15k miles", "60k service", "20K km", "500 lbs", "4 kids"])
def test_not_money(text: str) -> None:
    assert [e for e in extract(f"it has {text} now") if e.kind == "money"] == []


# -- phones ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value", "locale"),
    [
        ("(312) 555-0142", "+13125550142", "US"),
        ("312-555-0142", "+13125550142", "US"),
        ("312.555.0142", "+13125550142", "US"),
        ("3125550142", "+13125550142", "US"),
        ("1-800-555-0199", "+18005550199", "US"),
        ("+1 312 555 0142", "+13125550142", "DE"),
        ("+49 30 1234567", "+49301234567", "US"),
        ("+49 (0)89 1234567", "+49891234567", "US"),
        ("0049 89 123456", "+4989123456", "US"),
        ("030 12345678", "+493012345678", "DE"),
        ("089/1234567", "+49891234567", "DE"),
        ("07700 900123", "+447700900123", "GB"),
        ("+44 20 7946 0958", "+442079460958", "US"),
        ("06 12 34 56 78", "+33612345678", "FR"),
        ("612 345 678", "+34612345678", "ES"),
    ],
)
def test_phones_become_e164(text: str, value: str, locale: str) -> None:
    found = extract(f"call {text} now", locale)
    assert [(e.kind, e.text, e.value) for e in found] == [("phone", text, value)]


@pytest.mark.parametrize(
    "text",
    ["555-0143", "(123) 555-0142", "312-155-0142", "Order #3125550142", "1,299.99", "+1 23"],
)
def test_not_phones(text: str) -> None:
    assert [e for e in extract(f"it is {text} ok") if e.kind == "phone"] == []


# -- plates and stock numbers ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ABC-1234", "ABC1234"),
        ("7ABC123", "7ABC123"),
        ("AB12 CDE", "AB12CDE"),
        ("M-AB 1234", "MAB1234"),
        ("AB-123-CD", "AB123CD"),
        ("AB 123 CD", "AB123CD"),
        ("12-ABC-3", "12ABC3"),
    ],
)
def test_plates_in_free_text(text: str, value: str) -> None:
    (entity,) = extract(f"The car {text} is outside")
    assert (entity.kind, entity.text, entity.value) == ("plate", text, value)


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("plate abc1234", "abc1234"),
        ("license plate: xyz 987", "xyz 987"),
        ("tag # 123-ABC", "123-ABC"),
        ("Kennzeichen b-xy 123", "b-xy 123"),
        ("registration is 4521 BCD", "4521 BCD"),
    ],
)
def test_plates_after_a_context_word(text: str, plate: str) -> None:
    plates = [e for e in extract(text) if e.kind == "plate"]
    assert [e.text for e in plates] == [plate]


@pytest.mark.parametrize(
    "text",
    [
        "The RAV4 and the F-150",
        "my 2019 GMC 2500 and a RAM 1500",
        "the CX-5 or XLE 350",
        "ABC 123 without context",
        "THANK YOU",
        "order 2026 BMW",
        "driver license D1234567",
    ],
)
def test_not_plates(text: str) -> None:
    assert [e for e in extract(text) if e.kind == "plate"] == []


def test_plate_patterns_are_configurable() -> None:
    custom = EntityExtractor([PlatePattern("fleet", r"FLT-\d{3}")])
    found = custom.extract("Fleet car FLT-042 and ABC-1234", REFERENCE, region("US"))
    assert [(e.kind, e.value) for e in found] == [("plate", "FLT042")]
    checked = check_plate_patterns([{"name": "x", "pattern": "[A-Z]{2}\\d{4}"}])
    assert checked == (PlatePattern("x", "[A-Z]{2}\\d{4}", False),)
    for bad in ("AB", [{"name": "x"}], [{"pattern": "(unclosed"}], [{"pattern": "a" * 201}]):
        with pytest.raises(ServiceError) as info:
            check_plate_patterns(bad)
        assert info.value.code is ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("text", "span", "value"),
    [
        ("Is stock #A1234 sold?", "stock #A1234", "A1234"),
        ("see STK-12345", "STK-12345", "12345"),
        ("Stock No. 4521B", "Stock No. 4521B", "4521B"),
        ("stock number 7731", "stock number 7731", "7731"),
        ("stk 9981", "stk 9981", "9981"),
        ("STOCK: P-4411", "STOCK: P-4411", "P-4411"),
    ],
)
def test_stock_numbers(text: str, span: str, value: str) -> None:
    (entity,) = extract(text)
    assert (entity.kind, entity.text, entity.value) == ("stock_number", span, value)


@pytest.mark.parametrize("text", ["in stock 2024 models", "stock up on 12 cans", "restock A12"])
def test_not_stock_numbers(text: str) -> None:
    assert [e for e in extract(text) if e.kind == "stock_number"] == []


def test_emails() -> None:
    found = extract(
        "Mail Maria.Lopez+cars@Mail.Example.org or bob@dealer.co.uk. Not x@y or a..b@c.de"
    )
    assert [(e.text, e.value) for e in found] == [
        ("Maria.Lopez+cars@Mail.Example.org", "maria.lopez+cars@mail.example.org"),
        ("bob@dealer.co.uk", "bob@dealer.co.uk"),
    ]


# -- overlaps, offsets, hostile input ----------------------------------------------------------
def test_the_more_specific_kind_wins_an_overlap() -> None:
    # "12.03.2026" could be a German phone number, "STK-1234" a US plate.
    found = extract("am 12.03.2026, STK-1234", "DE")
    assert [e.kind for e in found] == ["date", "stock_number"]
    kept = resolve(
        [Entity("phone", "x", 0, 10, "+1"), Entity("date", "x", 3, 8, "d"),
         Entity("date", "x", 0, 4, "d2"), Entity("plate", "x", 9, 12, "p")]
    )  # fmt: skip
    # dates first, the longer one first; the shorter date and the phone overlap it
    assert [(e.kind, e.start) for e in kept] == [("date", 3), ("plate", 9)]


def test_offsets_survive_curly_quotes_and_emoji() -> None:
    text = "“Hi” 😀 — call (312) 555-0142 on ‘Friday’"
    for entity in extract(text):
        assert text[entity.start : entity.end] == entity.text
    assert [e.kind for e in extract(text)] == ["phone", "date"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["call", "(312) 555-0142", "$1,299.99", "15k", "on", "Friday", "2pm", "VIN",
             "1HGCM82633A004352", "stock #A12", "ABC-1234", "12/03/2026", "mail", "a@b.co",
             "+49 30 1234567", ",", ".", " ", "next", "the 14th", "€", "k", "-", "1", "/"]
        ),
        max_size=30,
    )
)  # fmt: skip
def test_entities_never_overlap_and_always_point_at_their_text(parts: list[str]) -> None:
    text = " ".join(parts) or "x"
    found = extract(text)
    for entity in found:
        assert text[entity.start : entity.end] == entity.text
        json.dumps(entity.to_dict())
    for before, after in itertools.pairwise(found):
        assert before.end <= after.start


@pytest.mark.parametrize(
    "text",
    [
        "1" * 200_000,
        "1-" * 100_000,
        "+4" + " 1" * 99_999,
        "a@" * 100_000,
        "stock #" * 28_000,
        "ABC-1234 " * 22_000,
        "$1,000," * 28_000,
        "12.12." * 33_000,
    ],
)
def test_hostile_input_finishes_quickly(text: str) -> None:
    began = time.perf_counter()
    extract(text[:200_000])
    assert time.perf_counter() - began < 10


def test_unknown_locale_is_refused() -> None:
    with pytest.raises(ServiceError) as info:
        region("XX")
    assert info.value.code is ErrorCode.INVALID_INPUT
