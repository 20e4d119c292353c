"""Intent classification that learns from a handful of labelled examples per intent.

Why this method: with 3–10 examples per intent there is too little data to fit many
weights, and customers misspell, abbreviate and inflect words the examples never used. So
every text becomes a TF-IDF vector (sublinear term frequency, smoothed IDF) of

- word unigrams and bigrams over lightly stemmed tokens (numbers folded to ``#``),
- dealership *concepts* (``resources/ai/automotive_concepts.json``: "rotors" and "a
  coolant flush" are both service or part vocabulary), so one example about brakes also
  covers a message about rotors,
- a negative-tone feature from the sentiment analyser (a complaint about a repair and a
  repair booking share their words, not their tone),
- character 3–5-grams inside word boundaries (typos and inflections still match),

the word-level block and the character block L2-normalised each and weighted 3:1, and an
intent is the normalised centroid of its examples (Rocchio / nearest centroid). In
leave-one-out on the shipped set it matched or beat multinomial logistic regression on the
same features, it needs no iterative fitting and trains in milliseconds — so intent sets are
stored as their examples and retrained on load, never as opaque weights.

Confidence is a softmax over the cosine similarities (temperature ``TEMPERATURE``) in
which an *out-of-scope* option competes with the intents, at similarity ``OUT_OF_SCOPE``
(``OUT_OF_SCOPE_OFF_DOMAIN`` for a text without any dealership vocabulary when the set's
own examples use it): a text that resembles no intent puts most of the mass there, so its
best intent's probability falls under the confidence floor and the answer is ``unknown``.

The constants were chosen on a development set and by leave-one-out on the shipped
examples; the held-out figures are in ``tests/services/ai/cognitive/test_intent.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from auterity_desktop.services.ai.cognitive.sentiment import analyse
from auterity_desktop.services.ai.cognitive.text import (
    MAX_TEXT_CHARS,
    check_text,
    invalid,
    normalise,
    rule,
    stem,
    tokenize,
    too_large,
)

UNKNOWN = "unknown"
TEMPERATURE = 0.1
OUT_OF_SCOPE = 0.12  # cosine similarity at which "none of these" is as likely as an intent
# ... for a text without any dealership vocabulary, when the set's examples have it
OUT_OF_SCOPE_OFF_DOMAIN = 0.25
DOMAIN_SHARE = 0.8  # share of a set's examples with dealership vocabulary to count as such
DEFAULT_FLOOR = 0.15  # below this probability the best intent is reported as unknown
CHAR_NGRAMS = (3, 5)
# Word-level features count three times the character n-grams: n-grams make typos and
# inflections match, words decide (leave-one-out on the shipped set: 0.59 at 1:1, 0.69 at 3:1).
BLOCK_WEIGHTS = (3.0, 1.0)
NEGATIVE_TONE = -0.3  # sentiment score at or below which a text gets the negative-tone feature
# Only the beginning of a long text decides its intent (an e-mail states its purpose
# early); it also bounds the work per call.
MAX_CLASSIFY_CHARS = 5_000

# Training limits: small enough that training stays well under a second.
MAX_INTENTS = 100
MAX_EXAMPLES_PER_INTENT = 200
MAX_EXAMPLES = 2_000
MAX_EXAMPLE_CHARS = 1_000
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class IntentResult:
    """``intent`` is one of the set's intents or ``"unknown"``; ``confidence`` is the best
    intent's probability; ``scores`` maps every intent to its probability (they sum to at
    most 1 — the rest is the out-of-scope mass); ``via`` is ``"local"`` or the AI
    deployment that answered."""

    intent: str
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    via: str = "local"

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "scores": dict(self.scores),
            "via": self.via,
        }


# -- concepts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConceptLexicon:
    """Phrases (as token tuples) grouped into named concepts, indexed by first token."""

    index: Mapping[str, tuple[tuple[tuple[str, ...], str], ...]]

    @classmethod
    def from_mapping(cls, concepts: Mapping[str, Iterable[str]]) -> ConceptLexicon:
        index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for name, phrases in concepts.items():
            if name.startswith("_"):
                continue
            for phrase in phrases:
                tokens = tuple(tokenize(phrase))
                if tokens:
                    index.setdefault(tokens[0], []).append((tokens, name))
        return cls({k: tuple(sorted(v, key=lambda p: -len(p[0]))) for k, v in index.items()})

    def concepts(self, tokens: Sequence[str]) -> Counter[str]:
        found: Counter[str] = Counter()
        for i, token in enumerate(tokens):
            for phrase, name in self.index.get(token, ()):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    found[name] += 1
        return found


@cache
def automotive_concepts() -> ConceptLexicon:
    raw = (
        resources.files("auterity_desktop.resources")
        .joinpath("ai", "automotive_concepts.json")
        .read_text(encoding="utf-8")
    )
    data = json.loads(raw)
    return ConceptLexicon.from_mapping({k: v for k, v in data.items() if isinstance(v, list)})


# -- features --------------------------------------------------------------------------------
def raw_features(text: str, concepts: ConceptLexicon | None) -> tuple[Counter[str], Counter[str]]:
    """Counts of the word-level features (unigrams, bigrams, concepts, negative tone) and
    of the character n-grams of ``text``."""
    text = text[:MAX_CLASSIFY_CHARS]
    tokens = tokenize(text)
    words = ["#" if t[0].isdigit() else stem(t) for t in tokens]
    word_counts: Counter[str] = Counter("w|" + w for w in words)
    word_counts.update(f"b|{a} {b}" for a, b in itertools.pairwise(words))
    if concepts is not None:
        word_counts.update({"k|" + name: n for name, n in concepts.concepts(tokens).items()})
    # Tone separates intents that share words: a complaint about a repair and a repair
    # booking both talk about brakes, only one of them is angry.
    tone = analyse(text).score
    if tone <= NEGATIVE_TONE:
        word_counts["s|negative"] = 2 if tone <= 2 * NEGATIVE_TONE else 1
    char_counts: Counter[str] = Counter()
    low, high = CHAR_NGRAMS
    for token in tokens:
        padded = " " + "".join("0" if c.isdigit() else c for c in token) + " "
        for n in range(low, high + 1):
            for i in range(len(padded) - n + 1):
                char_counts["c|" + padded[i : i + n]] += 1
    return word_counts, char_counts


@dataclass(frozen=True)
class Vectoriser:
    """A fitted vocabulary with inverse document frequencies."""

    vocabulary: Mapping[str, int]
    idf: FloatArray
    concepts: ConceptLexicon | None

    @classmethod
    def fit(cls, texts: Sequence[str], concepts: ConceptLexicon | None) -> Vectoriser:
        df: Counter[str] = Counter()
        for text in texts:
            words, chars = raw_features(text, concepts)
            df.update(set(words) | set(chars))
        names = sorted(df)
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in names], dtype=np.float32)
        return cls({f: i for i, f in enumerate(names)}, idf, concepts)

    def transform(self, text: str) -> tuple[IntArray, FloatArray]:
        """The sparse unit vector of ``text`` (indices, values); empty when none of its
        features was seen in training."""
        columns: list[int] = []
        values: list[float] = []
        blocks = raw_features(text, self.concepts)
        for weight, block in zip(BLOCK_WEIGHTS, blocks, strict=True):
            idx = [self.vocabulary[f] for f in block if f in self.vocabulary]
            if not idx:
                continue
            counts = np.array([block[f] for f in block if f in self.vocabulary], np.float32)
            weights = (1.0 + np.log(counts)) * self.idf[idx]
            weights *= weight / float(np.linalg.norm(weights))
            columns.extend(idx)
            values.extend(weights.tolist())
        vector = np.array(values, dtype=np.float32)
        norm = float(np.linalg.norm(vector)) if values else 0.0
        if norm > 0:
            vector /= norm
        return np.array(columns, dtype=np.int64), vector

    def dense(self, text: str) -> FloatArray:
        out = np.zeros(len(self.vocabulary), dtype=np.float32)
        idx, vals = self.transform(text)
        np.add.at(out, idx, vals)
        return out


# -- the model -------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntentModel:
    """Normalised intent centroids over a fitted vectoriser."""

    intents: tuple[str, ...]
    vectoriser: Vectoriser
    centroids: FloatArray  # intents × features, unit rows
    examples: int
    domain: bool = False  # the examples use dealership vocabulary (see OUT_OF_SCOPE_OFF_DOMAIN)

    @classmethod
    def train(
        cls,
        examples: Mapping[str, Sequence[str]],
        concepts: ConceptLexicon | None = None,
    ) -> IntentModel:
        """Fit on checked examples (see ``check_examples``)."""
        intents = tuple(examples)
        texts = [t for name in intents for t in examples[name]]
        vectoriser = Vectoriser.fit(texts, concepts)
        domain = concepts is not None and (
            sum(1 for t in texts if concepts.concepts(tokenize(t))) >= DOMAIN_SHARE * len(texts)
        )
        centroids = np.zeros((len(intents), len(vectoriser.vocabulary)), dtype=np.float32)
        for row, name in enumerate(intents):
            for text in examples[name]:
                idx, vals = vectoriser.transform(text)
                np.add.at(centroids[row], idx, vals)
            norm = float(np.linalg.norm(centroids[row]))
            if norm > 0:
                centroids[row] /= norm
        return cls(intents, vectoriser, centroids, len(texts), domain)

    def similarities(self, text: str) -> FloatArray:
        idx, vals = self.vectoriser.transform(text)
        if idx.size == 0:
            return np.zeros(len(self.intents), dtype=np.float32)
        result: FloatArray = self.centroids[:, idx] @ vals
        return result

    def out_of_scope(self, text: str) -> float:
        """The similarity the out-of-scope option gets for ``text``: higher for a text
        without dealership vocabulary when the set's own examples have it."""
        concepts = self.vectoriser.concepts
        if self.domain and concepts is not None and not concepts.concepts(tokenize(text)):
            return OUT_OF_SCOPE_OFF_DOMAIN
        return OUT_OF_SCOPE

    def classify(self, text: str, floor: float = DEFAULT_FLOOR) -> IntentResult:
        sims = self.similarities(text).astype(np.float64)
        logits = np.append(sims, self.out_of_scope(text[:MAX_CLASSIFY_CHARS])) / TEMPERATURE
        logits -= logits.max()
        probs = np.exp(logits)
        probs /= probs.sum()
        scores = {name: round(float(p), 6) for name, p in zip(self.intents, probs, strict=False)}
        best = int(np.argmax(probs[:-1]))
        confidence = float(probs[best])
        intent = self.intents[best]
        if confidence < floor or probs[-1] >= probs[best]:
            intent = UNKNOWN
        return IntentResult(intent, round(confidence, 6), scores)


# -- checking examples ----------------------------------------------------------------------
def check_intent_name(value: Any, field: str = "intent") -> str:
    if not isinstance(value, str):
        raise invalid(f"{field} names must be strings", field=field)
    if not INTENT_NAME.match(value):
        raise rule(
            f"{field} name {value[:80]!r} must be 1–64 lower-case letters, digits or _, "
            "starting with a letter",
            field=field,
            name=value[:80],
        )
    if value == UNKNOWN:
        raise rule(f"{UNKNOWN!r} is reserved for texts that match no intent", field=field)
    return value


def check_examples(examples: Any) -> dict[str, list[str]]:
    """Validate a ``{intent: [example, ...]}`` mapping and return it cleaned: examples
    stripped, duplicates within an intent dropped. An example given for two intents is an
    error — the model cannot learn a contradiction, and the user should decide."""
    if not isinstance(examples, Mapping):
        raise invalid(
            "examples must be an object of intent names to lists of example texts",
            field="examples",
            type=type(examples).__name__,
        )
    if len(examples) < 2:
        raise rule(
            f"An intent set needs at least 2 intents; {len(examples)} given",
            field="examples",
            intents=len(examples),
        )
    if len(examples) > MAX_INTENTS:
        raise too_large(
            f"An intent set may have at most {MAX_INTENTS} intents", intents=len(examples)
        )
    cleaned: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    total = 0
    for name, texts in examples.items():
        name = check_intent_name(name)
        if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
            raise invalid(f"The examples of {name!r} must be a list of texts", intent=name)
        if not texts:
            raise rule(f"Intent {name!r} has no examples", intent=name)
        if len(texts) > MAX_EXAMPLES_PER_INTENT:
            raise too_large(
                f"Intent {name!r} has {len(texts)} examples; the limit is "
                f"{MAX_EXAMPLES_PER_INTENT}",
                intent=name,
                examples=len(texts),
            )
        kept: list[str] = []
        for position, text in enumerate(texts):
            text = check_text(text, f"example {position + 1} of {name}", MAX_EXAMPLE_CHARS)
            key = normalise(text)
            if not tokenize(text):
                raise rule(
                    f"Example {position + 1} of {name!r} has no words", intent=name, index=position
                )
            other = owner.get(key)
            if other == name:
                continue
            if other is not None:
                raise rule(
                    f"The example {text[:80]!r} is given for both {other!r} and {name!r}",
                    intents=[other, name],
                    example=text[:200],
                )
            owner[key] = name
            kept.append(text.strip())
        cleaned[name] = kept
        total += len(kept)
    if total > MAX_EXAMPLES:
        raise too_large(
            f"An intent set may have at most {MAX_EXAMPLES} examples; {total} given",
            examples=total,
        )
    return cleaned


# -- built-in sets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BuiltinSet:
    name: str
    description: str
    examples: dict[str, list[str]]
    descriptions: dict[str, str]


@cache
def builtin_sets() -> dict[str, BuiltinSet]:
    """The intent sets shipped in ``resources/ai/intents_*.json``."""
    folder = resources.files("auterity_desktop.resources").joinpath("ai")
    found: dict[str, BuiltinSet] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not (entry.name.startswith("intents_") and entry.name.endswith(".json")):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        intents = data["intents"]
        examples = check_examples({k: v["examples"] for k, v in intents.items()})
        found[data["name"]] = BuiltinSet(
            data["name"],
            data.get("description", ""),
            examples,
            {k: v.get("description", "") for k, v in intents.items()},
        )
    return found


__all__ = [
    "DEFAULT_FLOOR",
    "MAX_TEXT_CHARS",
    "UNKNOWN",
    "BuiltinSet",
    "ConceptLexicon",
    "IntentModel",
    "IntentResult",
    "automotive_concepts",
    "builtin_sets",
    "check_examples",
]
