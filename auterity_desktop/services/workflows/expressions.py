"""A small, safe expression language for node parameters.

``"Hello {{ $input.customer.name }}"`` interpolates; a parameter that is exactly one
``{{ … }}`` keeps the value's type (``{{ $node["Lookup"].output.price * 1.2 }}`` is a number).
The language is parsed here, never handed to Python's ``eval``: names are only the roots
``$input``, ``$node``, ``$params``, ``$run`` and ``$env``-free literals, member access reads
only dictionary keys and list items (no attributes, so no way to reach interpreter
internals), and the only calls are a fixed set of pure functions. Errors carry the position
in the expression so the editor can point at it.

Grammar (precedence low → high)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("=="|"!="|"<"|"<="|">"|">="|"in") sum)?
    sum     := term (("+"|"-") term)*
    term    := unary (("*"|"/"|"//"|"%") unary)*
    unary   := "-" unary | postfix
    postfix := primary ("." NAME | "[" expr "]" | "(" args ")")*
    primary := NUMBER | STRING | true | false | null | $ROOT | NAME | "(" expr ")" | "[" items "]"
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from auterity_desktop.core.errors import ErrorCode, ServiceError

ROOTS = ("$input", "$node", "$params", "$run", "$item")
MAX_EXPRESSION = 10_000
MAX_DEPTH = 64
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<root>\$[A-Za-z_]+)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|//|[-+*/%<>()\[\].,])
    )""",
    re.X,
)


class ExpressionError(ServiceError):
    """A bad expression: ``details`` has the expression, the position and the reason."""

    def __init__(self, message: str, expression: str, position: int) -> None:
        super().__init__(
            ErrorCode.VALIDATION_ERROR,
            f"{message} (at position {position} of `{expression.strip()[:80]}`)",
            {"expression": expression[:500], "position": position, "reason": message},
        )
        self.position = position
        self.reason = message


@dataclass(frozen=True)
class Token:
    kind: str
    value: str
    pos: int


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = len(text[:pos]) + (len(text[pos:]) - len(text[pos:].lstrip()))
            raise ExpressionError(f"unexpected character {text[bad]!r}", text, bad)
        kind = match.lastgroup or ""
        start = match.start(kind)
        tokens.append(Token(kind, match.group(kind), start))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# -- AST ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True)
class Root(Node):
    name: str


@dataclass(frozen=True)
class Member(Node):
    target: Node
    key: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class ListLiteral(Node):
    items: tuple[Node, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, *values: str) -> Token | None:
        token = self.peek()
        if token.kind in ("op", "name") and token.value in values:
            return self.take()
        return None

    def expect(self, value: str) -> Token:
        token = self.accept(value)
        if token is None:
            got = self.peek()
            raise ExpressionError(
                f"expected {value!r} but found {got.value or 'the end'!r}", self.text, got.pos
            )
        return token

    def parse(self) -> Node:
        if not self.text.strip():
            raise ExpressionError("empty expression", self.text, 0)
        node = self.expr()
        end = self.peek()
        if end.kind != "end":
            raise ExpressionError(f"unexpected {end.value!r}", self.text, end.pos)
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("expression is nested too deeply", self.text, self.peek().pos)
        try:
            return self.or_()
        finally:
            self.depth -= 1

    def or_(self) -> Node:
        node = self.and_()
        while (token := self.accept("or")) is not None:
            node = Binary(token.pos, "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while (token := self.accept("and")) is not None:
            node = Binary(token.pos, "and", node, self.not_())
        return node

    def not_(self) -> Node:
        token = self.accept("not")
        if token is not None:
            return Unary(token.pos, "not", self.not_())
        return self.compare()

    def compare(self) -> Node:
        node = self.sum()
        token = self.accept("==", "!=", "<", "<=", ">", ">=", "in")
        if token is not None:
            node = Binary(token.pos, token.value, node, self.sum())
        return node

    def sum(self) -> Node:
        node = self.term()
        while (token := self.accept("+", "-")) is not None:
            node = Binary(token.pos, token.value, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (token := self.accept("*", "/", "//", "%")) is not None:
            node = Binary(token.pos, token.value, node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.accept("-")
        if token is not None:
            return Unary(token.pos, "-", self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if (token := self.accept(".")) is not None:
                name = self.take()
                if name.kind != "name":
                    raise ExpressionError("expected a field name after '.'", self.text, name.pos)
                node = Member(token.pos, node, Literal(name.pos, name.value))
            elif (token := self.accept("[")) is not None:
                key = self.expr()
                self.expect("]")
                node = Member(token.pos, node, key)
            elif (token := self.accept("(")) is not None:
                if not isinstance(node, Literal) or not isinstance(node.value, _FunctionName):
                    raise ExpressionError(
                        "only built-in functions can be called", self.text, token.pos
                    )
                args: list[Node] = []
                if self.accept(")") is None:
                    args.append(self.expr())
                    while self.accept(",") is not None:
                        args.append(self.expr())
                    self.expect(")")
                node = Call(node.pos, str(node.value), tuple(args))
            else:
                return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            value = float(token.value) if any(c in token.value for c in ".eE") else int(token.value)
            return Literal(token.pos, value)
        if token.kind == "string":
            return Literal(token.pos, _unquote(token.value))
        if token.kind == "root":
            if token.value not in ROOTS:
                raise ExpressionError(
                    f"unknown variable {token.value}; use one of {', '.join(ROOTS)}",
                    self.text,
                    token.pos,
                )
            return Root(token.pos, token.value)
        if token.kind == "name":
            constants = {"true": True, "false": False, "null": None}
            if token.value in constants:
                return Literal(token.pos, constants[token.value])
            if token.value in FUNCTIONS:
                return Literal(token.pos, _FunctionName(token.value))
            raise ExpressionError(f"unknown name {token.value!r}", self.text, token.pos)
        if token.kind == "op" and token.value == "(":
            node = self.expr()
            self.expect(")")
            return node
        if token.kind == "op" and token.value == "[":
            items: list[Node] = []
            if self.accept("]") is None:
                items.append(self.expr())
                while self.accept(",") is not None:
                    items.append(self.expr())
                self.expect("]")
            return ListLiteral(token.pos, tuple(items))
        raise ExpressionError(
            f"unexpected {token.value or 'end of expression'!r}", self.text, token.pos
        )


class _FunctionName(str):
    """Marks a bare name that refers to a built-in function."""


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _round(value: float, digits: int = 0) -> float:
    return round(value, digits)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "upper": lambda s: str(s).upper(),
    "lower": lambda s: str(s).lower(),
    "trim": lambda s: str(s).strip(),
    "str": lambda v: "" if v is None else str(v),
    "int": int,
    "float": float,
    "round": _round,
    "abs": abs,
    "min": min,
    "max": max,
    "sum": sum,
    "default": lambda value, fallback: fallback if value is None else value,
    "contains": lambda haystack, needle: needle in haystack,
    "join": lambda items, sep=",": str(sep).join(str(i) for i in items),
    "split": lambda text, sep=",": str(text).split(str(sep)),
    "keys": lambda mapping: list(mapping),
}


def parse(expression: str) -> Node:
    if len(expression) > MAX_EXPRESSION:
        raise ExpressionError("expression is too long", expression[:100], 0)
    return _Parser(expression).parse()


class _Missing:
    pass


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """Evaluate one expression (without ``{{ }}``) against ``context`` (keys like ``$input``)."""
    tree = parse(expression)
    return _Evaluator(expression, context).eval(tree)


class _Evaluator:
    def __init__(self, text: str, context: Mapping[str, Any]) -> None:
        self.text = text
        self.context = context

    def fail(self, node: Node, message: str) -> ExpressionError:
        return ExpressionError(message, self.text, node.pos)

    def eval(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Root):
            if node.name not in self.context:
                raise self.fail(node, f"{node.name} is not available here")
            return self.context[node.name]
        if isinstance(node, ListLiteral):
            return [self.eval(item) for item in node.items]
        if isinstance(node, Member):
            return self.member(node)
        if isinstance(node, Call):
            if node.function == "default" and node.args and isinstance(node.args[0], Member):
                # default($input.phone, '') is how one says "if there is a phone": a missing
                # field counts as null here, while a typo elsewhere still names the field
                first = self.member(node.args[0], missing_ok=True)
                args = [first, *(self.eval(a) for a in node.args[1:])]
            else:
                args = [self.eval(a) for a in node.args]
            try:
                return FUNCTIONS[node.function](*args)
            except (TypeError, ValueError, OverflowError) as exc:
                raise self.fail(node, f"{node.function}() failed: {exc}") from None
        if isinstance(node, Unary):
            value = self.eval(node.operand)
            if node.op == "not":
                return not value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(node, f"cannot negate {type(value).__name__}")
            return -value
        if isinstance(node, Binary):
            return self.binary(node)
        raise self.fail(node, "unsupported expression")  # pragma: no cover

    def member(self, node: Member, missing_ok: bool = False) -> Any:
        target = self.eval(node.target)
        key = self.eval(node.key)
        if isinstance(target, Mapping):
            if key not in target:
                if missing_ok:
                    return None
                raise self.fail(
                    node, f"no field {key!r} (available: {', '.join(map(str, list(target)[:10]))})"
                )
            return target[key]
        if isinstance(target, list | tuple | str):
            if isinstance(key, bool) or not isinstance(key, int):
                raise self.fail(node, f"a list index must be a whole number, not {key!r}")
            if not -len(target) <= key < len(target):
                raise self.fail(node, f"index {key} is outside the list of {len(target)}")
            return target[key]
        raise self.fail(
            node,
            f"cannot read {key!r} of {type(target).__name__ if target is not None else 'null'}",
        )

    def binary(self, node: Binary) -> Any:
        if node.op == "and":
            return self.eval(node.left) and self.eval(node.right)
        if node.op == "or":
            return self.eval(node.left) or self.eval(node.right)
        left, right = self.eval(node.left), self.eval(node.right)
        try:
            if node.op == "+":
                if isinstance(left, str) or isinstance(right, str):
                    return f"{'' if left is None else left}{'' if right is None else right}"
                return left + right
            if node.op == "*" and any(isinstance(v, str | list) for v in (left, right)):
                count = right if isinstance(left, str | list) else left
                if (
                    isinstance(count, int)
                    and count * len(left if isinstance(left, str | list) else right) > 1_000_000
                ):
                    raise self.fail(node, "result is too large")
            if node.op in ("/", "//", "%") and right == 0:
                raise self.fail(node, "division by zero")
            result = _OPERATORS[node.op](left, right)
        except TypeError:
            raise self.fail(
                node,
                f"cannot apply {node.op!r} to {type(left).__name__} and {type(right).__name__}",
            ) from None
        if isinstance(result, str) and len(result) > 1_000_000:
            raise self.fail(node, "result is too large")
        if isinstance(result, float) and not math.isfinite(result):
            raise self.fail(node, "result is not a finite number")
        return result


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda left, right: left in right,
}


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Resolve templates in a parameter value, recursively through dicts and lists."""
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    if not is_template(value):
        return value
    whole = _TEMPLATE.fullmatch(value.strip())
    if whole is not None and "}}" in whole.group(1):  # "{{ a }}/x/{{ b }}" is text, not one
        whole = None
    if whole is not None:
        return evaluate(whole.group(1), context)
    return _TEMPLATE.sub(lambda m: _text(evaluate(m.group(1), context)), value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_syntax(value: Any) -> list[ExpressionError]:
    """Parse every template in a parameter value without evaluating it."""
    problems: list[ExpressionError] = []
    if isinstance(value, dict):
        for item in value.values():
            problems.extend(check_syntax(item))
    elif isinstance(value, list):
        for item in value:
            problems.extend(check_syntax(item))
    elif is_template(value):
        if value.count("{{") != value.count("}}"):
            problems.append(ExpressionError("unbalanced {{ and }}", value, value.find("{{")))
        for match in _TEMPLATE.finditer(value):
            try:
                parse(match.group(1))
            except ExpressionError as exc:
                problems.append(exc)
    return problems
