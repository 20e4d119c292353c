"""Extractive summaries: sentence splitting that respects abbreviations, initials and
decimals, TextRank picking the central sentences in their original order, and the limits."""

from __future__ import annotations

import time

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.cognitive.summary import (
    check_length,
    split_sentences,
    summarise,
)

EMAIL = """Hi Sarah,

Mr. Johnson dropped off his 2019 Camry at 7:30 a.m. this morning. He reported a grinding \
noise from the front brakes, e.g. when stopping at low speed. Our technician, J. Smith, \
measured the front brake pads at 2.5 mm, which is below the 3 mm limit. The brake rotors \
are also scored and need to be replaced together with the pads. The estimate for brake pads \
and rotors is $489.50 including labor. Mr. Johnson approved the brake work by phone at \
10 a.m. The weather is nice today.

Best regards,
Tom
Sent from my iPhone"""


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_splitting_respects_abbreviations_initials_and_decimals() -> None:
    assert sentences(EMAIL) == [
        "Hi Sarah,",
        "Mr. Johnson dropped off his 2019 Camry at 7:30 a.m. this morning.",
        "He reported a grinding noise from the front brakes, e.g. when stopping at low speed.",
        "Our technician, J. Smith, measured the front brake pads at 2.5 mm, which is below "
        "the 3 mm limit.",
        "The brake rotors are also scored and need to be replaced together with the pads.",
        "The estimate for brake pads and rotors is $489.50 including labor.",
        "Mr. Johnson approved the brake work by phone at 10 a.m.",
        "The weather is nice today.",
        "Best regards,",
        "Tom",
        "Sent from my iPhone",
    ]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Dr. Lee called. She will come at 3 p.m. Thanks!", 3),
        ("Is it ready? Yes! Great.", 3),
        ("Stock No. 4521 is sold. We have No. 4522.", 2),
        ("The U.S. model differs. The EU one too.", 2),
        ("Prices rose 2.5% in Jan. and Feb. this year.", 1),
        ("- oil change\n- new wipers\n- tire rotation", 3),
        ('He said "It\'s done." Then he left.', 2),
        ("etc. and so on... and more", 1),
        ("", 0),
        ("...!!!", 0),
    ],
)
def test_sentence_counts(text: str, count: int) -> None:
    assert len(split_sentences(text)) == count


def test_summary_keeps_the_central_sentences_in_order() -> None:
    result = summarise(EMAIL, 3)
    assert result.via == "local"
    assert len(result.sentences) == 3
    assert result.text == " ".join(result.sentences)
    # the brake story, not the greeting, the weather or the signature
    assert all("brake" in s or "pads" in s or "rotors" in s for s in result.sentences)
    positions = [EMAIL.index(s) for s in result.sentences]
    assert positions == sorted(positions)


def test_ratio_and_short_texts() -> None:
    assert len(summarise(EMAIL, ratio=0.5).sentences) == round(0.5 * 11)
    assert len(summarise(EMAIL, ratio=0.01).sentences) == 1
    short = summarise("Only one sentence here.", 3)
    assert short.sentences == ["Only one sentence here."]
    assert summarise("One. Two words here. Three.", 5).sentences == [
        "One.", "Two words here.", "Three."
    ]  # fmt: skip


def test_identical_sentences_do_not_break_ranking() -> None:
    text = "The car is ready. " * 10 + "Please pay at the front desk."
    result = summarise(text, 2)
    assert len(result.sentences) == 2


def test_long_text_is_fast() -> None:
    paragraph = (
        "The customer asked about the trade-in value of a 2015 Corolla. "
        "We offered 8,500 dollars after the appraisal. "
        "She wants to finance the rest over 60 months. "
        "The Camry hybrid she test drove is in stock. "
    )
    text = (paragraph * 1300)[:200_000]
    began = time.perf_counter()
    result = summarise(text, 3)
    assert time.perf_counter() - began < 15
    assert len(result.sentences) == 3


@pytest.mark.parametrize(
    ("sentences", "ratio"),
    [(0, None), (101, None), (2.5, None), (True, None), ("3", None), (3, 0), (3, 1.5), (3, "x")],
)
def test_bad_lengths(sentences: object, ratio: object) -> None:
    with pytest.raises(ServiceError) as info:
        check_length(sentences, ratio)
    assert info.value.code is ErrorCode.INVALID_INPUT
