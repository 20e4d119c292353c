"""Topic names, patterns and AMQP topic matching."""

from __future__ import annotations

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.messaging.topics import (
    matches,
    validate_pattern,
    validate_queue_name,
    validate_topic,
)

MATCHING = [
    # pattern, topic, matches
    ("a.b.c", "a.b.c", True),
    ("a.b.c", "a.b", False),
    ("a.b", "a.b.c", False),
    ("*", "a", True),
    ("*", "a.b", False),
    ("a.*", "a.b", True),
    ("a.*", "a", False),
    ("a.*", "a.b.c", False),
    ("*.b", "a.b", True),
    ("*.*", "a.b", True),
    ("*.*", "a", False),
    ("#", "a", True),
    ("#", "a.b.c.d", True),
    ("a.#", "a", True),  # zero words
    ("a.#", "a.b", True),
    ("a.#", "a.b.c", True),
    ("a.#", "b.a", False),
    ("#.c", "c", True),
    ("#.c", "a.b.c", True),
    ("#.c", "a.b.c.d", False),
    ("a.#.b", "a.b", True),
    ("a.#.b", "a.x.b", True),
    ("a.#.b", "a.x.y.b", True),
    ("a.#.b", "a.x.y", False),
    ("a.#.b", "a.b.c", False),
    ("a.#.b", "a.b.b", True),
    ("#.#", "a", True),
    ("#.*", "a", True),
    ("#.*", "a.b.c", True),
    ("*.#", "a", True),
    ("*.#.*", "a", False),
    ("*.#.*", "a.b", True),
    ("a.*.#.c", "a.b.c", True),
    ("a.*.#.c", "a.c", False),
    ("#.b.#", "b", True),
    ("#.b.#", "a.b.c", True),
    ("#.b.#", "a.c", False),
    ("service.appointment.*", "service.appointment.booked", True),
    ("service.#", "service", True),
    ("sales.*.created", "sales.lead.created", True),
    ("sales.*.created", "sales.lead.web.created", False),
]


@pytest.mark.parametrize(("pattern", "topic", "expected"), MATCHING)
def test_amqp_matching(pattern: str, topic: str, expected: bool) -> None:
    assert matches(pattern, topic) is expected


def test_many_hashes_do_not_explode() -> None:
    pattern = ".".join(["#"] * 30 + ["z"])
    topic = ".".join(["a"] * 60)
    assert not matches(pattern, topic)
    assert matches(pattern, topic + ".z")


@pytest.mark.parametrize(
    "topic", ["", ".", "a.", ".a", "a..b", "a b", "a.*", "a.#", "é", "a/b", "x" * 256, None, 7]
)
def test_bad_topics_are_clear_errors(topic: object) -> None:
    with pytest.raises(ServiceError) as info:
        validate_topic(topic)
    assert info.value.code is ErrorCode.INVALID_INPUT
    assert "topic" in info.value.message


def test_good_topics_and_patterns() -> None:
    assert validate_topic("service.appointment-reminder.sent_2") == (
        "service.appointment-reminder.sent_2"
    )
    for pattern in ("#", "*", "a.*.#", "a.#.b", "sales.lead"):
        assert validate_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", ["", "a.*b", "a.##", "a..#", "#.", "a.b c"])
def test_bad_patterns(pattern: str) -> None:
    with pytest.raises(ServiceError) as info:
        validate_pattern(pattern)
    assert info.value.code is ErrorCode.INVALID_INPUT


def test_queue_names() -> None:
    assert validate_queue_name("orders.#") == "orders.#"
    for bad in ("", "a b", "x" * 201, "naïve", None):
        with pytest.raises(ServiceError):
            validate_queue_name(bad)
