"""Decision optimisation: ranking options against weighted criteria, and linear /
mixed-integer programs solved exactly with HiGHS (``scipy.optimize.milp``).

**Ranking** (``rank_options``). Each criterion is ``{"name", "weight" > 0, "goal": "max" |
"min", "min"?, "max"?}``. An option whose value lies outside a criterion's ``min``/``max``
is excluded (with every reason). Over the remaining options each criterion is min-max
normalised to 0 (worst) … 1 (best), using the goal's direction; a criterion on which they
all have the same value (or a single remaining option) gives everyone 1 — it separates no
one and penalises no one. Weights are divided by their sum, so a score is in [0, 1] and is
the sum of the per-criterion contributions ``weight share × normalised value``. Equal
scores (within 1e-9) share a rank and keep their input order ("1, 2, 2, 4"); excluded
options come last, unranked, in input order.

**Programs** (``solve``). The problem is a JSON-like dict::

    {
      "sense": "max" | "min",                                         required
      "variables": [                                                   1 … 20,000
        {"name": "x",                                                  required, unique
         "type": "continuous" | "integer" | "binary",                  default continuous
         "lower": 0,     # number, or null for no lower bound          default 0
         "upper": null}  # number, or null for no upper bound          default none
      ],                                                               (binary: 0 … 1)
      "objective": {"x": 3, "y": 5},                                   required, may be {}
      "constraints": [                                                 0 … 20,000
        {"name": "capacity",                                           default "c<index>"
         "terms": {"x": 3, "y": 2},                                    required, non-empty
         "op": "<=" | ">=" | "==",                                     required
         "rhs": 18}                                                    required
      ],
      "time_limit": 30                                                 seconds, ≤ 600
    }

Numbers must be finite and at most 1e12 in size (beyond that HiGHS's tolerances make
answers meaningless); at most 500,000 terms in all; unknown keys are refused, so a typo
cannot silently drop a constraint. Every bad input raises ``ServiceError`` naming the field
(``INVALID_INPUT`` for a wrong shape or type, ``VALIDATION_ERROR`` for a broken rule: an
unknown variable, a duplicate name, lower above upper, a size limit).

The result's status is ``optimal``, ``infeasible``, ``unbounded``, ``time_limit`` (with the
best solution found, if any, and its MIP gap) or ``error``. HiGHS reports "infeasible or
unbounded" for some MIPs; a second solve without objective tells which. For an infeasible
problem the result explains why, in two parts:

* **violations** — the elastic relaxation: every constraint gets slack variables (one for
  ``<=``/``>=``, two for ``==``), the total slack is minimised, and the constraints that had
  to be relaxed are listed with their left-hand side and by how much. Slack is measured in
  each constraint's own units, so this is "the least total relaxation", a repair hint;
* **conflict** — a set of named constraints that cannot hold together, found with
  Chinneck's elastic filter (constraints that needed slack are made hard until the elastic
  problem itself is infeasible) followed by a deletion filter (drop each constraint in
  turn; keep it out if the rest stays infeasible). When the filter completes, the set is
  irreducible: removing any one constraint makes the rest feasible. Variable bounds and
  integrality always stay in force (validation has made sure each variable alone can take a
  value).

The diagnosis gets its own time budget equal to ``time_limit`` and at most
``MAX_DIAGNOSIS_SOLVES`` solves; if it runs out the conflict is reported as not minimal.

**Appointments** (``assign_appointments``) builds a time-slot model of a service lane and
solves it with ``solve``: see its docstring.

Everything here is CPU-bound and blocking; async callers run it in a worker thread.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]
from scipy.sparse import coo_array  # type: ignore[import-untyped]

from auterity_desktop.core.errors import ErrorCode, ServiceError

MAX_OPTIONS = 10_000
MAX_CRITERIA = 100
MAX_VARIABLES = 20_000
MAX_CONSTRAINTS = 20_000
MAX_TERMS = 500_000
MAX_MAGNITUDE = 1e12
MAX_NAME = 200
DEFAULT_TIME_LIMIT = 30.0
MAX_TIME_LIMIT = 600.0
MAX_DIAGNOSIS_SOLVES = 200
TIE = 1e-9  # scores closer than this share a rank
FEASIBILITY_TOL = 1e-6  # slack below this (relative to the right-hand side) is no violation
VARIABLE_TYPES = ("continuous", "integer", "binary")
OPS = ("<=", ">=", "==")
STATUSES = ("optimal", "infeasible", "unbounded", "time_limit", "error")

Floats = NDArray[np.float64]


# -- results ----------------------------------------------------------------------------
@dataclass
class RankedOption:
    """One option's place in a ranking."""

    option: dict[str, Any]  # the option as given
    index: int  # its position in the input
    rank: int | None  # 1 = best; None when excluded
    score: float | None  # 0 … 1; None when excluded
    contributions: dict[str, float]  # criterion → weight share × normalised value
    normalised: dict[str, float]  # criterion → 0 (worst of the eligible) … 1 (best)
    excluded: bool
    reasons: list[str]  # why it was excluded (every violated limit)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConstraintViolation:
    constraint: str
    op: str
    rhs: float
    activity: float  # the left-hand side at the least-violating solution
    violation: float  # how far the constraint had to be relaxed


@dataclass
class InfeasibilityReport:
    """Why a problem has no solution (see the module docstring)."""

    conflict: list[str]  # named constraints that cannot all hold together
    conflict_is_minimal: bool  # irreducible: dropping any one leaves a feasible rest
    violations: list[ConstraintViolation]  # the least total relaxation, largest first
    total_violation: float
    message: str


@dataclass
class OptimisationResult:
    """What ``solve`` found. ``values`` holds ints for integer and binary variables."""

    status: str  # one of STATUSES
    message: str
    sense: str
    objective: float | None = None
    values: dict[str, float | int] = field(default_factory=dict)
    binding: list[str] = field(default_factory=list)  # constraints that hold with equality
    mip_gap: float | None = None  # relative gap of a MIP's solution (0 when proven optimal)
    solve_seconds: float = 0.0
    infeasibility: InfeasibilityReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AppointmentPlan(OptimisationResult):
    """An ``OptimisationResult`` of the appointment model, decoded."""

    assignments: list[dict[str, Any]] = field(default_factory=list)
    # {appointment, technician, bay, start, end (hours from the horizon's start), priority}
    unserved: list[dict[str, Any]] = field(default_factory=list)
    # {appointment, priority, reason (a code), message}


# -- input checks -----------------------------------------------------------------------
def _invalid(message: str, where: str, **details: Any) -> NoReturn:
    raise ServiceError(ErrorCode.INVALID_INPUT, message, {"field": where, **details})


def _rule(message: str, where: str, **details: Any) -> NoReturn:
    raise ServiceError(ErrorCode.VALIDATION_ERROR, message, {"field": where, **details})


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _invalid(f"{where} must be a number", where, type=type(value).__name__)
    if not math.isfinite(value):
        _invalid(f"{where} must be a finite number, not {value}", where)
    if abs(value) > MAX_MAGNITUDE:
        _rule(f"{where} is larger than {MAX_MAGNITUDE:g} in size", where)
    return float(value)


def _optional_number(value: Any, where: str) -> float | None:
    return None if value is None else _number(value, where)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _invalid(f"{where} must be non-empty text", where)
    if len(value) > MAX_NAME:
        _rule(f"{where} is longer than {MAX_NAME} characters", where)
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _invalid(f"{where} must be an object", where, type=type(value).__name__)
    return value


def _sequence(value: Any, where: str, limit: int, *, allow_empty: bool = True) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        _invalid(f"{where} must be a list", where, type=type(value).__name__)
    if not value and not allow_empty:
        _invalid(f"{where} must not be empty", where)
    if len(value) > limit:
        _rule(f"{where} has {len(value):,} entries; at most {limit:,} are allowed", where)
    return list(value)


def _required(item: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in item:
        _invalid(f"{where}.{key} is missing", f"{where}.{key}")
    return item[key]


def _known_keys(item: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        _invalid(
            f"{where} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}",
            f"{where}.{unknown[0]}",
        )


# -- ranking ----------------------------------------------------------------------------
@dataclass
class _Criterion:
    name: str
    weight: float
    goal: str
    low: float | None
    high: float | None


def _criteria(criteria: Any) -> list[_Criterion]:
    items = _sequence(criteria, "criteria", MAX_CRITERIA, allow_empty=False)
    result: list[_Criterion] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        where = f"criteria[{i}]"
        item = _mapping(raw, where)
        _known_keys(item, ("name", "weight", "goal", "min", "max"), where)
        name = _text(_required(item, "name", where), f"{where}.name")
        if name in seen:
            _rule(f"criterion {name!r} is given twice", f"{where}.name")
        seen.add(name)
        weight = _number(_required(item, "weight", where), f"{where}.weight")
        if weight <= 0:
            _rule(f"{where}.weight must be greater than 0", f"{where}.weight")
        goal = _required(item, "goal", where)
        if goal not in ("max", "min"):
            _invalid(f"{where}.goal must be 'max' or 'min'", f"{where}.goal")
        low = _optional_number(item.get("min"), f"{where}.min")
        high = _optional_number(item.get("max"), f"{where}.max")
        if low is not None and high is not None and low > high:
            _rule(f"{where}.min is above its max", f"{where}.min")
        result.append(_Criterion(name, weight, goal, low, high))
    return result


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"


def rank_options(
    options: list[dict[str, Any]], criteria: list[dict[str, Any]]
) -> list[RankedOption]:
    """Rank options by the weighted sum of min-max normalised criteria (see the module
    docstring): ranked options best first, then the excluded ones."""
    specs = _criteria(criteria)
    rows = _sequence(options, "options", MAX_OPTIONS, allow_empty=False)
    values = np.empty((len(rows), len(specs)), dtype=np.float64)
    for i, raw in enumerate(rows):
        option = _mapping(raw, f"options[{i}]")
        for j, spec in enumerate(specs):
            if spec.name not in option:
                _invalid(
                    f"options[{i}] has no value for the criterion {spec.name!r}",
                    f"options[{i}].{spec.name}",
                )
            values[i, j] = _number(option[spec.name], f"options[{i}].{spec.name}")
    reasons: list[list[str]] = [[] for _ in rows]
    for i in range(len(rows)):
        for j, spec in enumerate(specs):
            value = values[i, j]
            if spec.low is not None and value < spec.low:
                reasons[i].append(
                    f"{spec.name} {_fmt(value)} is below the minimum {_fmt(spec.low)}"
                )
            if spec.high is not None and value > spec.high:
                reasons[i].append(
                    f"{spec.name} {_fmt(value)} is above the maximum {_fmt(spec.high)}"
                )
    eligible = [i for i in range(len(rows)) if not reasons[i]]
    total_weight = sum(s.weight for s in specs)
    shares = [s.weight / total_weight for s in specs]
    normalised = np.ones((len(rows), len(specs)), dtype=np.float64)
    if eligible:
        block = values[eligible]
        low, high = block.min(axis=0), block.max(axis=0)
        for j, spec in enumerate(specs):
            span = high[j] - low[j]
            if span > 0:  # a constant column keeps 1 for everyone
                column = (block[:, j] - low[j]) / span
                normalised[eligible, j] = column if spec.goal == "max" else 1.0 - column
    scored = []
    for i in eligible:
        contributions = {s.name: shares[j] * float(normalised[i, j]) for j, s in enumerate(specs)}
        scored.append((sum(contributions.values()), i, contributions))
    scored.sort(key=lambda item: (-item[0], item[1]))
    ranked: list[RankedOption] = []
    rank, previous = 0, math.inf
    for position, (score, i, contributions) in enumerate(scored):
        if previous - score > TIE:  # not tied with the one before: a new rank
            rank = position + 1
        previous = score
        ranked.append(
            RankedOption(
                option=dict(rows[i]),
                index=i,
                rank=rank,
                score=score,
                contributions=contributions,
                normalised={s.name: float(normalised[i, j]) for j, s in enumerate(specs)},
                excluded=False,
                reasons=[],
            )
        )
    for i in range(len(rows)):
        if reasons[i]:
            ranked.append(
                RankedOption(
                    option=dict(rows[i]),
                    index=i,
                    rank=None,
                    score=None,
                    contributions={},
                    normalised={},
                    excluded=True,
                    reasons=reasons[i],
                )
            )
    return ranked


# -- linear / mixed-integer programs ----------------------------------------------------
@dataclass
class _Row:
    name: str
    op: str
    rhs: float
    columns: list[int]
    coefficients: list[float]


@dataclass
class _Model:
    sense: str
    names: list[str]
    integer: list[bool]
    lower: Floats
    upper: Floats
    objective: Floats  # as given (not negated for "max")
    rows: list[_Row]
    time_limit: float


def _terms(
    raw: Any, where: str, index: Mapping[str, int], *, allow_empty: bool
) -> tuple[list[int], list[float]]:
    terms = _mapping(raw, where)
    if not terms and not allow_empty:
        _invalid(f"{where} must name at least one variable", where)
    columns, coefficients = [], []
    for name, coefficient in terms.items():
        column = index.get(name) if isinstance(name, str) else None
        if column is None:
            _rule(f"{where} uses the unknown variable {name!r}", f"{where}.{name}")
        columns.append(column)
        coefficients.append(_number(coefficient, f"{where}.{name}"))
    return columns, coefficients


def _variables(raw: Any) -> tuple[list[str], list[bool], Floats, Floats]:
    items = _sequence(raw, "variables", MAX_VARIABLES, allow_empty=False)
    names: list[str] = []
    integer: list[bool] = []
    lower = np.zeros(len(items))
    upper = np.full(len(items), np.inf)
    seen: set[str] = set()
    for i, entry in enumerate(items):
        where = f"variables[{i}]"
        item = _mapping(entry, where)
        _known_keys(item, ("name", "type", "lower", "upper"), where)
        name = _text(_required(item, "name", where), f"{where}.name")
        if name in seen:
            _rule(f"the variable name {name!r} is used twice", f"{where}.name")
        seen.add(name)
        kind = item.get("type", "continuous")
        if kind not in VARIABLE_TYPES:
            _invalid(f"{where}.type must be one of {', '.join(VARIABLE_TYPES)}", f"{where}.type")
        low = _optional_number(item.get("lower", 0.0), f"{where}.lower")
        high = _optional_number(item.get("upper"), f"{where}.upper")
        if kind == "binary":
            low = 0.0 if low is None else low
            high = 1.0 if high is None else high
            if low < 0 or high > 1:
                _rule(f"{where}: a binary variable's bounds must lie within 0 … 1", where)
        lower[i] = -np.inf if low is None else low
        upper[i] = np.inf if high is None else high
        if lower[i] > upper[i]:
            _rule(f"{where}.lower ({low:g}) is above its upper bound ({high:g})", f"{where}.lower")
        if (
            kind != "continuous"
            and math.isfinite(lower[i])
            and math.isfinite(upper[i])
            and math.ceil(lower[i] - 1e-9) > math.floor(upper[i] + 1e-9)
        ):
            _rule(f"{where}: no whole number lies between its bounds", f"{where}.lower")
        names.append(name)
        integer.append(kind != "continuous")
    return names, integer, lower, upper


def _model(problem: Any) -> _Model:
    spec = _mapping(problem, "problem")
    _known_keys(spec, ("sense", "variables", "objective", "constraints", "time_limit"), "problem")
    sense = _required(spec, "sense", "problem")
    if sense not in ("max", "min"):
        _invalid("sense must be 'max' or 'min'", "sense")
    names, integer, lower, upper = _variables(_required(spec, "variables", "problem"))
    index = {name: i for i, name in enumerate(names)}
    objective = np.zeros(len(names))
    columns, coefficients = _terms(
        _required(spec, "objective", "problem"), "objective", index, allow_empty=True
    )
    objective[columns] = coefficients
    rows: list[_Row] = []
    seen: set[str] = set()
    terms = 0
    for i, entry in enumerate(
        _sequence(spec.get("constraints", []), "constraints", MAX_CONSTRAINTS)
    ):
        where = f"constraints[{i}]"
        item = _mapping(entry, where)
        _known_keys(item, ("name", "terms", "op", "rhs"), where)
        name = _text(item.get("name", f"c{i}"), f"{where}.name")
        if name in seen:
            _rule(f"the constraint name {name!r} is used twice", f"{where}.name")
        seen.add(name)
        op = _required(item, "op", where)
        if op not in OPS:
            _invalid(f"{where}.op must be one of {', '.join(OPS)}", f"{where}.op")
        rhs = _number(_required(item, "rhs", where), f"{where}.rhs")
        columns, coefficients = _terms(
            _required(item, "terms", where), f"{where}.terms", index, allow_empty=False
        )
        terms += len(columns)
        if terms > MAX_TERMS:
            _rule(f"the constraints have more than {MAX_TERMS:,} terms in all", "constraints")
        rows.append(_Row(name, op, rhs, columns, coefficients))
    limit = _number(spec.get("time_limit", DEFAULT_TIME_LIMIT), "time_limit")
    if not 0 < limit <= MAX_TIME_LIMIT:
        _rule(f"time_limit must be more than 0 and at most {MAX_TIME_LIMIT:g} s", "time_limit")
    return _Model(sense, names, integer, lower, upper, objective, rows, limit)


@dataclass
class _Solved:
    status: int  # scipy's: 0 optimal, 1 limit, 2 infeasible, 3 unbounded, 4 other
    message: str
    x: Floats | None
    mip_gap: float | None


def _milp(
    model: _Model,
    cost: Floats,
    rows: Sequence[int],
    time_limit: float,
    slack: Sequence[int] = (),
) -> _Solved:
    """Solve ``min cost·x`` over ``rows`` (indices into ``model.rows``); the rows listed in
    ``slack`` are elastic: they get slack columns after the model's own, and ``cost`` must
    already be that long."""
    n = len(model.names)
    elastic = {r: k for k, r in enumerate(slack)}
    extra = sum(2 if model.rows[r].op == "==" else 1 for r in slack)
    data: list[float] = []
    row_index: list[int] = []
    col_index: list[int] = []
    low = np.empty(len(rows))
    high = np.empty(len(rows))
    next_slack = n
    for position, r in enumerate(rows):
        row = model.rows[r]
        data.extend(row.coefficients)
        row_index.extend([position] * len(row.columns))
        col_index.extend(row.columns)
        low[position] = row.rhs if row.op in (">=", "==") else -np.inf
        high[position] = row.rhs if row.op in ("<=", "==") else np.inf
        if r in elastic:  # "<=": a·x - s ≤ b; ">=": a·x + s ≥ b; "==": a·x + p - q = b
            signs = {"<=": (-1.0,), ">=": (1.0,), "==": (1.0, -1.0)}[row.op]
            for sign in signs:
                data.append(sign)
                row_index.append(position)
                col_index.append(next_slack)
                next_slack += 1
    width = n + extra
    integrality = np.concatenate([np.array(model.integer, dtype=np.int8), np.zeros(extra, np.int8)])
    bounds = Bounds(
        np.concatenate([model.lower, np.zeros(extra)]),
        np.concatenate([model.upper, np.full(extra, np.inf)]),
    )
    constraints = []
    if rows:
        matrix = coo_array((data, (row_index, col_index)), shape=(len(rows), width)).tocsr()
        constraints.append(LinearConstraint(matrix, low, high))
    result = milp(
        cost,
        integrality=integrality,
        bounds=bounds,
        constraints=constraints,
        options={"disp": False, "presolve": True, "time_limit": max(time_limit, 0.01)},
    )
    x = None if result.x is None else np.asarray(result.x, dtype=np.float64)
    gap = result.get("mip_gap")
    return _Solved(int(result.status), str(result.message), x, None if gap is None else float(gap))


def _clean(value: float) -> float:
    nearest = round(value)
    if abs(value - nearest) <= 1e-9 * max(1.0, abs(value)):
        value = float(nearest)
    return value + 0.0  # no negative zero


def _activity(row: _Row, x: Floats) -> float:
    return float(np.dot(row.coefficients, x[row.columns]))


def _tolerance(row: _Row) -> float:
    return FEASIBILITY_TOL * max(1.0, abs(row.rhs))


def _quote(names: Sequence[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _diagnose(model: _Model) -> InfeasibilityReport:
    """The elastic relaxation's least total violation, and a conflict set (module docs)."""
    deadline = time.monotonic() + model.time_limit
    solves = 0
    everything = list(range(len(model.rows)))
    n = len(model.names)

    def elastic(hard: set[int]) -> tuple[_Solved, dict[int, float]]:
        nonlocal solves
        solves += 1
        soft = [r for r in everything if r not in hard]
        width = n + sum(2 if model.rows[r].op == "==" else 1 for r in soft)
        cost = np.concatenate([np.zeros(n), np.ones(width - n)])
        solved = _milp(model, cost, everything, deadline - time.monotonic(), slack=soft)
        slack: dict[int, float] = {}
        if solved.x is not None and solved.status == 0:
            column = n
            for r in soft:
                parts = 2 if model.rows[r].op == "==" else 1
                amount = float(solved.x[column : column + parts].sum())
                column += parts
                if amount > _tolerance(model.rows[r]):
                    slack[r] = amount
        return solved, slack

    def feasible(rows: list[int]) -> bool | None:
        nonlocal solves
        solves += 1
        solved = _milp(model, np.zeros(n), rows, deadline - time.monotonic())
        return True if solved.status == 0 else False if solved.status == 2 else None

    # Validation guarantees every variable's bounds admit a value, so the elastic problem
    # (every constraint can be met with slack) always has a solution; only time can stop it.
    first, slack = elastic(set())
    violations = [
        ConstraintViolation(
            constraint=model.rows[r].name,
            op=model.rows[r].op,
            rhs=model.rows[r].rhs,
            activity=_clean(_activity(model.rows[r], first.x)) if first.x is not None else 0.0,
            violation=_clean(amount),
        )
        for r, amount in slack.items()
    ]
    violations.sort(key=lambda v: (-v.violation, v.constraint))
    complete = first.status == 0
    hard: set[int] = set(slack)
    while complete:  # the elastic filter
        if solves >= MAX_DIAGNOSIS_SOLVES or time.monotonic() >= deadline:
            complete = False
            break
        solved, more = elastic(hard)
        if solved.status == 2:
            break
        if solved.status != 0 or not more:  # out of time, or numerically feasible
            complete = False
            break
        hard |= set(more)
    conflict = sorted(hard)
    for r in list(conflict):  # the deletion filter
        if not complete or solves >= MAX_DIAGNOSIS_SOLVES or time.monotonic() >= deadline:
            complete = False
            break
        rest = [c for c in conflict if c != r]
        verdict = feasible(rest)
        if verdict is False:
            conflict = rest
        elif verdict is None:
            complete = False
    names = [model.rows[r].name for r in conflict]
    total = _clean(sum(v.violation for v in violations))
    if names:
        message = (
            f"The constraints {_quote(names)} cannot all hold"
            if len(names) > 1
            else (f"The constraint {_quote(names)} cannot hold")
        )
        message += " within the variables' bounds"
        message += (
            "; without any one of them the rest can."
            if complete
            else " (the search for the smallest such set was cut short)."
        )
    else:
        message = "No conflicting set of constraints was isolated in time."
    if violations:
        fixes = ", ".join(f"'{v.constraint}' by {_fmt(v.violation)}" for v in violations)
        message += f" The least total relaxation ({_fmt(total)}) relaxes {fixes}."
    return InfeasibilityReport(
        conflict=names,
        conflict_is_minimal=complete,
        violations=violations,
        total_violation=total,
        message=message,
    )


def _solution(model: _Model, x: Floats) -> tuple[dict[str, float | int], float, list[str]]:
    values: dict[str, float | int] = {}
    cleaned = np.empty(len(model.names))
    for i, name in enumerate(model.names):
        if model.integer[i]:
            whole = round(float(x[i]))
            values[name], cleaned[i] = whole, float(whole)
        else:
            cleaned[i] = _clean(float(x[i]))
            values[name] = float(cleaned[i])
    objective = _clean(float(np.dot(model.objective, cleaned)))
    binding = [
        row.name for row in model.rows if abs(_activity(row, cleaned) - row.rhs) <= _tolerance(row)
    ]
    return values, objective, binding


def solve(problem: dict[str, Any]) -> OptimisationResult:
    """Solve a linear or mixed-integer program given in the documented dict format."""
    model = _model(problem)
    started = time.monotonic()
    cost = -model.objective if model.sense == "max" else model.objective
    everything = list(range(len(model.rows)))
    solved = _milp(model, cost, everything, model.time_limit)
    status = solved.status
    if status in (3, 4):  # "unbounded" or "infeasible or unbounded": is there any solution?
        probe = _milp(model, np.zeros(len(model.names)), everything, model.time_limit)
        if probe.status == 0:
            status = 3
        elif probe.status == 2:
            status = 2
    has_integers = any(model.integer)
    result = OptimisationResult(status="error", message=solved.message, sense=model.sense)
    if status == 0 and solved.x is not None:
        result.status = "optimal"
        result.values, result.objective, result.binding = _solution(model, solved.x)
        result.mip_gap = (solved.mip_gap or 0.0) if has_integers else None
        result.message = "Optimal solution found."
    elif status == 1:
        result.status = "time_limit"
        if solved.x is not None:
            result.values, result.objective, result.binding = _solution(model, solved.x)
            result.mip_gap = solved.mip_gap if has_integers else None
            gap = f" (within {result.mip_gap:.2%} of the optimum)" if result.mip_gap else ""
            result.message = (
                f"Stopped at the time limit of {model.time_limit:g} s; this is the best "
                f"solution found{gap}."
            )
        else:
            result.message = (
                f"Stopped at the time limit of {model.time_limit:g} s before any solution "
                f"was found."
            )
    elif status == 2:
        result.status = "infeasible"
        result.infeasibility = _diagnose(model)
        result.message = "No solution satisfies every constraint. " + (result.infeasibility.message)
    elif status == 3:
        result.status = "unbounded"
        direction = "increase" if model.sense == "max" else "decrease"
        result.message = (
            f"The objective can {direction} without limit: a bound or constraint is missing."
        )
    result.solve_seconds = time.monotonic() - started
    return result


# -- appointments -----------------------------------------------------------------------
@dataclass
class _Job:
    id: str
    slots: int
    skills: frozenset[str]
    bay_type: str | None
    priority: float
    first: int  # earliest start slot
    last: int  # latest end slot


@dataclass
class _Tech:
    id: str
    skills: frozenset[str]
    first: int
    last: int
    max_slots: int


@dataclass
class _Bay:
    id: str
    type: str
    first: int
    last: int


def _skills(value: Any, where: str) -> frozenset[str]:
    items = _sequence(value, where, 100)
    return frozenset(_text(s, f"{where}[{i}]") for i, s in enumerate(items))


def _slot_window(
    item: Mapping[str, Any], where: str, keys: tuple[str, str], horizon: float, slot: float
) -> tuple[int, int]:
    start = _number(item.get(keys[0], 0.0), f"{where}.{keys[0]}")
    end = _number(item.get(keys[1], horizon), f"{where}.{keys[1]}")
    if start < 0 or end > horizon or start > end:
        _rule(
            f"{where}: {keys[0]} and {keys[1]} must satisfy 0 ≤ {keys[0]} ≤ {keys[1]} ≤ "
            f"the horizon ({horizon:g} h)",
            f"{where}.{keys[0]}",
        )
    return math.ceil(start / slot - 1e-9), math.floor(end / slot + 1e-9)


def _unique_ids(items: list[Mapping[str, Any]], name: str) -> list[str]:
    ids: list[str] = []
    for i, item in enumerate(items):
        value = _text(_required(item, "id", f"{name}[{i}]"), f"{name}[{i}].id")
        if value in ids:
            _rule(f"{name}[{i}].id {value!r} is used twice", f"{name}[{i}].id")
        ids.append(value)
    return ids


def _hours(slots: float, slot: float) -> str:
    return f"{slots * slot:g} h"


class _Lane:
    """The appointment model: parsed input, candidate assignments, the problem dict."""

    def __init__(
        self,
        appointments: Any,
        technicians: Any,
        bays: Any,
        horizon: Any,
        slot_minutes: Any,
        time_limit: Any,
    ) -> None:
        horizon_h = _number(horizon, "horizon")
        if not 0 < horizon_h <= 24 * 14:
            _rule("horizon must be more than 0 and at most 336 hours", "horizon")
        minutes = _number(slot_minutes, "slot_minutes")
        if minutes != int(minutes) or not 5 <= minutes <= 240:
            _rule("slot_minutes must be a whole number from 5 to 240", "slot_minutes")
        self.slot = minutes / 60.0  # hours per slot
        self.slots = math.floor(horizon_h / self.slot + 1e-9)
        if self.slots < 1:
            _rule("the horizon is shorter than one slot", "horizon")
        self.time_limit = _number(time_limit, "time_limit")
        if not 0 < self.time_limit <= MAX_TIME_LIMIT:
            _rule(f"time_limit must be more than 0 and at most {MAX_TIME_LIMIT:g} s", "time_limit")
        job_items = [
            _mapping(a, f"appointments[{i}]")
            for i, a in enumerate(_sequence(appointments, "appointments", MAX_VARIABLES))
        ]
        tech_items = [
            _mapping(t, f"technicians[{i}]")
            for i, t in enumerate(_sequence(technicians, "technicians", 1000))
        ]
        bay_items = [_mapping(b, f"bays[{i}]") for i, b in enumerate(_sequence(bays, "bays", 1000))]
        _unique_ids(job_items, "appointments")
        _unique_ids(tech_items, "technicians")
        _unique_ids(bay_items, "bays")
        self.jobs: list[_Job] = []
        for i, item in enumerate(job_items):
            where = f"appointments[{i}]"
            _known_keys(
                item,
                ("id", "duration", "skills", "bay_type", "priority", "earliest", "latest"),
                where,
            )
            duration = _number(_required(item, "duration", where), f"{where}.duration")
            if duration <= 0:
                _rule(f"{where}.duration must be more than 0 hours", f"{where}.duration")
            priority = _number(item.get("priority", 1.0), f"{where}.priority")
            if priority <= 0:
                _rule(f"{where}.priority must be more than 0", f"{where}.priority")
            bay_type = item.get("bay_type")
            if bay_type is not None:
                bay_type = _text(bay_type, f"{where}.bay_type")
            first, last = _slot_window(item, where, ("earliest", "latest"), horizon_h, self.slot)
            self.jobs.append(
                _Job(
                    id=item["id"],
                    slots=math.ceil(duration / self.slot - 1e-9),
                    skills=_skills(item.get("skills", []), f"{where}.skills"),
                    bay_type=bay_type,
                    priority=priority,
                    first=first,
                    last=last,
                )
            )
        self.techs: list[_Tech] = []
        for i, item in enumerate(tech_items):
            where = f"technicians[{i}]"
            _known_keys(item, ("id", "skills", "start", "end", "hours"), where)
            first, last = _slot_window(item, where, ("start", "end"), horizon_h, self.slot)
            hours = _number(item.get("hours", (last - first) * self.slot), f"{where}.hours")
            if hours < 0:
                _rule(f"{where}.hours must not be negative", f"{where}.hours")
            self.techs.append(
                _Tech(
                    id=item["id"],
                    skills=_skills(item.get("skills", []), f"{where}.skills"),
                    first=first,
                    last=last,
                    max_slots=min(math.floor(hours / self.slot + 1e-9), last - first),
                )
            )
        self.bays: list[_Bay] = []
        for i, item in enumerate(bay_items):
            where = f"bays[{i}]"
            _known_keys(item, ("id", "type", "start", "end"), where)
            first, last = _slot_window(item, where, ("start", "end"), horizon_h, self.slot)
            kind = _text(item.get("type", "general"), f"{where}.type")
            self.bays.append(_Bay(item["id"], kind, first, last))
        self.candidates = self._candidates()

    def skilled(self, job: _Job) -> list[_Tech]:
        return [t for t in self.techs if job.skills <= t.skills]

    def suitable(self, job: _Job) -> list[_Bay]:
        return [b for b in self.bays if job.bay_type is None or b.type == job.bay_type]

    def _candidates(self) -> list[tuple[int, int, int, int]]:
        """Every (job, technician, bay, start slot) that respects skills, bay type, the
        technician's shift and hours, the bay's opening hours and the job's window."""
        windows: list[tuple[int, int, int, int, int]] = []  # job, tech, bay, first, last start
        for j, job in enumerate(self.jobs):
            for t, tech in enumerate(self.techs):
                if not job.skills <= tech.skills or job.slots > tech.max_slots:
                    continue
                for b, bay in enumerate(self.bays):
                    if job.bay_type is not None and bay.type != job.bay_type:
                        continue
                    first = max(job.first, tech.first, bay.first)
                    last = min(job.last, tech.last, bay.last) - job.slots
                    if last >= first:
                        windows.append((j, t, b, first, last))
        count = sum(last - first + 1 for *_, first, last in windows)
        if count > MAX_VARIABLES:  # refused before anything that large is built
            _rule(
                f"The appointment model would need {count:,} variables (at most "
                f"{MAX_VARIABLES:,}): use fewer appointments, a shorter horizon or longer "
                f"slots",
                "appointments",
                variables=count,
            )
        return [(j, t, b, s) for j, t, b, first, last in windows for s in range(first, last + 1)]

    def problem(self) -> dict[str, Any]:
        """The model in ``solve``'s format. Variable ``y<k>`` is 1 when candidate k is
        chosen; at most one candidate per job, one job per technician and bay per slot,
        technician hours; maximise the priority served."""
        names = [f"y{k}" for k in range(len(self.candidates))]
        per_job: dict[int, dict[str, float]] = {}
        tech_slot: dict[tuple[int, int], dict[str, float]] = {}
        bay_slot: dict[tuple[int, int], dict[str, float]] = {}
        tech_hours: dict[int, dict[str, float]] = {}
        for name, (j, t, b, s) in zip(names, self.candidates, strict=True):
            job = self.jobs[j]
            per_job.setdefault(j, {})[name] = 1.0
            tech_hours.setdefault(t, {})[name] = float(job.slots)
            for u in range(s, s + job.slots):
                tech_slot.setdefault((t, u), {})[name] = 1.0
                bay_slot.setdefault((b, u), {})[name] = 1.0
        constraints: list[dict[str, Any]] = []
        for j, terms in per_job.items():
            if len(terms) > 1:
                constraints.append(
                    {
                        "name": f"appointment {self.jobs[j].id} at most once",
                        "terms": terms,
                        "op": "<=",
                        "rhs": 1,
                    }
                )
        for (t, u), terms in tech_slot.items():
            if len(terms) > 1:
                constraints.append(
                    {
                        "name": f"technician {self.techs[t].id} slot {u}",
                        "terms": terms,
                        "op": "<=",
                        "rhs": 1,
                    }
                )
        for (b, u), terms in bay_slot.items():
            if len(terms) > 1:
                constraints.append(
                    {
                        "name": f"bay {self.bays[b].id} slot {u}",
                        "terms": terms,
                        "op": "<=",
                        "rhs": 1,
                    }
                )
        for t, terms in tech_hours.items():
            tech = self.techs[t]
            if tech.max_slots < tech.last - tech.first:
                constraints.append(
                    {
                        "name": f"technician {tech.id} hours",
                        "terms": terms,
                        "op": "<=",
                        "rhs": tech.max_slots,
                    }
                )
        return {
            "sense": "max",
            "variables": [{"name": n, "type": "binary"} for n in names],
            "objective": {
                n: self.jobs[j].priority
                for n, (j, _, _, _) in zip(names, self.candidates, strict=True)
            },
            "constraints": constraints,
            "time_limit": self.time_limit,
        }

    def why_unserved(
        self, index: int, tech_busy: list[set[int]], bay_busy: list[set[int]], used: list[int]
    ) -> tuple[str, str]:
        """A reason code and sentence for a job left out of the plan."""
        job = self.jobs[index]
        skilled = self.skilled(job)
        if not skilled:
            held = set().union(*(t.skills for t in self.techs)) if self.techs else set()
            missing = sorted(job.skills - held)
            if missing:
                return "no_skilled_technician", (
                    f"no technician has the skill{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)}"
                )
            return "no_skilled_technician", (
                f"no single technician has all of: {', '.join(sorted(job.skills))}"
            )
        suitable = self.suitable(job)
        if not suitable:
            return "no_bay_of_type", f"there is no bay of type '{job.bay_type}'"
        options = [c for c in self.candidates if c[0] == index]
        if not options:
            return "does_not_fit", (
                f"a {_hours(job.slots, self.slot)} job fits no skilled technician's shift and "
                f"hours together with a suitable bay's opening hours and the appointment's "
                f"time window"
            )
        tech_free, bay_free, short = [], [], []
        for _, t, b, s in options:
            span = set(range(s, s + job.slots))
            tech = self.techs[t]
            # Hours are the reason only where they cap the day below the shift; otherwise
            # the shift is simply booked.
            hours_short = (
                tech.max_slots < tech.last - tech.first and used[t] + job.slots > tech.max_slots
            )
            short.append(hours_short)
            tech_free.append(not hours_short and not span & tech_busy[t])
            bay_free.append(not span & bay_busy[b])
        if any(tf and bf for tf, bf in zip(tech_free, bay_free, strict=True)):
            return "not_scheduled", "the solver stopped before it could place it"
        if all(short):
            left = ", ".join(
                f"{tech.id} ({_hours(max(tech.max_slots - used[t], 0), self.slot)} of "
                f"{_hours(tech.max_slots, self.slot)} left)"
                for t, tech in enumerate(self.techs)
                if job.skills <= tech.skills
            )
            return "technician_hours", (
                f"the skilled technicians have too few hours left for "
                f"{_hours(job.slots, self.slot)}: {left}"
            )
        if not any(tech_free):
            return "technicians_busy", (
                f"the skilled technicians ({', '.join(t.id for t in skilled)}) are booked "
                f"whenever it could be done"
            )
        if not any(bay_free):
            kind = f"'{job.bay_type}' bays" if job.bay_type else "bays"
            return "bays_busy", (
                f"the {kind} ({', '.join(b.id for b in suitable)}) are taken whenever a skilled "
                f"technician is free"
            )
        return "capacity", (
            "there is no time when a skilled technician and a suitable bay are both free"
        )

    def decode(self, result: OptimisationResult) -> AppointmentPlan:
        base = {f.name: getattr(result, f.name) for f in fields(OptimisationResult)}
        plan = AppointmentPlan(**base)
        tech_busy: list[set[int]] = [set() for _ in self.techs]
        bay_busy: list[set[int]] = [set() for _ in self.bays]
        used = [0] * len(self.techs)
        served: set[int] = set()
        for k, (j, t, b, s) in enumerate(self.candidates):
            if result.values.get(f"y{k}") != 1:
                continue
            job = self.jobs[j]
            served.add(j)
            span = range(s, s + job.slots)
            tech_busy[t].update(span)
            bay_busy[b].update(span)
            used[t] += job.slots
            plan.assignments.append(
                {
                    "appointment": job.id,
                    "technician": self.techs[t].id,
                    "bay": self.bays[b].id,
                    "start": _clean(s * self.slot),
                    "end": _clean((s + job.slots) * self.slot),
                    "priority": job.priority,
                }
            )
        plan.assignments.sort(key=lambda a: (a["start"], a["technician"], a["appointment"]))
        for j, job in enumerate(self.jobs):
            if j in served:
                continue
            planned = result.status == "optimal" or (
                result.status == "time_limit" and bool(result.values)
            )
            if planned:
                reason, message = self.why_unserved(j, tech_busy, bay_busy, used)
            else:
                reason, message = "not_scheduled", "no plan was found within the time limit"
            plan.unserved.append(
                {
                    "appointment": job.id,
                    "priority": job.priority,
                    "reason": reason,
                    "message": message,
                }
            )
        return plan


def appointment_problem(
    appointments: list[dict[str, Any]],
    technicians: list[dict[str, Any]],
    bays: list[dict[str, Any]],
    *,
    horizon: float = 8.0,
    slot_minutes: int = 30,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> dict[str, Any]:
    """The appointment model as a problem dict for ``solve`` (for callers that want to
    inspect or extend it); ``assign_appointments`` solves and decodes it."""
    return _Lane(appointments, technicians, bays, horizon, slot_minutes, time_limit).problem()


def assign_appointments(
    appointments: list[dict[str, Any]],
    technicians: list[dict[str, Any]],
    bays: list[dict[str, Any]],
    *,
    horizon: float = 8.0,
    slot_minutes: int = 30,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> AppointmentPlan:
    """Assign service appointments to technicians, bays and start times, maximising the
    total priority of the appointments served.

    Times are hours from the start of the horizon (the day's opening). The day is cut into
    slots of ``slot_minutes``; a job takes whole slots (45 minutes in 30-minute slots
    blocks an hour), technicians' shifts and bays' opening hours are rounded inwards.

    * appointment: ``{"id", "duration" (hours), "skills": [...] (default none),
      "bay_type" (default: any bay), "priority" (> 0, default 1), "earliest" (default 0),
      "latest" (the latest end, default the horizon)}``
    * technician: ``{"id", "skills": [...], "start", "end" (the shift; default the
      horizon), "hours" (most hours of work; default the shift's length)}``
    * bay: ``{"id", "type" (default "general"), "start", "end" (opening hours)}``; a bay
      holds one vehicle at a time.

    A technician must have every skill a job requires. Each unserved appointment gets a
    reason code — ``no_skilled_technician``, ``no_bay_of_type``, ``does_not_fit`` (no
    shift, opening hours and window long enough), ``technician_hours`` (the skilled
    technicians' hours are used up), ``technicians_busy``, ``bays_busy``, ``capacity``
    (never a skilled technician and a suitable bay free at once) or ``not_scheduled``
    (the solver stopped early) — and a sentence.
    """
    lane = _Lane(appointments, technicians, bays, horizon, slot_minutes, time_limit)
    if not lane.candidates:  # nothing can be placed: no program to solve
        result = OptimisationResult(
            status="optimal",
            message="No appointment can be placed; nothing to optimise.",
            sense="max",
            objective=0.0,
            mip_gap=0.0,
        )
    else:
        result = solve(lane.problem())
    return lane.decode(result)
