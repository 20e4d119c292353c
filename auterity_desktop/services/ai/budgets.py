"""Spend limits per day or month — for everything, one deployment or one workflow —
checked before a call is made.

Routing must not wait on the database to decide, so spend is kept in memory: loaded from the
request log at start, raised by every call's cost, and re-read now and then so several
consoles sharing one PostgreSQL database see each other's spend. While calls are in flight
their estimated cost is *held*: fifty calls started together when a budget is nearly spent
do not all pass the check. A budget is spent once spend plus holds reach its limit; the
call that crosses it finishes. Periods are calendar days and months in UTC, so consoles in
different time zones agree on one total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from auterity_desktop.services.ai.catalogue import BudgetSpec

_LAST: dict[str, tuple[float, float]] = {}


def period_bounds(period: str, now: float) -> tuple[float, float]:
    """Start and end (UTC) of the day or month holding ``now`` (asked for every budget of
    every call, so the current period is remembered)."""
    last = _LAST.get(period)
    if last is not None and last[0] <= now < last[1]:
        return last
    bounds = _bounds(period, now)
    _LAST[period] = bounds
    return bounds


def _bounds(period: str, now: float) -> tuple[float, float]:
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp(), start.timestamp() + 86400.0
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else (start.replace(month=start.month + 1))
    )
    return start.timestamp(), following.timestamp()


@dataclass
class _Spend:
    period_start: float
    spent: float = 0.0  # settled costs this period
    held: float = 0.0  # estimates of calls in flight
    unsynced: float = 0.0  # costs added since the last re-read began


@dataclass
class Hold:
    budgets: tuple[str, ...]
    amount: float
    open: bool = True


class BudgetBook:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._specs: tuple[BudgetSpec, ...] = ()
        self._spend: dict[str, _Spend] = {}

    # -- configuration and re-reading -------------------------------------------------
    def configure(self, budgets: Sequence[BudgetSpec]) -> None:
        """New budget specs; spend of budgets kept (same id and scope) carries over."""
        old = {b.id: b for b in self._specs}
        self._specs = tuple(budgets)
        for spec in self._specs:
            before = old.get(spec.id)
            if before is None or (before.kind, before.target, before.period) != (
                spec.kind,
                spec.target,
                spec.period,
            ):
                self._spend.pop(spec.id, None)
        known = {b.id for b in self._specs}
        for budget_id in list(self._spend):
            if budget_id not in known:
                del self._spend[budget_id]

    @property
    def specs(self) -> tuple[BudgetSpec, ...]:
        return self._specs

    def begin_sync(self) -> None:
        """Called in the same step as the pending request rows are taken for writing:
        from here on ``unsynced`` counts only costs whose rows are not in the database."""
        for spend in self._spend.values():
            spend.unsynced = 0.0

    def load(self, totals: dict[str, tuple[float, float]]) -> None:
        """Spend read from the database: budget id → (period start, total)."""
        for spec in self._specs:
            if spec.id not in totals:
                continue
            start, total = totals[spec.id]
            spend = self._current(spec)
            if spend.period_start == start:
                spend.spent = total + spend.unsynced

    def _current(self, spec: BudgetSpec) -> _Spend:
        start, _ = period_bounds(spec.period, self.clock())
        spend = self._spend.get(spec.id)
        if spend is None or spend.period_start != start:
            held = spend.held if spend is not None else 0.0
            spend = self._spend[spec.id] = _Spend(start, held=held)
        return spend

    # -- checks -----------------------------------------------------------------------
    @staticmethod
    def _applies(spec: BudgetSpec, deployment: str | None, workflow_id: str | None) -> bool:
        if spec.kind == "global":
            return True
        if spec.kind == "deployment":
            return deployment is not None and spec.target == deployment
        return workflow_id is not None and spec.target == workflow_id

    def spent(self, spec: BudgetSpec) -> tuple[float, float]:
        """Settled spend and held estimates of a budget this period."""
        spend = self._current(spec)
        return spend.spent, spend.held

    def exhausted(self, deployment: str | None, workflow_id: str | None) -> BudgetSpec | None:
        """The first budget that refuses a call (``deployment`` None: the budgets that
        apply whoever answers, checked before routing)."""
        for spec in self._specs:
            if deployment is None and spec.kind == "deployment":
                continue
            if deployment is not None and spec.kind != "deployment":
                continue
            if not self._applies(spec, deployment, workflow_id):
                continue
            spend = self._current(spec)
            if spend.spent + spend.held >= spec.limit:
                return spec
        return None

    def blocking(self, deployment: str, workflow_id: str | None) -> BudgetSpec | None:
        """The first budget of any scope that refuses a call to ``deployment`` now."""
        for spec in self._specs:
            if self._applies(spec, deployment, workflow_id):
                spend = self._current(spec)
                if spend.spent + spend.held >= spec.limit:
                    return spec
        return None

    # -- holding and charging ---------------------------------------------------------
    def hold(self, deployment: str, workflow_id: str | None, amount: float) -> Hold:
        ids = []
        for spec in self._specs:
            if self._applies(spec, deployment, workflow_id):
                self._current(spec).held += amount
                ids.append(spec.id)
        return Hold(tuple(ids), amount)

    def release(self, hold: Hold) -> None:
        if not hold.open:
            return
        hold.open = False
        for budget_id in hold.budgets:
            spend = self._spend.get(budget_id)
            if spend is not None:
                spend.held -= hold.amount
                if spend.held < 1e-12:  # no float dust left when nothing is in flight
                    spend.held = 0.0

    def settle(self, hold: Hold, deployment: str, workflow_id: str | None, cost: float) -> None:
        self.release(hold)
        self.charge(deployment, workflow_id, cost)

    def charge(self, deployment: str, workflow_id: str | None, cost: float) -> None:
        if cost <= 0:
            return
        for spec in self._specs:
            if self._applies(spec, deployment, workflow_id):
                spend = self._current(spec)
                spend.spent += cost
                spend.unsynced += cost
