"""Intent classification: accuracy on held-out dealership messages, unknown detection,
the shape of results and the checks on training examples.

Two held-out files, never used for training: ``intents_test.jsonl`` (106 messages, written
before the classifier; the classifier was later tuned with its errors in view) and
``intents_holdout.jsonl`` (99 messages, written after tuning was finished and measured
once). Both include out-of-scope messages labelled ``unknown``. Measured with the shipped
set (8 examples per intent): 0.868 and 0.919; with only the first 3 examples per intent:
0.774 and 0.808.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.cognitive.intent import (
    MAX_EXAMPLE_CHARS,
    MAX_EXAMPLES_PER_INTENT,
    MAX_INTENTS,
    UNKNOWN,
    IntentModel,
    automotive_concepts,
    builtin_sets,
    check_examples,
)

DATA = Path(__file__).parent / "data"


def held_out(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text("utf-8").splitlines()]


def accuracy(model: IntentModel, rows: list[dict[str, str]]) -> float:
    return sum(model.classify(r["text"]).intent == r["intent"] for r in rows) / len(rows)


@pytest.fixture(scope="module")
def dealership() -> IntentModel:
    return IntentModel.train(builtin_sets()["dealership"].examples, automotive_concepts())


def test_the_shipped_set_has_at_most_8_examples_per_intent() -> None:
    examples = builtin_sets()["dealership"].examples
    assert len(examples) >= 9
    assert all(3 <= len(texts) <= 8 for texts in examples.values())


@pytest.mark.parametrize("name", ["intents_test.jsonl", "intents_holdout.jsonl"])
def test_held_out_accuracy_is_at_least_85_percent(dealership: IntentModel, name: str) -> None:
    rows = held_out(name)
    assert len(rows) >= 99
    intents = {r["intent"] for r in rows} - {UNKNOWN}
    assert intents == set(dealership.intents)
    training = {t.casefold() for v in builtin_sets()["dealership"].examples.values() for t in v}
    assert not any(r["text"].casefold() in training for r in rows)  # held out, really
    assert accuracy(dealership, rows) >= 0.85


def test_three_examples_per_intent_still_reach_75_percent() -> None:
    few = {k: v[:3] for k, v in builtin_sets()["dealership"].examples.items()}
    model = IntentModel.train(few, automotive_concepts())
    rows = held_out("intents_test.jsonl") + held_out("intents_holdout.jsonl")
    assert accuracy(model, rows) >= 0.75


def test_out_of_scope_messages_are_unknown(dealership: IntentModel) -> None:
    rows = [
        r for name in ("intents_test.jsonl", "intents_holdout.jsonl") for r in held_out(name)
        if r["intent"] == UNKNOWN
    ]  # fmt: skip
    rejected = sum(dealership.classify(r["text"]).intent == UNKNOWN for r in rows)
    assert rejected / len(rows) >= 0.8
    for text in ("zzzz qqqq", "12345", "🙂", "the of and"):
        assert dealership.classify(text).intent == UNKNOWN


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("pls cancell my appointment", "cancel_appointment"),
        ("I need to cancel my apointment", "cancel_appointment"),
        ("can i test dirve the camry", "test_drive"),
        ("how much is the tacomma", "price_quote"),
        ("is my car redy yet", "service_status"),
        ("whats the out-the-door pricing on the tacoma", "price_quote"),
        ("Financing options for someone with poor credit?", "finance"),
    ],
)
def test_typos_and_inflections_still_match(dealership: IntentModel, text: str, intent: str) -> None:
    # One slip per message; a misspelt *deciding* word with more slips around it
    # ("cancle my apointment") can still fall under the floor — see the README.
    assert dealership.classify(text).intent == intent


def test_result_shape(dealership: IntentModel) -> None:
    result = dealership.classify("Can I test drive the Civic on Saturday?")
    assert result.intent == "test_drive"
    assert result.via == "local"
    assert set(result.scores) == set(dealership.intents)
    assert result.confidence == result.scores["test_drive"] == max(result.scores.values())
    assert 0 < sum(result.scores.values()) <= 1.0 + 1e-6
    assert all(0 <= p <= 1 for p in result.scores.values())
    assert result.to_dict()["intent"] == "test_drive"
    # deterministic: same text, same answer
    assert dealership.classify("Can I test drive the Civic on Saturday?") == result


def test_a_raised_floor_turns_weak_answers_into_unknown(dealership: IntentModel) -> None:
    text = "is it possible?"
    weak = dealership.classify(text)
    assert dealership.classify(text, floor=0.99).intent == UNKNOWN
    assert dealership.classify(text, floor=0.99).confidence == weak.confidence


def test_a_set_outside_the_dealership_vocabulary_works_too() -> None:
    examples = check_examples(
        {
            "greeting": ["hello there", "good morning", "hi, how are you"],
            "farewell": ["goodbye", "see you later", "bye for now"],
            "thanks": ["thank you so much", "thanks a lot", "much appreciated"],
        }
    )
    model = IntentModel.train(examples, automotive_concepts())
    assert not model.domain
    assert model.classify("good evening, hello!").intent == "greeting"
    assert model.classify("ok bye, see you").intent == "farewell"
    assert model.classify("thank you, appreciated").intent == "thanks"


def test_long_text_is_classified_by_its_beginning(dealership: IntentModel) -> None:
    text = "Please cancel my appointment on Friday. " + "Lorem ipsum dolor sit amet. " * 5000
    assert dealership.classify(text).intent == "cancel_appointment"


# -- checking examples ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("examples", "code"),
    [
        ("not a mapping", ErrorCode.INVALID_INPUT),
        ([["a", ["x"]]], ErrorCode.INVALID_INPUT),
        ({"only_one": ["a", "b"]}, ErrorCode.VALIDATION_ERROR),
        ({}, ErrorCode.VALIDATION_ERROR),
        ({"a": ["x y"], "b": []}, ErrorCode.VALIDATION_ERROR),
        ({"a": ["x y"], "b": "not a list"}, ErrorCode.INVALID_INPUT),
        ({"a": ["x y"], "b": [42]}, ErrorCode.INVALID_INPUT),
        ({"a": ["x y"], "b": ["   "]}, ErrorCode.VALIDATION_ERROR),
        ({"a": ["x y"], "b": ["!!!"]}, ErrorCode.VALIDATION_ERROR),
        ({"a": ["x y"], "b": ["z" * (MAX_EXAMPLE_CHARS + 1)]}, ErrorCode.PAYLOAD_TOO_LARGE),
        ({"a": ["x y"], "Bad Name": ["z"]}, ErrorCode.VALIDATION_ERROR),
        ({"a": ["x y"], 7: ["z"]}, ErrorCode.INVALID_INPUT),
        ({"a": ["x y"], UNKNOWN: ["z"]}, ErrorCode.VALIDATION_ERROR),
        ({"a": ["Same text"], "b": ["same  TEXT"]}, ErrorCode.VALIDATION_ERROR),
        ({f"i{n}": ["x"] for n in range(MAX_INTENTS + 1)}, ErrorCode.PAYLOAD_TOO_LARGE),
        ({"a": ["x"], "b": ["y"] * (MAX_EXAMPLES_PER_INTENT + 1)}, ErrorCode.PAYLOAD_TOO_LARGE),
        ({"a": ["x y"], "b": ["bad\x00text"]}, ErrorCode.INVALID_INPUT),
    ],
)
def test_bad_examples_are_refused(examples: Any, code: ErrorCode) -> None:
    with pytest.raises(ServiceError) as info:
        check_examples(examples)
    assert info.value.code is code
    assert info.value.message
    json.dumps(info.value.details)


def test_examples_are_cleaned() -> None:
    cleaned = check_examples({"a": ["  hello world ", "Hello World", "other"], "b": ["bye"]})
    assert cleaned == {"a": ["hello world", "other"], "b": ["bye"]}
