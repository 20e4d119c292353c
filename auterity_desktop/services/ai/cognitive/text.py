"""Text helpers shared by the cognitive engine's analysers: input checks, normalising,
tokenising, a light stemmer and the stop-word list.

Everything here is pure and deterministic, so intent models, sentiment and summaries give
the same answer for the same text on every machine and after every restart.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError

# A long customer e-mail thread is ~20,000 characters; 200,000 leaves room for pasted
# documents while keeping the regex passes and sentence graphs well under a second.
MAX_TEXT_CHARS = 200_000

# Typographic variants customers paste from phones and word processors.
_PUNCT_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
    }
)

# Words with apostrophes stay one token ("don't", "o'clock"); numbers keep inner separators
# ("1,299.99", "14:30") so features see the value as one thing.
_TOKEN = re.compile(r"\d+(?:[.,:/]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)

STOP_WORDS = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
    "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
    "just", "me", "more", "most", "my", "myself", "of", "off", "on", "once", "only", "or",
    "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "also",
    "hi", "hello", "hey", "dear", "thanks", "thank", "regards", "please", "im", "i'm", "it's",
    "let's",
])  # fmt: skip


def invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


def rule(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.VALIDATION_ERROR, message, details)


def too_large(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, message, details)


def check_text(value: Any, field: str = "text", limit: int = MAX_TEXT_CHARS) -> str:
    """The text an analyser may work on, or a ServiceError that says what is wrong.

    Non-strings are INVALID_INPUT, blank text VALIDATION_ERROR and text over ``limit``
    characters PAYLOAD_TOO_LARGE — so a workflow node can tell a wiring bug from an empty
    e-mail from a pasted attachment."""
    if not isinstance(value, str):
        raise invalid(
            f"{field} must be a string, not {type(value).__name__}",
            field=field,
            type=type(value).__name__,
        )
    if len(value) > limit:
        raise ServiceError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"{field} has {len(value):,} characters; the limit is {limit:,}",
            {"field": field, "length": len(value), "limit": limit},
        )
    if "\x00" in value:
        raise invalid(f"{field} contains NUL characters", field=field)
    if not value.strip():
        raise rule(f"{field} is empty", field=field)
    return value


def clean(text: str) -> str:
    """Unify quotes, dashes and spaces without changing the length, so character offsets
    found on the cleaned text are offsets into the original."""
    return text.translate(_PUNCT_MAP)


def normalise(text: str) -> str:
    """Case-folded NFKC text with unified punctuation and single spaces (for matching)."""
    text = unicodedata.normalize("NFKC", clean(text)).casefold()
    return " ".join(text.split())


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """Lower-case word and number tokens of ``text``."""
    return _TOKEN.findall(normalise(text))


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Tokens of ``text`` as it is written (case kept) with their character offsets."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(clean(text))]


_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ed", "es", "s")


def stem(word: str) -> str:
    """A deliberately light suffix stripper ("booking"/"booked"/"books" → "book",
    "schedule"/"scheduled" → "schedul").

    Tiny training sets rarely contain every inflection of a word; folding the common
    English ones lets one example cover them. It never shortens a word below three
    letters, so short words and abbreviations stay themselves."""
    if len(word) < 4 or not word.isalpha():
        return word
    base = word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                base += "y"
            elif suffix == "s" and base.endswith(("s", "u", "i")):
                base = word  # "glass", "bus", "taxi"
            elif (
                suffix in ("ing", "ed")
                and len(base) > 3
                and base[-1] == base[-2]
                and base[-1] not in "lsfz"
            ):
                base = base[:-1]  # "stopped" → "stop"; "called" keeps "call"
            break
    if base.endswith("e") and len(base) >= 4:
        base = base[:-1]
    return base


def content_words(text: str) -> list[str]:
    """Stemmed tokens without stop words or bare numbers (for sentence similarity)."""
    return [stem(t) for t in tokenize(text) if t not in STOP_WORDS and not t[0].isdigit()]
