"""The safe expression language of custom metrics, vectorised over pandas columns.

Why a language of our own instead of ``DataFrame.eval``: pandas' ``eval`` accepts attribute
access and falls back to Python for what numexpr cannot do, and a metric typed in the editor
or sent through the REST API must never reach interpreter internals. The text is parsed with
``ast`` and only a whitelist of node types is walked; nothing is ever compiled or executed.
The workflow expression language (``services/workflows/expressions``) is not reused: it
rejects bare names — which are columns here — and evaluates one row of Python values at a
time, where a metric has to run vectorised over millions of rows.

The language: numbers, strings, ``True``/``False``/``None``; columns by name, or in
backticks when the name is not an identifier (`` `labor hours` ``, `` `case:status` ``);
``+ - * / // % **``; comparisons (chains too) and ``in``/``not in`` a literal list;
``and``/``or``/``not``; ``a if condition else b``; the row functions ``abs``, ``round`` and
``coalesce``; and the ``AGGREGATES`` as functions of one argument where aggregating is
allowed. ``datetime - datetime`` is in seconds, and a datetime compared with a string parses
the string as a date. Operators check the kinds of their operands (number, bool, text,
datetime) before pandas sees them, because pandas would happily repeat a string
(``'ab' * 2``) or compare text with a number as all-false.

Every mistake is ``ServiceError(INVALID_INPUT)`` whose details name the metric, the field
and, where one exists, the character position in what the user typed.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError

AGGREGATES = ("sum", "mean", "median", "min", "max", "count", "count_distinct", "p90")
ROW_FUNCTIONS = ("abs", "round", "coalesce")
MAX_EXPRESSION = 1_000
MAX_NODES = 300
MAX_LITERAL = 2**53

_TOKENS = re.compile(r"""(?P<s>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|(?P<tick>`[^`\n]*`)""")
_ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: a / b),
    ast.FloorDiv: ("//", lambda a, b: a // b),
    ast.Mod: ("%", lambda a, b: a % b),
    ast.Pow: ("**", lambda a, b: a**b),
}
_COMPARE: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", lambda a, b: a == b),
    ast.NotEq: ("!=", lambda a, b: a != b),
    ast.Lt: ("<", lambda a, b: a < b),
    ast.LtE: ("<=", lambda a, b: a <= b),
    ast.Gt: (">", lambda a, b: a > b),
    ast.GtE: (">=", lambda a, b: a >= b),
}
_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Name, ast.Load,
    ast.Constant, ast.Call, ast.IfExp, ast.List, ast.Tuple, ast.And, ast.Or, ast.Not,
    ast.USub, ast.UAdd, ast.In, ast.NotIn, *_ARITHMETIC, *_COMPARE,
)  # fmt: skip
_DESCRIBE = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[b])",
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "f-strings",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.Starred: "unpacking (*)",
    ast.Await: "await",
}


def _invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorCode.INVALID_INPUT, message, details)


@dataclass(frozen=True)
class Expression:
    """A checked expression: its tree, the columns it reads, and whether it aggregates."""

    text: str
    tree: ast.expr
    columns: tuple[str, ...]
    aggregated: bool
    quoted: Mapping[str, str]  # placeholder identifier -> backticked column name


class Where:
    """Builds the errors of one expression, all with the same details. ``source`` is the
    text ``ast`` saw: leading blanks removed (``lead`` characters) and backticks swapped."""

    def __init__(self, text: str, metric: str | None, field: str) -> None:
        self.text, self.metric, self.field = text, metric, field
        stripped = text.lstrip() if isinstance(text, str) else ""
        self.lead = len(text) - len(stripped) if isinstance(text, str) else 0
        self.source, self.quoted = _unquote_columns(stripped)
        self._lines = self.source.splitlines(keepends=True)
        self._starts = [0]
        for line in self._lines:
            self._starts.append(self._starts[-1] + len(line))

    def offset(self, lineno: int, column: int) -> int:
        """Characters from the start of what the user typed to (line, character column)."""
        row = min(max(lineno, 1), len(self._starts)) - 1
        return self.lead + self._starts[row] + max(column, 0)

    def position(self, node: ast.AST) -> int | None:
        lineno, col = getattr(node, "lineno", None), getattr(node, "col_offset", None)
        if lineno is None or col is None or lineno > len(self._lines):
            return None
        line = self._lines[lineno - 1].encode()[:col]  # ast columns count UTF-8 bytes
        return self.offset(lineno, len(line.decode(errors="ignore")))

    def error(self, message: str, at: ast.AST | int | None = None, **extra: Any) -> ServiceError:
        position = at if isinstance(at, int) or at is None else self.position(at)
        label = f"metric {self.metric!r} " if self.metric else ""
        where = f" (at position {position})" if position is not None else ""
        text = self.text if isinstance(self.text, str) else ""
        shown = f" `{text[:80]}`" if text.strip() else ""
        return _invalid(
            f"{label}{self.field}{shown}: {message}{where}",
            metric=self.metric,
            field=self.field,
            expression=text[:500],
            position=position,
            reason=message,
            **extra,
        )


def _unquote_columns(text: str) -> tuple[str, dict[str, str]]:
    """Replace each backticked column by a same-length placeholder identifier, so the text
    becomes Python and ``ast`` positions still point into what the user typed."""
    quoted: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        if match.group("tick") is None:
            return match.group(0)
        width = len(match.group("tick"))
        placeholder = f"__{len(quoted)}"
        placeholder += "_" * max(0, width - len(placeholder))
        quoted[placeholder] = match.group("tick")[1:-1]
        return placeholder

    return _TOKENS.sub(swap, text), quoted


def parse_expression(
    text: str,
    columns: Collection[str] | None = None,
    *,
    metric: str | None = None,
    field: str = "expression",
    allow_aggregates: bool = True,
) -> Expression:
    """Parse and check ``text``; with ``columns``, every name must be one of them."""
    where = Where(text, metric, field)
    if not isinstance(text, str) or not text.strip():
        raise where.error("the expression is empty")
    if len(text) > MAX_EXPRESSION:
        error = where.error(f"the expression is longer than {MAX_EXPRESSION} characters")
        raise ServiceError(ErrorCode.PAYLOAD_TOO_LARGE, error.message, error.details)
    try:
        tree = ast.parse(where.source, mode="eval")
    except SyntaxError as exc:
        if not exc.offset:  # Python reports an early end of input at offset 0
            raise where.error(f"syntax error: {exc.msg}", len(text.rstrip())) from None
        position = where.offset(exc.lineno or 1, exc.offset - 1)
        raise where.error(f"syntax error: {exc.msg}", position) from None
    except (RecursionError, MemoryError, ValueError):
        raise where.error("the expression is nested too deeply or malformed", 0) from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise where.error(f"the expression has more than {MAX_NODES} parts", 0)
    checker = _Checker(where, columns, where.quoted, allow_aggregates)
    checker.check(tree.body, inside_aggregate=False)
    if checker.aggregated and checker.bare_column is not None:
        raise where.error(
            "mixes aggregates with a bare column; wrap every column in an aggregate, "
            "for example sum(x) / sum(y)",
            checker.bare_column,
        )
    return Expression(
        text=text,
        tree=tree.body,
        columns=tuple(dict.fromkeys(checker.columns)),
        aggregated=checker.aggregated,
        quoted=where.quoted,
    )


class _Checker:
    """Walks a parsed tree and refuses anything outside the whitelist, by position."""

    def __init__(
        self,
        where: Where,
        columns: Collection[str] | None,
        quoted: Mapping[str, str],
        allow_aggregates: bool,
    ) -> None:
        self.where = where
        self.known = None if columns is None else {str(c) for c in columns}
        self.quoted = quoted
        self.allow_aggregates = allow_aggregates
        self.columns: list[str] = []
        self.aggregated = False
        self.bare_column: ast.AST | None = None

    def check(self, node: ast.AST, inside_aggregate: bool) -> None:
        if not isinstance(node, _ALLOWED):
            what = _DESCRIBE.get(type(node), type(node).__name__)
            raise self.where.error(f"{what} is not allowed", node)
        if isinstance(node, ast.Name):
            self._name(node, inside_aggregate)
        elif isinstance(node, ast.Constant):
            self._constant(node)
        elif isinstance(node, ast.Call):
            self._call(node, inside_aggregate)
            return
        elif isinstance(node, ast.List | ast.Tuple):
            raise self.where.error("a list is only allowed after `in` or `not in`", node)
        elif isinstance(node, ast.Compare):
            self._compare(node, inside_aggregate)
            return
        for child in ast.iter_child_nodes(node):
            self.check(child, inside_aggregate)

    def _name(self, node: ast.Name, inside_aggregate: bool) -> None:
        name = self.quoted.get(node.id)
        if name is None:
            if node.id.startswith("__"):
                raise self.where.error(f"names starting with '__' are not allowed: {node.id}", node)
            if node.id in AGGREGATES or node.id in ROW_FUNCTIONS:
                raise self.where.error(f"{node.id} is a function; call it as {node.id}(…)", node)
            name = node.id
        if self.known is not None and name not in self.known:
            close = difflib.get_close_matches(name, sorted(self.known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.where.error(f"unknown column {name!r}{hint}", node, column=name)
        self.columns.append(name)
        if not inside_aggregate and self.bare_column is None:
            self.bare_column = node

    def _constant(self, node: ast.Constant) -> None:
        value = node.value
        if value is None or isinstance(value, bool | str):
            return
        if isinstance(value, int | float) and not isinstance(value, complex):
            if isinstance(value, int) and abs(value) > MAX_LITERAL:
                raise self.where.error(f"the number is larger than {MAX_LITERAL}", node)
            return
        raise self.where.error(f"{type(value).__name__} literals are not allowed", node)

    def _call(self, node: ast.Call, inside_aggregate: bool) -> None:
        if not isinstance(node.func, ast.Name):
            raise self.where.error("only the built-in functions can be called", node)
        name = node.func.id
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.where.error(f"{name}() takes plain arguments only", node)
        if name in AGGREGATES:
            if not self.allow_aggregates:
                raise self.where.error(f"the aggregate {name}() is not allowed here", node)
            if inside_aggregate:
                raise self.where.error(f"aggregates cannot be nested ({name} inside another)", node)
            if len(node.args) != 1:
                raise self.where.error(f"{name}() takes exactly one argument", node)
            self.aggregated = True
            self.check(node.args[0], inside_aggregate=True)
            return
        arity = {"abs": (1, 1), "round": (1, 2), "coalesce": (2, 2)}.get(name)
        if arity is None:
            known = ", ".join((*ROW_FUNCTIONS, *AGGREGATES))
            raise self.where.error(f"unknown function {name!r}; use one of {known}", node)
        if not arity[0] <= len(node.args) <= arity[1]:
            raise self.where.error(f"{name}() takes {arity[0]} to {arity[1]} arguments", node)
        if name == "round" and len(node.args) == 2:
            digits = node.args[1]
            if not (isinstance(digits, ast.Constant) and type(digits.value) is int):
                raise self.where.error("round()'s digits must be a whole number", digits)
            if not 0 <= digits.value <= 12:
                raise self.where.error("round()'s digits must be from 0 to 12", digits)
        for arg in node.args:
            self.check(arg, inside_aggregate)

    def _compare(self, node: ast.Compare, inside_aggregate: bool) -> None:
        self.check(node.left, inside_aggregate)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.List | ast.Tuple):
                    raise self.where.error("`in` needs a literal list such as [1, 2]", right)
                for item in right.elts:
                    if not isinstance(item, ast.Constant):
                        raise self.where.error("list items must be literals", item)
                    self._constant(item)
            elif not isinstance(op, tuple(_COMPARE)):
                raise self.where.error(f"{type(op).__name__} is not allowed", node)
            else:
                self.check(right, inside_aggregate)


# -- evaluation --------------------------------------------------------------------------------
def kind_of(value: Any) -> str:
    """number, bool, text, datetime, null or mixed — the types the operators care about."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return "bool"
        if pd.api.types.is_numeric_dtype(dtype):
            return "number"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "datetime"
        if pd.api.types.is_timedelta64_dtype(dtype):
            return "number"
        if pd.api.types.is_string_dtype(value):
            return "text"
        return "mixed"
    if value is None:
        return "null"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.number):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, pd.Timestamp):
        return "datetime"
    return "mixed"


def describe(value: Any) -> str:
    kind = kind_of(value)
    scope = "column" if isinstance(value, pd.Series) else "value"
    return {"null": "None", "mixed": f"a mixed-type {scope}"}.get(kind, f"a {kind} {scope}")


def seconds(value: Any) -> Any:
    if isinstance(value, pd.Series) and pd.api.types.is_timedelta64_dtype(value.dtype):
        return value.dt.total_seconds()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    return value


def as_float(value: Any) -> Any:
    """Python scalars become numpy floats so 1/0 is inf and 10**400 overflows to inf
    instead of raising or building a huge integer."""
    if isinstance(value, bool | int | float) and not isinstance(value, np.generic):
        return np.float64(value)
    return value


class Evaluator:
    """Evaluates a checked tree over ``frame``. Row mode returns a Series aligned to the
    frame (or a scalar); aggregate calls reduce through ``reduce``."""

    def __init__(
        self,
        frame: pd.DataFrame,
        expression: Expression,
        where: Where,
        reduce: Callable[[pd.Series, str, ast.AST], Any] | None = None,
    ) -> None:
        self.frame = frame
        self.expression = expression
        self.where = where
        self.reduce = reduce

    def eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.frame[self.expression.quoted.get(node.id, node.id)]
        if isinstance(node, ast.BinOp):
            return self._arithmetic(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BoolOp):
            values = [self._boolean(v, node) for v in node.values]
            out = values[0]
            for value in values[1:]:
                out = (out & value) if isinstance(node.op, ast.And) else (out | value)
            return out
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.IfExp):
            return self._if(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self.where.error(f"{type(node).__name__} is not allowed", node)  # pragma: no cover

    def _arithmetic(self, node: ast.BinOp) -> Any:
        symbol, apply = _ARITHMETIC[type(node.op)]
        left, right = self.eval(node.left), self.eval(node.right)
        kinds = (kind_of(left), kind_of(right))
        if symbol == "-" and kinds == ("datetime", "datetime"):
            return seconds(left - right)
        if not all(k in ("number", "bool") for k in kinds):
            raise self.where.error(
                f"`{symbol}` needs numbers, not {describe(left)} and {describe(right)}", node
            )
        left, right = seconds(left), seconds(right)
        if kinds[0] == "bool" and isinstance(left, pd.Series):
            left = left.astype("float64")
        if kinds[1] == "bool" and isinstance(right, pd.Series):
            right = right.astype("float64")
        try:
            return apply(as_float(left), as_float(right))
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.where.error(f"`{symbol}` failed: {exc}", node) from None

    def _unary(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.Not):
            value = self._boolean(node.operand, node)
            return (not value) if isinstance(value, bool | np.bool_) else ~value
        value = self.eval(node.operand)
        if kind_of(value) != "number":
            raise self.where.error(f"unary minus needs a number, not {describe(value)}", node)
        return -seconds(value) if isinstance(node.op, ast.USub) else seconds(value)

    def _boolean(self, node: ast.AST, parent: ast.AST) -> Any:
        value = self.eval(node)
        if kind_of(value) != "bool":
            raise self.where.error(
                f"and/or/not/if need true-or-false values, not {describe(value)}", node
            )
        if isinstance(value, pd.Series):
            return value.fillna(False).astype(bool)
        return bool(value)

    def _compare(self, node: ast.Compare) -> Any:
        result: Any = None
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                assert isinstance(right_node, ast.List | ast.Tuple)
                items = [item.value for item in right_node.elts if isinstance(item, ast.Constant)]
                series = left if isinstance(left, pd.Series) else pd.Series([left])
                hit = series.isin(items)
                step = hit if isinstance(op, ast.In) else ~hit & series.notna()
                if not isinstance(left, pd.Series):
                    step = bool(step.iloc[0])
                right = None
            else:
                right = self.eval(right_node)
                step = self._compare_two(left, right, op, node)
            result = step if result is None else result & step
            left = right
        return result

    def _compare_two(self, left: Any, right: Any, op: ast.cmpop, node: ast.AST) -> Any:
        symbol, apply = _COMPARE[type(op)]
        kinds = {kind_of(left), kind_of(right)}
        if "null" in kinds:
            if symbol not in ("==", "!="):
                raise self.where.error("None can only be compared with == or !=", node)
            other = right if kind_of(left) == "null" else left
            if not isinstance(other, pd.Series):
                return (other is None) == (symbol == "==")
            return other.isna() if symbol == "==" else other.notna()
        left, right = self._dates(left, right, node), self._dates(right, left, node)
        kinds = {kind_of(left), kind_of(right)}
        comparable = kinds <= {"number", "bool"} or len(kinds) == 1 or "mixed" in kinds
        if not comparable or (kinds == {"bool"} and symbol not in ("==", "!=")):
            raise self.where.error(
                f"`{symbol}` compares {describe(left)} with {describe(right)}", node
            )
        try:
            return apply(seconds(left), seconds(right))
        except (TypeError, ValueError) as exc:
            raise self.where.error(f"`{symbol}` failed: {exc}", node) from None

    def _dates(self, value: Any, other: Any, node: ast.AST) -> Any:
        """A string literal compared with a datetime column is read as a date."""
        if not (isinstance(value, str) and kind_of(other) == "datetime"):
            return value
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise self.where.error(f"{value!r} is not a date", node) from None
        tz = getattr(getattr(other, "dt", None), "tz", None) or getattr(other, "tz", None)
        if tz is not None and stamp.tzinfo is None:
            return stamp.tz_localize(tz)
        if tz is None and stamp.tzinfo is not None:
            return stamp.tz_convert("UTC").tz_localize(None)
        return stamp

    def _if(self, node: ast.IfExp) -> Any:
        condition = self._boolean(node.test, node)
        body, orelse = self.eval(node.body), self.eval(node.orelse)
        if not isinstance(condition, pd.Series):
            return body if condition else orelse
        body = broadcast(body, condition.index)
        return body.where(condition, broadcast(orelse, condition.index)).infer_objects()

    def _call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        if name in AGGREGATES:
            if self.reduce is None:  # pragma: no cover - the checker prevents it
                raise self.where.error(f"the aggregate {name}() is not allowed here", node)
            return self.reduce(self.eval(node.args[0]), name, node)
        value = self.eval(node.args[0])
        if name == "coalesce":
            fallback = self.eval(node.args[1])
            if isinstance(value, pd.Series):
                return (
                    value.fillna(fallback)
                    if not isinstance(fallback, pd.Series)
                    else (value.where(value.notna(), fallback))
                )
            return fallback if value is None else value
        if kind_of(value) not in ("number", "bool"):
            raise self.where.error(f"{name}() needs a number, not {describe(value)}", node)
        value = seconds(value)
        if name == "abs":
            return abs(value)
        digits = node.args[1].value if len(node.args) == 2 else 0  # type: ignore[attr-defined]
        return value.round(digits) if isinstance(value, pd.Series) else round(value, digits)


def broadcast(value: Any, index: pd.Index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    return pd.Series(value, index=index, dtype=object if value is None else None)
