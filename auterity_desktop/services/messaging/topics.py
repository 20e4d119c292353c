"""Topic names, binding patterns and AMQP topic-exchange matching.

A topic is words separated by dots (``service.appointment.booked``); a word is letters,
digits, ``_`` or ``-``. A pattern is a topic whose words may also be ``*`` (exactly one
word) or ``#`` (zero or more words), as in an AMQP topic exchange: ``service.#`` matches
``service`` and ``service.appointment.booked``; ``*.booked`` matches ``sales.booked`` but
not ``booked``; ``#`` matches everything; ``a.#.b`` matches ``a.b`` and ``a.x.y.b``.

Matching walks the words with memoised positions, so patterns with several ``#`` stay
linear in practice and never backtrack exponentially.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from auterity_desktop.core.errors import ErrorCode, ServiceError

MAX_TOPIC_LENGTH = 255
MAX_QUEUE_NAME_LENGTH = 200
WORD = re.compile(r"^[A-Za-z0-9_-]+$")
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.*#-]+$")
ONE, ANY = "*", "#"


def _invalid(kind: str, value: object, why: str) -> ServiceError:
    return ServiceError(
        ErrorCode.INVALID_INPUT,
        f"{value!r} is not a valid {kind}: {why}",
        {kind: str(value)[:300]},
    )


def _words(kind: str, value: object, wildcards: bool) -> list[str]:
    if not isinstance(value, str) or not value:
        raise _invalid(kind, value, "it must be a non-empty text")
    if len(value) > MAX_TOPIC_LENGTH:
        raise _invalid(kind, value, f"it is longer than {MAX_TOPIC_LENGTH} characters")
    words = value.split(".")
    for word in words:
        if wildcards and word in (ONE, ANY):
            continue
        if not WORD.match(word):
            allowed = "letters, digits, _ or -" + (", or a lone * or #" if wildcards else "")
            shown = word or "(empty)"
            raise _invalid(
                kind, value, f"the word {shown!r} must be {allowed}, words separated by dots"
            )
    return words


def validate_topic(topic: object) -> str:
    """Return ``topic`` if it is a valid topic name, else raise ``INVALID_INPUT``."""
    if not isinstance(topic, str):
        raise _invalid("topic", topic, "it must be a non-empty text")
    return _valid_topic(topic)


def validate_pattern(pattern: object) -> str:
    """Return ``pattern`` if it is a valid binding pattern, else raise ``INVALID_INPUT``."""
    if not isinstance(pattern, str):
        raise _invalid("pattern", pattern, "it must be a non-empty text")
    return _valid_pattern(pattern)


@lru_cache(maxsize=4096)  # publishers repeat a handful of topics: check each once
def _valid_topic(topic: str) -> str:
    _words("topic", topic, wildcards=False)
    return topic


@lru_cache(maxsize=1024)
def _valid_pattern(pattern: str) -> str:
    _words("pattern", pattern, wildcards=True)
    return pattern


def validate_queue_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise _invalid("queue", name, "it must be a non-empty text")
    if len(name) > MAX_QUEUE_NAME_LENGTH or not QUEUE_NAME.match(name):
        raise _invalid(
            "queue",
            name,
            f"use up to {MAX_QUEUE_NAME_LENGTH} letters, digits and _ - . * #",
        )
    return name


@lru_cache(maxsize=65536)
def matches(pattern: str, topic: str) -> bool:
    """True when ``topic`` is routed to a queue bound with ``pattern`` (AMQP rules)."""
    return _match(tuple(pattern.split(".")), tuple(topic.split(".")))


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    @cache
    def at(p: int, w: int) -> bool:
        if p == len(pattern):
            return w == len(words)
        token = pattern[p]
        if token == ANY:  # zero words here, or one more word and stay on the #
            return at(p + 1, w) or (w < len(words) and at(p, w + 1))
        if w == len(words):
            return False
        return (token == ONE or token == words[w]) and at(p + 1, w + 1)

    return at(0, 0)


DEAD_LETTER_TOPIC = "system.dead_letters"


def dead_letter_topic(queue: str) -> str:
    """The topic dead letters of ``queue`` are announced on: the queue name's words, with
    the wildcard characters a queue name may hold made plain."""
    words = [re.sub(r"[^A-Za-z0-9_-]", "_", w) or "_" for w in queue.split(".")]
    return f"{DEAD_LETTER_TOPIC}.{'.'.join(words)}"[:MAX_TOPIC_LENGTH]
