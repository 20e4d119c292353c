from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auterity_desktop.core.errors import ErrorCode
from auterity_desktop.services.workflows.expressions import (
    ExpressionError,
    check_syntax,
    evaluate,
    render,
)

CONTEXT = {
    "$input": {"customer": {"email": "ana@example.com", "name": "Ana"}, "items": [1, 2, 3], "n": 0},
    "$node": {"Lookup": {"output": {"price": 20_000, "model": "Civic"}}},
    "$params": {"dealer_id": "D-17", "discount": 0.1},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$input.customer.email", "ana@example.com"),
        ('$node["Lookup"].output.price * 1.2', 24_000.0),
        ("$params.dealer_id", "D-17"),
        ("$input.items[1] + $input.items[-1]", 5),
        ("len($input.items) >= 3 and not false", True),
        ('upper($input.customer.name) + "!"', "ANA!"),
        ("round($node['Lookup'].output.price * (1 - $params.discount), 2)", 18_000.0),
        ("default(null, 'x')", "x"),
        ("default($input.customer.phone, 'none')", "none"),  # a missing field is null here
        ("default($input.customer['name'], 'x')", "Ana"),
        ("'Civic' in [$node.Lookup.output.model, 'Accord']", True),
        ("7 // 2 == 3 and 7 % 2 == 1", True),
        ("-(2 + 3) * 2", -10),
        ("1e3 + 0.5", 1000.5),
        ("'it\\'s'", "it's"),
    ],
)
def test_evaluation(expression: str, expected: object) -> None:
    assert evaluate(expression, CONTEXT) == expected


def test_render_keeps_types_for_whole_templates_and_interpolates_text() -> None:
    assert render("{{ $node['Lookup'].output.price }}", CONTEXT) == 20_000
    assert (
        render("Hello {{ $input.customer.name }}, code {{ $params.dealer_id }}", CONTEXT)
        == "Hello Ana, code D-17"
    )
    assert render(
        {"to": "{{ $input.customer.email }}", "tags": ["{{ 1 + 1 }}", "plain"]}, CONTEXT
    ) == {
        "to": "ana@example.com",
        "tags": [2, "plain"],
    }
    assert render(42, CONTEXT) == 42
    # starts and ends with a template but is text between two of them
    assert render("{{ $params.dealer_id }}/leads/{{ 1 + 1 }}", CONTEXT) == "D-17/leads/2"


@pytest.mark.parametrize(
    ("expression", "reason", "position"),
    [
        ("$input.n / 0", "division by zero", 9),
        ("10 / $input.n", "division by zero", 3),
        ("$input.customer.phone", "no field 'phone'", 15),
        ("$input.items[9]", "outside the list", 12),
        ("$secrets.key", "unknown variable $secrets", 0),
        ("__import__('os')", "unknown name '__import__'", 0),
        ("$input.__class__", "no field '__class__'", 6),
        ("$input.customer.email.upper()", "only built-in functions", 27),
        ("1 +", "unexpected 'end of expression'", 3),
        ("(1 + 2", "expected ')'", 6),
        ("1 ; 2", "unexpected character ';'", 2),
        ("'x' * 10000000", "too large", 4),
        ("'a' - 1", "cannot apply '-' to str and int", 4),
        ("", "empty expression", 0),
    ],
)
def test_errors_point_at_the_position(expression: str, reason: str, position: int) -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate(expression, CONTEXT)
    error = info.value
    assert error.code is ErrorCode.VALIDATION_ERROR
    assert reason in error.reason
    assert error.position == position
    assert error.details["position"] == position


def test_default_forgives_only_its_own_missing_field() -> None:
    with pytest.raises(ExpressionError, match="no field 'custmer'"):
        evaluate("default($input.custmer.phone, 'x')", CONTEXT)  # a typo further up
    with pytest.raises(ExpressionError, match="no field 'phone'"):
        evaluate("upper($input.customer.phone)", CONTEXT)


def test_check_syntax_finds_every_bad_template() -> None:
    problems = check_syntax(
        {"a": "{{ 1 + }}", "b": ["ok {{ $input.x }}", "{{ $nope }}"], "c": "{{ open"}
    )
    reasons = sorted(p.reason for p in problems)
    assert len(problems) == 3
    assert any("unbalanced" in r for r in reasons)
    assert any("unknown variable $nope" in r for r in reasons)


def test_nesting_and_length_limits() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate("(" * 200 + "1" + ")" * 200, {})
    with pytest.raises(ExpressionError, match="too long"):
        evaluate("1+" * 6000 + "1", {})


@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6))
def test_arithmetic_matches_python(a: int, b: int) -> None:
    assert evaluate(f"{a} + {b} * 2 - ({a})", {}) == a + b * 2 - a
    if b != 0:
        assert evaluate(f"{a} // ({b})", {}) == a // b
