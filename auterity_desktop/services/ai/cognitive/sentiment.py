"""Lexicon-based sentiment for short customer messages (in the spirit of VADER, with our own
compact lexicon in ``resources/ai/sentiment_lexicon.json``).

Why rules and not a model: there is no labelled dealership corpus to train on offline, and
a reviewer can read, and a dealer can extend, a word list. The rules:

- words, phrases ("ripped off", "above and beyond", "no problem") and emoji/emoticons
  carry a valence from -4 to +4; phrases win over their words;
- a booster within three words before ("very", "extremely") scales a valence up, a
  dampener ("a bit", "kind of", "I guess") down; an ALL-CAPS sentiment word in a message
  that is not all caps counts more;
- a negation within three words before ("not", "never", "didn't", "without", "no")
  flips and weakens it (×-0.74): "not bad" is mildly positive;
- in a sentence with "but" or "however", what comes after counts 1.5×, what comes before
  0.5× ("friendly staff but the repair took way too long" is negative);
- exclamation marks (up to four) push the total further in its direction;
- the sum ``s`` becomes the compound score ``s / sqrt(s² + 15)`` in [-1, 1]; at 0.05 or
  more it is positive, at -0.05 or less negative, otherwise neutral.

Negation and boosters never reach across a sentence or a comma clause boundary.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from auterity_desktop.services.ai.cognitive.text import clean

POSITIVE = "positive"
NEGATIVE = "negative"
NEUTRAL = "neutral"
LABELS = (POSITIVE, NEGATIVE, NEUTRAL)
THRESHOLD = 0.05
NEGATION_FACTOR = -0.74
CAPS_BOOST = 0.733
EXCLAMATION_BOOST = 0.292
QUESTION_BOOST = 0.18
CONTRAST_BEFORE = 0.5
CONTRAST_AFTER = 1.5
ALPHA = 15.0
SCOPE = 3  # words before a sentiment word that boosters and negations reach
CONTRAST = frozenset({"but", "however"})

_TOKEN = re.compile(
    r"(?P<emoticon>(?<![\w/])(?:>:\(|:'\(|[:;]-?[)(\]\[dDpP/|]|<3|xD)(?![\w]))"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)"
    r"|(?P<num>\d+(?:[.,:]\d+)*)"
    r"|(?P<excl>!)"
    r"|(?P<question>\?)"
    r"|(?P<stop>[.;\n]|\.\.\.)"
    r"|(?P<comma>,)"
    r"|(?P<emoji>[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2764\u2665]\ufe0f?)"
)


@dataclass(frozen=True)
class SentimentResult:
    """``label`` is positive, negative or neutral; ``score`` the compound score in
    [-1, 1]; ``via`` ``"local"`` or the AI deployment that answered."""

    label: str
    score: float
    via: str = "local"

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score, "via": self.via}


@dataclass(frozen=True)
class Lexicon:
    words: dict[str, float]
    phrases: dict[tuple[str, ...], float]
    boosters: dict[tuple[str, ...], float]
    negations: frozenset[str]
    emoji: dict[str, float]
    longest: int

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Lexicon:
        def key(phrase: str) -> tuple[str, ...]:
            return tuple(t.lower() for t, _ in _tokens(phrase))

        phrases = {key(p): float(v) for p, v in data.get("phrases", {}).items()}
        boosters = {key(p): float(v) for p, v in data.get("boosters", {}).items()}
        longest = max([len(k) for k in (*phrases, *boosters)] or [1])
        return cls(
            words={w.lower(): float(v) for w, v in data.get("words", {}).items()},
            phrases=phrases,
            boosters=boosters,
            negations=frozenset(n.lower() for n in data.get("negations", [])),
            emoji={_strip_vs(e).lower(): float(v) for e, v in data.get("emoji", {}).items()},
            longest=longest,
        )


def _strip_vs(text: str) -> str:
    return text.replace("\ufe0f", "")


def _tokens(text: str) -> list[tuple[str, str]]:
    """(text, kind) pairs; kinds: emoticon, word, num, excl, question, stop, comma, emoji."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(clean(text)):
        kind = m.lastgroup or "word"
        out.append((m.group(), kind))
    return out


@cache
def default_lexicon() -> Lexicon:
    raw = (
        resources.files("auterity_desktop.resources")
        .joinpath("ai", "sentiment_lexicon.json")
        .read_text(encoding="utf-8")
    )
    return Lexicon.from_mapping(json.loads(raw))


@dataclass
class _Unit:
    kind: str  # sentiment, booster, negation, contrast, excl, question, stop, end, word
    value: float = 0.0
    caps: bool = False


def _units(text: str, lexicon: Lexicon) -> list[_Unit]:
    tokens = _tokens(text)
    letters = [c for c in text if c.isalpha()]
    shouting = bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.8
    lower = [t.lower() if kind != "emoji" else _strip_vs(t) for t, kind in tokens]
    units: list[_Unit] = []
    i = 0
    while i < len(tokens):
        raw, kind = tokens[i]
        if kind in ("stop", "comma"):
            units.append(_Unit("end" if kind == "stop" else "stop"))
            i += 1
            continue
        if kind in ("excl", "question"):
            units.append(_Unit(kind))
            units.append(_Unit("end"))
            i += 1
            continue
        if kind in ("emoji", "emoticon"):
            value = lexicon.emoji.get(lower[i])
            if value is not None:
                units.append(_Unit("sentiment", value))
            i += 1
            continue
        matched = False
        for size in range(min(lexicon.longest, len(tokens) - i), 1, -1):
            key = tuple(lower[i : i + size])
            if key in lexicon.phrases:
                units.append(_Unit("sentiment", lexicon.phrases[key]))
            elif key in lexicon.boosters:
                units.append(_Unit("booster", lexicon.boosters[key]))
            else:
                continue
            i += size
            matched = True
            break
        if matched:
            continue
        word = lower[i]
        caps = not shouting and kind == "word" and len(raw) > 1 and raw.isupper()
        if word in CONTRAST:
            units.append(_Unit("contrast"))
        elif word in lexicon.negations or word.endswith("n't"):
            units.append(_Unit("negation"))
        elif (word,) in lexicon.boosters:
            units.append(_Unit("booster", lexicon.boosters[(word,)], caps))
        elif word in lexicon.words:
            units.append(_Unit("sentiment", lexicon.words[word], caps))
        else:
            units.append(_Unit("word"))
        i += 1
    return units


def _sign(value: float) -> float:
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0


def _sentence_scores(sentence: list[_Unit]) -> float:
    values: list[float] = []
    for position, unit in enumerate(sentence):
        if unit.kind != "sentiment":
            values.append(0.0)
            continue
        value = unit.value
        if unit.caps:
            value += _sign(value) * CAPS_BOOST
        negated = False
        scale = 1.0
        for distance, before in enumerate(reversed(sentence[max(0, position - SCOPE) : position])):
            if before.kind in ("stop", "end", "contrast"):
                break
            if before.kind == "booster":
                boost = before.value * (1.0 - 0.05 * distance)
                if before.caps:
                    boost += _sign(boost) * 0.2
                scale += boost
            elif before.kind == "negation":
                negated = True
        value *= max(scale, 0.1)
        if negated:
            value *= NEGATION_FACTOR
        values.append(value)
    contrast = [i for i, u in enumerate(sentence) if u.kind == "contrast"]
    if contrast:
        pivot = contrast[-1]
        values = [
            v * (CONTRAST_BEFORE if i < pivot else CONTRAST_AFTER) for i, v in enumerate(values)
        ]
    return sum(values)


def analyse(text: str, lexicon: Lexicon | None = None) -> SentimentResult:
    """The sentiment of ``text`` (checked by the caller)."""
    units = _units(text, lexicon or default_lexicon())
    # Sentences end at ".", ";", "!", "?" and new lines; commas only end a negation's reach.
    sentences: list[list[_Unit]] = [[]]
    for unit in units:
        if unit.kind == "end":
            sentences.append([])
        else:
            sentences[-1].append(unit)
    total = sum(_sentence_scores(part) for part in sentences)
    exclamations = sum(1 for u in units if u.kind == "excl")
    questions = sum(1 for u in units if u.kind == "question")
    if total:
        total += _sign(total) * EXCLAMATION_BOOST * min(exclamations, 4)
        if questions > 1:
            total += _sign(total) * QUESTION_BOOST * min(questions, 3)
    score = total / math.sqrt(total * total + ALPHA) if total else 0.0
    score = max(-1.0, min(1.0, score))
    label = POSITIVE if score >= THRESHOLD else NEGATIVE if score <= -THRESHOLD else NEUTRAL
    return SentimentResult(label, round(score, 4), "local")
