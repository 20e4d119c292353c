"""Extractive summaries: the most central sentences of a text, in their original order.

Sentences are split at ``.``, ``!``, ``?`` and line breaks — but not after titles and
abbreviations ("Mr.", "Dr.", "e.g.", "approx.", "No. 5"), initials ("J. Smith"), inside
decimals ("1.5 L", "$1,299.99") or before a lower-case word. Each sentence becomes a TF-IDF
vector of its stemmed content words; TextRank (PageRank over the cosine-similarity graph)
scores how much each sentence shares with the rest. Greetings and sign-offs ("Hi John,",
"Best regards,", "Sent from my iPhone") and very short lines are kept out of the summary
unless nothing else is left. Only the first ``MAX_SENTENCES`` sentences are ranked, which
keeps the similarity graph small for a 200,000-character text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auterity_desktop.services.ai.cognitive.text import content_words, invalid

MAX_SENTENCES = 2_000
MAX_TERMS = 4_096
DAMPING = 0.85

# Never end a sentence: titles and abbreviations normally followed by more of it.
_NEVER_FINAL = frozenset([
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "rev", "gen", "col", "capt", "lt",
    "sgt", "vs", "e.g", "i.e", "eg", "ie", "cf", "approx", "appt", "dept", "est", "no", "nr",
    "nos", "tel", "ext", "fig", "vol", "ref", "ca", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thur",
    "thurs", "fri", "sat", "sun", "ave", "blvd", "rd", "hwy", "apt", "ste",
])  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)|\n")
_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening))\b[^.!?\n]{0,40}[,!:]?"
    r"|(?:thanks|thank\s+you|many\s+thanks|best|kind\s+regards|best\s+regards|regards|"
    r"cheers|sincerely|yours\s+truly|sent\s+from\s+my)\b[^.!?\n]{0,40})\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SummaryResult:
    """``sentences`` are the chosen sentences in their original order, ``text`` them
    joined by spaces; ``via`` is ``"local"`` or the AI deployment that answered."""

    text: str
    sentences: list[str] = field(default_factory=list)
    via: str = "local"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "sentences": list(self.sentences), "via": self.via}


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (surrounding blanks trimmed)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        if m.group()[0] in ".!?" and not _ends_sentence(text, m.start(), end):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    trimmed: list[tuple[int, int]] = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b and any(c.isalnum() for c in text[a:b]):
            trimmed.append((a, b))
    return trimmed


def _ends_sentence(text: str, dot: int, after: int) -> bool:
    following = text[after:].lstrip()
    if not following:
        return True
    if text[dot] == ".":
        word = re.search(r"([\w.]+)$", text[max(0, dot - 12) : dot])
        before = word.group(1).lower() if word else ""
        if before in _NEVER_FINAL or before.rstrip(".") in _NEVER_FINAL:
            return False
        if len(before) == 1 and before.isalpha() and text[dot - 1].isupper():
            return False  # an initial: "J. Smith"
        if re.fullmatch(r"(?:[a-z]\.)+[a-z]", before):
            # "a.m." / "U.S." end a sentence only before a capitalised word
            return following[0].isupper()
    first = following[0]
    return first.isupper() or first.isdigit() or first in "\"'([-*•"


def _is_boilerplate(sentence: str) -> bool:
    return bool(_GREETING.match(sentence))


def rank(sentences: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """TextRank scores of ``sentences`` (sum to 1)."""
    count = len(sentences)
    words = [content_words(s) for s in sentences]
    df: Counter[str] = Counter()
    for bag in words:
        df.update(set(bag))
    terms = [t for t, _ in df.most_common(MAX_TERMS)]
    index = {t: i for i, t in enumerate(terms)}
    matrix = np.zeros((count, len(terms)), dtype=np.float32)
    for row, bag in enumerate(words):
        for term, n in Counter(bag).items():
            column = index.get(term)
            if column is not None:
                matrix[row, column] = (1.0 + math.log(n)) * math.log((1 + count) / (1 + df[term]))
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    matrix /= norms[:, None]
    similarity = (matrix @ matrix.T).astype(np.float64)
    np.fill_diagonal(similarity, 0.0)
    out_weight = similarity.sum(axis=1)
    transition = np.divide(
        similarity,
        out_weight[:, None],
        out=np.full_like(similarity, 1.0 / count),
        where=out_weight[:, None] > 0,
    )
    scores = np.full(count, 1.0 / count)
    for _ in range(100):
        updated = (1 - DAMPING) / count + DAMPING * (transition.T @ scores)
        if float(np.abs(updated - scores).sum()) < 1e-9:
            scores = updated
            break
        scores = updated
    total = float(scores.sum())
    result: np.ndarray[Any, np.dtype[np.float64]] = scores / total if total else scores
    return result


def summarise(text: str, sentences: int = 3, ratio: float | None = None) -> SummaryResult:
    """The ``sentences`` (or ``ratio`` of all) most central sentences, in text order."""
    spans = split_sentences(text)[:MAX_SENTENCES]
    parts = [text[a:b] for a, b in spans]
    if ratio is not None:
        sentences = max(1, round(ratio * len(parts)))
    if len(parts) <= sentences:
        return SummaryResult(" ".join(parts), parts)
    scores = rank(parts)
    for i, part in enumerate(parts):
        if _is_boilerplate(part) or len(content_words(part)) < 3:
            scores[i] *= 0.1
    # Ties (identical sentences, texts without shared words) go to the earlier sentence.
    order = sorted(range(len(parts)), key=lambda i: (-round(float(scores[i]), 12), i))
    chosen = sorted(order[:sentences])
    picked = [parts[i] for i in chosen]
    return SummaryResult(" ".join(picked), picked)


def check_length(sentences: Any, ratio: Any) -> tuple[int, float | None]:
    """Validate the requested length: 1–100 sentences, or a ratio in (0, 1]."""
    if isinstance(sentences, bool) or not isinstance(sentences, int) or not 1 <= sentences <= 100:
        raise invalid("sentences must be a whole number from 1 to 100", field="sentences")
    if ratio is not None:
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio <= 1:
            raise invalid("ratio must be a number greater than 0 and at most 1", field="ratio")
        return sentences, float(ratio)
    return sentences, None
