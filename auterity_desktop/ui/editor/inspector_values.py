"""Text ↔ value rules of the inspector's editors, and what to say about a value.

Kept free of widgets so the rules — what a number field accepts, when JSON text is an
expression, how an expression error points at its character, how a preview reads — are
plain functions that tests (and other editors) can use without building a form.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from auterity_desktop.services.workflows.expressions import (
    ExpressionError,
    check_syntax,
    is_template,
    render,
)

MAX_PREVIEW = 300  # characters of a preview line; the tooltip has more
MAX_TOOLTIP = 4000
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)  # the same pattern the expression module uses
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_WORDS = {"id": "ID", "url": "URL", "http": "HTTP", "json": "JSON", "api": "API"}


@dataclass(frozen=True)
class Parsed:
    """What an editor's text means: a value, or why the text cannot become one.

    A value that breaks a rule (out of range, wrong type) is still a value — the document
    may be saved with problems. Only text that is no value at all (bad JSON, "abc" in a
    number field) has ``error`` and is never emitted.
    """

    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class ExpressionIssue:
    """A syntax error of a ``{{ }}`` expression; ``position`` is an index into the editor's
    text when it can be known (a string parameter), so the field can put the cursor there."""

    message: str
    position: int | None = None


@dataclass(frozen=True)
class Preview:
    """The value an expression field had in the last run, or why it could not be worked out."""

    text: str
    tooltip: str
    value: Any = None
    failed: bool = False

    @property
    def is_container(self) -> bool:
        return not self.failed and isinstance(self.value, dict | list) and bool(self.value)


def param_label(name: str) -> str:
    """``timeout_hours`` → ``Timeout hours``, ``workflow_id`` → ``Workflow ID``."""
    words = [_WORDS.get(w, w) for w in name.replace("-", "_").split("_") if w]
    if not words:
        return name
    first = words[0]
    words[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def with_mnemonic(text: str, used: set[str]) -> str:
    """``text`` with ``&`` before a letter no other label of the form uses yet.

    Word starts are preferred (Alt+K for "Keep input"); a label whose letters are all taken
    gets no mnemonic rather than a duplicate, which would make Alt+letter cycle."""
    text = text.replace("&", "&&")
    candidates = [i for i, c in enumerate(text) if c.isalnum() and (i == 0 or text[i - 1] == " ")]
    candidates += [i for i, c in enumerate(text) if c.isalnum() and i not in candidates]
    for i in candidates:
        letter = text[i].lower()
        if letter not in used and text[i - 1 : i] != "&":
            used.add(letter)
            return text[:i] + "&" + text[i:]
    return text


def has_template(value: Any) -> bool:
    """Whether a value holds an expression anywhere (a JSON object may hold several)."""
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return is_template(value)


def same_value(a: Any, b: Any) -> bool:
    """Equality that tells ``True`` from ``1`` and ``"1"`` from ``1`` (Python's ``==`` does
    not), so a type change is an edit; ``1`` and ``1.0`` are the same number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def is_unset(value: Any) -> bool:
    """Validation treats a missing parameter and an empty string alike."""
    return value is None or value == ""


# -- text of each editor kind ------------------------------------------------------------
def format_json(value: Any) -> str:
    """JSON editor text: an expression as written, anything else as indented JSON."""
    if value is None:
        return ""
    if is_template(value):
        return str(value)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def parse_json(text: str, type_name: str) -> Parsed:
    """JSON editor text → value. Text starting with ``{{`` is an expression: no JSON text
    can start that way, so the two never collide."""
    stripped = text.strip()
    if not stripped:
        return Parsed(None)
    if stripped.startswith("{{"):
        return Parsed(stripped)
    try:
        return Parsed(json.loads(stripped))
    except json.JSONDecodeError as exc:
        hint = ' (text goes in "quotes")' if type_name == "any" else ""
        return Parsed(
            error=f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}{hint}"
        )
    except RecursionError:
        return Parsed(error="Not valid JSON: nested too deeply")


def format_number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 120.0 reads as 120; it parses back to the same number
    return json.dumps(value, ensure_ascii=False, default=str)


def parse_number(text: str, integer: bool, expression: bool) -> Parsed:
    """Number field text → ``int``/``float``, an expression string, or an error.

    An integer field takes ``3.0`` as ``3``; ``2.5`` stays a float so the form can say
    "must be an integer" instead of silently rounding."""
    stripped = text.strip()
    if not stripped:
        return Parsed(None)
    if "{{" in stripped:
        return Parsed(stripped)
    if _INTEGER.fullmatch(stripped):
        return Parsed(int(stripped))
    if _NUMBER.fullmatch(stripped):
        number = float(stripped)
        if not math.isfinite(number):
            return Parsed(error="Too large a number")
        return Parsed(int(number) if integer and number.is_integer() else number)
    kind = "a whole number" if integer else "a number"
    return Parsed(error=f"Enter {kind}" + (" or an expression in {{ }}" if expression else ""))


def format_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def parse_string(text: str) -> Parsed:
    return Parsed(text if text != "" else None)


# -- expressions -------------------------------------------------------------------------
def expression_issues(value: Any) -> list[ExpressionIssue]:
    """The syntax errors of every expression in ``value`` (from ``check_syntax``).

    The expression module reports positions inside one ``{{ }}``; for a string value the
    position is turned into one in the whole text, which is what the user sees."""
    issues: list[ExpressionIssue] = []
    for error in check_syntax(value):
        position = _absolute_position(value, error) if isinstance(value, str) else None
        if position is not None:
            issues.append(ExpressionIssue(f"{error.reason} at character {position + 1}", position))
        else:
            expression = str(error.details.get("expression", "")).strip()
            issues.append(
                ExpressionIssue(
                    f"{error.reason} (character {error.position + 1} of “{expression[:60]}”)"
                )
            )
    return issues


def _absolute_position(text: str, error: ExpressionError) -> int | None:
    expression = error.details.get("expression")
    if expression == text[:500] and error.reason.startswith("unbalanced"):
        return error.position
    for match in _TEMPLATE.finditer(text):
        if match.group(1)[:500] == expression:
            return match.start(1) + error.position
    return None


def preview(value: Any, context: Any) -> Preview:
    """``value`` rendered against the last run's expression context.

    Rendering runs only the expression language (no Python ``eval``); any other failure is
    shown too rather than allowed to break the form, since the context is old run data."""
    try:
        result = render(value, context)
    except ExpressionError as exc:
        return Preview(f"→ {exc.reason}", exc.message[:MAX_TOOLTIP], failed=True)
    except Exception as exc:  # defensive: a preview must never take the inspector down
        return Preview(f"→ {type(exc).__name__}: {exc}", str(exc)[:MAX_TOOLTIP], failed=True)
    return Preview(f"→ {one_line(result)}", pretty(result)[:MAX_TOOLTIP], result)


def one_line(value: Any) -> str:
    """A value on one line, as JSON (so ``"7"`` and ``7`` look different), shortened."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_PREVIEW else text[: MAX_PREVIEW - 1] + "…"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
