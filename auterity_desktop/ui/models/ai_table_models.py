"""The AI page's tables: deployments, routing policies, budgets and per-deployment stats.

Each model keeps the service's rows as they came and formats them through a list of
columns (title, text, sort value, tooltip); a reload replaces the rows. Rows are matched by
a key (a deployment's or policy's name, a budget's id) so a live refresh keeps the
selection. ``SortRole`` gives raw values so prices, latencies and money sort as numbers.
Status is written out with a symbol in front, so colour is not the only cue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from auterity_desktop.ui.models.rows_model import KeyedRowsModel, SortRole

Index = QModelIndex | QPersistentModelIndex
DISPLAY = Qt.ItemDataRole.DisplayRole
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
NONE = "—"
KEY_STORED = "✔ In keyring"

PROVIDER_TITLES = {"openai": "OpenAI-compatible", "anthropic": "Anthropic", "ollama": "Ollama"}
STRATEGY_TITLES = {
    "cost": "Cheapest",
    "latency": "Fastest",
    "least_busy": "Least busy",
    "weighted": "Weighted random",
    "order": "In order",
}
STRATEGY_TIPS = {
    "cost": "The cheapest deployment that has the capabilities and the context length",
    "latency": "The deployment with the lowest recent latency",
    "least_busy": "The deployment with the fewest calls in flight",
    "weighted": "A random deployment, weighted by each deployment's weight",
    "order": "The policy's order: the first healthy deployment",
}
PERIOD_TITLES = {"day": "Per day", "month": "Per month"}
# DeploymentInfo.state → (symbol, palette colour, explanation)
STATE_STYLE: dict[str, tuple[str, str, str]] = {
    "ready": ("✔", "ok", "Ready: routing may pick it"),
    "never_used": ("○", "accent", "Not called yet: press Test to try it"),
    "failing": ("✖", "error", "Its recent calls failed"),
    "cooling_down": ("◔", "warning", "Failed too often: skipped until its cooldown ends"),
    "rate_limited": ("◔", "warning", "Over its requests or tokens per minute, or the provider's"),
    "no_key": ("⚠", "warning", "Needs an API key: edit it and enter one"),
    "disabled": ("–", "disabled_text", "Switched off: routing never picks it"),
    # budgets and statistics
    "ok": ("✔", "ok", ""),
    "warning": ("▲", "warning", ""),
    "error": ("✖", "error", ""),
}


def status_text(state: str, status: str | None = None) -> str:
    """A symbol, then the service's words ("cooling down until 14:03:10")."""
    symbol = STATE_STYLE.get(state, ("●", "", ""))[0]
    words = status or state.replace("_", " ")
    return f"{symbol} {words[:1].upper()}{words[1:]}"


def money(value: float | None) -> str:
    """Dollars with the digits small amounts need: $12.40, $0.0042, $0.000018."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    if value == 0:
        return "$0.00"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    digits = max(2, min(8, 1 - math.floor(math.log10(abs(value)))))
    text = f"{value:.{digits}f}"
    while text.endswith("0") and len(text.partition(".")[2]) > 2:
        text = text[:-1]
    return f"${text}"


def seconds(value: float | None) -> str:
    """A duration: "840 ms", "1.92 s"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def count(value: int | float | None) -> str:
    if value is None:
        return NONE
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def percent(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    return f"{100 * value:.1f} %"


def capabilities_text(capabilities: Any) -> str:
    names = sorted(str(getattr(c, "value", c)) for c in capabilities or ())
    return ", ".join(names) or "chat only"


def limits_text(rpm: int | None, tpm: int | None) -> str:
    parts = []
    if rpm:
        parts.append(f"{rpm:,} rpm")
    if tpm:
        parts.append(f"{tpm:,} tpm")
    return " · ".join(parts) or "no limit"


def _value(x: Any) -> str:
    return str(getattr(x, "value", x))


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[Any], str]
    sort: Callable[[Any], Any] | None = None
    tip: Callable[[Any], str | None] | None = None
    right: bool = False


class _KeyedTableModel(KeyedRowsModel):
    """Rows from the service, formatted through ``columns``; ``key`` names a row."""

    columns: tuple[Column, ...] = ()
    status_column = -1

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._colours = colours
        self.headers = tuple(c.title for c in self.columns)

    def key(self, row: Any) -> str:
        return str(row.name)

    def items(self) -> list[Any]:
        return list(self._rows)

    def status(self, row: Any) -> str | None:
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == SortRole:
            value = column.sort(row) if column.sort is not None else column.text(row)
            return value.lower() if isinstance(value, str) else value
        if role == Qt.ItemDataRole.TextAlignmentRole and column.right:
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and column.tip is not None:
            return column.tip(row)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == self.status_column:
            word = self.status(row) or ""
            colours = self._colours()
            name = STATE_STYLE.get(word, ("", "text", ""))[1]
            return QColor(colours.get(name, colours.get("text", "#000000")))
        return None


def _num(value: float | None) -> float:
    return float("-inf") if value is None else float(value)


def _deployment_tip(d: Any) -> str:
    tip = STATE_STYLE.get(d.state, ("", "", d.status))[2]
    if d.last_error and d.state in ("failing", "cooling_down", "rate_limited"):
        tip += f"\nLast error: {d.last_error}"
    return tip


def _price_text(d: Any) -> str:
    return f"{money(d.price_input_per_1k)} / {money(d.price_output_per_1k)}"


class DeploymentTableModel(_KeyedTableModel):
    columns = (
        Column("Name", lambda d: d.name, tip=lambda d: f"{d.name}: {d.model} at {d.api_base}"),
        Column("Provider", lambda d: PROVIDER_TITLES.get(_value(d.provider), _value(d.provider))),
        Column("Model", lambda d: d.model),
        Column(
            "Per 1k in / out",
            _price_text,
            sort=lambda d: d.price_input_per_1k + d.price_output_per_1k,
            tip=lambda d: (
                f"{money(d.price_input_per_1k)} per 1,000 input tokens, "
                f"{money(d.price_output_per_1k)} per 1,000 output tokens"
            ),
            right=True,
        ),
        Column(
            "Context",
            lambda d: count(d.context_window) if d.context_window else NONE,
            sort=lambda d: _num(d.context_window),
            tip=lambda d: "The longest prompt plus reply it takes, in tokens",
            right=True,
        ),
        Column("Capabilities", lambda d: capabilities_text(d.capabilities)),
        Column(
            "Limits",
            lambda d: limits_text(d.rpm, d.tpm),
            sort=lambda d: _num(d.rpm),
            tip=lambda d: "Requests and tokens per minute routing keeps it under",
        ),
        Column("Weight", lambda d: f"{d.weight:g}", sort=lambda d: d.weight, right=True),
        Column(
            "Status",
            lambda d: status_text(d.state, d.status),
            sort=lambda d: d.state,
            tip=_deployment_tip,
        ),
        Column(
            "Key",
            lambda d: KEY_STORED if d.has_key else NONE,
            sort=lambda d: d.has_key,
            tip=lambda d: (
                "An API key is stored in the system keyring (never shown)"
                if d.has_key
                else "No API key stored (local servers such as Ollama need none)"
            ),
        ),
    )
    status_column = 8

    def status(self, row: Any) -> str | None:
        return str(row.state)


def _names(values: Sequence[str] | None) -> str:
    return " → ".join(values or ()) or NONE


class PolicyTableModel(_KeyedTableModel):
    columns = (
        Column(
            "Name",
            lambda p: f"{p.name} (default)" if p.is_default else p.name,
            sort=lambda p: p.name,
            tip=lambda p: (
                (p.description or p.name)
                + ("\nUsed when a call names no policy" if p.is_default else "")
            ),
        ),
        Column(
            "Strategy",
            lambda p: STRATEGY_TITLES.get(_value(p.strategy), _value(p.strategy)),
            tip=lambda p: STRATEGY_TIPS.get(_value(p.strategy)),
        ),
        Column(
            "Deployments",
            lambda p: _names(p.deployments) if p.deployments else "every enabled one",
            tip=lambda p: "Tried in this order when the strategy ties or is “In order”",
        ),
        Column(
            "Fallbacks",
            lambda p: _names(p.fallbacks),
            tip=lambda p: "Policies or deployments tried when all of this policy's failed",
        ),
        Column("Retries", lambda p: str(p.num_retries), sort=lambda p: p.num_retries, right=True),
        Column(
            "Allowed fails",
            lambda p: str(p.allowed_fails),
            sort=lambda p: p.allowed_fails,
            tip=lambda p: "Failures within a minute tolerated; one more cools a deployment down",
            right=True,
        ),
        Column(
            "Cooldown",
            lambda p: f"{p.cooldown_seconds:g} s",
            sort=lambda p: p.cooldown_seconds,
            tip=lambda p: "How long a failing deployment is skipped",
            right=True,
        ),
    )


def budget_scope_text(b: Any, workflow_names: Mapping[str, str] | None = None) -> str:
    """How a scope reads: Everything, Deployment gpt-4o, Workflow Lead follow-up."""
    scope = _value(b.scope)
    if scope == "global":
        return "Everything"
    kind, _, target = scope.partition(":")
    if kind == "workflow":
        target = (workflow_names or {}).get(target, target)
    return f"{kind.capitalize()} {target}"


def _resets(b: Any) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(b.resets_at).strftime("%Y-%m-%d %H:%M")


class BudgetTableModel(_KeyedTableModel):
    """``workflow_names`` (id → name) lets a workflow's budget show the workflow's name."""

    columns = (
        Column("Scope", budget_scope_text, tip=lambda b: b.label[:1].upper() + b.label[1:]),
        Column("Period", lambda b: PERIOD_TITLES.get(_value(b.period), _value(b.period))),
        Column("Limit", lambda b: money(b.limit), sort=lambda b: b.limit, right=True),
        Column(
            "Spent so far",
            lambda b: money(b.spent),
            sort=lambda b: b.spent,
            tip=lambda b: f"{money(b.held)} more is held for calls in flight" if b.held else None,
            right=True,
        ),
        Column(
            "Used",
            lambda b: percent(b.spent / b.limit) if b.limit else NONE,
            sort=lambda b: b.spent / b.limit if b.limit else 0.0,
            tip=lambda b: (
                f"{money(b.remaining)} left until {_resets(b)}"
                if not b.exhausted
                else f"Spent: routing refuses calls in this scope until {_resets(b)}"
            ),
            right=True,
        ),
    )
    status_column = 4

    @staticmethod
    def key(row: Any) -> str:
        return str(row.id)

    def __init__(self, colours: Callable[[], Mapping[str, str]]) -> None:
        super().__init__(colours)
        self.workflow_names: dict[str, str] = {}

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.column() == 0 and role in (DISPLAY, SortRole):
            text = budget_scope_text(self._rows[index.row()], self.workflow_names)
            return text if role == DISPLAY else text.lower()
        return super().data(index, role)

    def status(self, row: Any) -> str | None:
        share = row.spent / row.limit if row.limit else 1.0
        return "error" if row.exhausted else "warning" if share >= 0.8 else "ok"


class DeploymentStatsTableModel(_KeyedTableModel):
    columns = (
        Column("Deployment", lambda s: s.deployment),
        Column("Requests", lambda s: count(s.requests), sort=lambda s: s.requests, right=True),
        Column(
            "p50 latency",
            lambda s: seconds(s.p50_latency_s),
            sort=lambda s: _num(s.p50_latency_s),
            right=True,
        ),
        Column(
            "p95 latency",
            lambda s: seconds(s.p95_latency_s),
            sort=lambda s: _num(s.p95_latency_s),
            right=True,
        ),
        Column(
            "First token",
            lambda s: seconds(s.p50_ttft_s),
            sort=lambda s: _num(s.p50_ttft_s),
            tip=lambda s: "Median time to the first token of streamed replies",
            right=True,
        ),
        Column(
            "Tokens/s",
            lambda s: f"{s.tokens_per_s:,.1f}" if s.tokens_per_s else NONE,
            sort=lambda s: _num(s.tokens_per_s),
            tip=lambda s: "Output tokens per second while generating",
            right=True,
        ),
        Column(
            "Error rate",
            lambda s: percent(s.error_rate),
            sort=lambda s: _num(s.error_rate),
            right=True,
        ),
        Column(
            "Spend today",
            lambda s: money(s.spend_today),
            sort=lambda s: s.spend_today,
            right=True,
        ),
        Column(
            "Spend this month",
            lambda s: money(s.spend_month),
            sort=lambda s: s.spend_month,
            right=True,
        ),
    )
    status_column = 6

    @staticmethod
    def key(row: Any) -> str:
        return str(row.deployment)

    def status(self, row: Any) -> str | None:
        rate = row.error_rate
        if rate is None:
            return None
        return "error" if rate >= 0.25 else "warning" if rate > 0 else "ok"
