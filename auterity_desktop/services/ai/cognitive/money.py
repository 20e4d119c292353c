"""Amounts of money: ``$1,299.99``, ``1.299,00 €``, ``USD 499``, ``500 dollars``, ``$30k``,
``€1.2M`` and the bare ``15k`` of a budget or a trade-in ask.

A separator followed by exactly three digits groups thousands ("1.299" is 1299 in any
region); one or two digits after the last separator are cents ("1.299,00", "89.90"). A
"$" means the region's dollar (US, Canadian or Australian). A bare "15k" has no currency:
it gets the region's and the flag ``currency_assumed`` — unless a unit follows it
("15k miles", "60k service"), when it is no amount at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auterity_desktop.services.ai.cognitive.spans import Context, Entity

_SYMBOLS = {
    "us$": "USD", "c$": "CAD", "ca$": "CAD", "a$": "AUD", "€": "EUR", "£": "GBP", "¥": "JPY",
    "usd": "USD", "eur": "EUR", "gbp": "GBP", "chf": "CHF", "cad": "CAD", "aud": "AUD",
    "sek": "SEK", "nok": "NOK", "dkk": "DKK", "pln": "PLN", "czk": "CZK", "jpy": "JPY",
    "euro": "EUR", "euros": "EUR",
}  # fmt: skip
_MULTIPLIERS = {
    "k": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "mn": 1e6, "mil": 1e6,
    "million": 1e6,
}  # fmt: skip

_PREFIX_CUR = (
    r"(?P<cur>US\$|CA?\$|A\$|\$|€|£|¥|(?:USD|EUR|GBP|CHF|CAD|AUD|SEK|NOK|DKK|PLN|CZK|JPY)\s?)"
)
_SUFFIX_CUR = (
    r"(?P<cur>€|£|\$|(?:USD|EUR|GBP|CHF|CAD|AUD|SEK|NOK|DKK|PLN|CZK|JPY|dollars?|bucks|"
    r"euros?)\b)"
)
_NUMBER = (
    r"(?P<num>\d{1,3}(?P<g>[,.'\u00a0\u202f])\d{3}(?:(?P=g)\d{3})*(?:[.,]\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?)"
)
_NUMBER_SPACED = (
    r"(?P<num>\d{1,3}(?P<g>[,.'\u00a0\u202f ])\d{3}(?:(?P=g)\d{3})*(?:[.,]\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?)"
)
_MULT = r"(?:\s?(?P<mult>k|thousand|grand|mn|mil|million|m)(?![\w]))?"
_UNITS = (
    r"(?!\s*(?:miles?|mi\b|km|kms|kilomet|mileage|service|maintenance|check|inspection|"
    r"warranty|lbs?\b|kg\b|btu))"
)

PREFIXED = re.compile(rf"(?<![\w$€£¥]){_PREFIX_CUR}{_NUMBER}{_MULT}(?![\d])", re.IGNORECASE)
SUFFIXED = re.compile(
    rf"(?<![\w.,$€£¥]){_NUMBER_SPACED}{_MULT}\s?{_SUFFIX_CUR}(?![\w])", re.IGNORECASE
)
BARE_THOUSANDS = re.compile(
    rf"(?<![\w.,$€£¥])(?P<num>\d{{1,3}}(?:[.,]\d)?)\s?(?P<mult>k|grand)\b{_UNITS}(?!\s?[$€£])",
    re.IGNORECASE,
)


def parse_number(raw: str) -> float | None:
    """``"1.299,00"`` → 1299.0, ``"1,299.99"`` → 1299.99, ``"89.90"`` → 89.9."""
    text = re.sub(r"[\s'\u00a0\u202f]", "", raw)
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        group = "." if decimal == "," else ","
        text = text.replace(group, "").replace(decimal, ".")
    elif "," in text or "." in text:
        sep = "," if "," in text else "."
        parts = text.split(sep)
        grouped = len(parts) > 2 or len(parts[-1]) == 3
        text = "".join(parts) if grouped else ".".join(parts)
    try:
        return float(text)
    except ValueError:
        return None


def _currency(symbol: str, ctx: Context) -> str:
    key = symbol.strip().lower()
    if key in ("$", "dollar", "dollars", "bucks"):
        return ctx.region.dollar
    return _SYMBOLS[key]


def _value(match: re.Match[str], currency: str) -> dict[str, object] | None:
    amount = parse_number(match["num"])
    if amount is None:
        return None
    mult = match["mult"]
    if mult:
        amount *= _MULTIPLIERS[mult.lower()]
    return {"amount": round(amount, 2), "currency": currency}


def find_money(text: str, ctx: Context) -> Iterator[Entity]:
    for pattern in (PREFIXED, SUFFIXED):
        for m in pattern.finditer(text):
            value = _value(m, _currency(m["cur"], ctx))
            if value is not None:
                end = m.end()
                while end > m.start() and text[end - 1].isspace():
                    end -= 1
                yield Entity("money", text[m.start() : end], m.start(), end, value)
    for m in BARE_THOUSANDS.finditer(text):
        value = _value(m, ctx.region.currency)
        if value is not None:
            yield Entity("money", m.group(), m.start(), m.end(), value, ("currency_assumed",))
