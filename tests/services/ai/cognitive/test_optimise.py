"""Decision optimisation: rankings, LP/MILP answers and infeasibility reports checked by
hand, the appointment model on small lanes with known optima, and every kind of bad input."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.ai.cognitive import optimise
from auterity_desktop.services.ai.cognitive.optimise import (
    AppointmentPlan,
    OptimisationResult,
    appointment_problem,
    assign_appointments,
    rank_options,
    solve,
)


def var(name: str, kind: str = "continuous", **bounds: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **bounds}


def con(name: str, terms: dict[str, float], op: str, rhs: float) -> dict[str, Any]:
    return {"name": name, "terms": terms, "op": op, "rhs": rhs}


# -- ranking ----------------------------------------------------------------------------
CARS = [
    {"name": "A", "price": 20_000, "mpg": 30, "safety": 4},
    {"name": "B", "price": 25_000, "mpg": 40, "safety": 5},
    {"name": "C", "price": 30_000, "mpg": 35, "safety": 3},
    {"name": "D", "price": 40_000, "mpg": 50, "safety": 5},
    {"name": "E", "price": 22_000, "mpg": 20, "safety": 2},
]
CAR_CRITERIA = [
    {"name": "price", "weight": 2, "goal": "min", "max": 35_000},
    {"name": "mpg", "weight": 1, "goal": "max"},
    {"name": "safety", "weight": 1, "goal": "max", "min": 3},
]


def test_ranking_by_hand() -> None:
    ranked = rank_options(CARS, CAR_CRITERIA)
    # Eligible: A, B, C (D is too dear, E not safe enough). Weight shares 0.5, 0.25, 0.25.
    # price 20k…30k (lower is better): A 1, B 0.5, C 0; mpg 30…40: A 0, B 1, C 0.5;
    # safety 3…5: A 0.5, B 1, C 0.
    assert [(r.option["name"], r.rank, r.score) for r in ranked[:3]] == [
        ("B", 1, pytest.approx(0.75)),
        ("A", 2, pytest.approx(0.625)),
        ("C", 3, pytest.approx(0.125)),
    ]
    best = ranked[0]
    assert best.normalised == {"price": 0.5, "mpg": 1.0, "safety": 1.0}
    assert best.contributions == {"price": 0.25, "mpg": 0.25, "safety": 0.25}
    assert ranked[2].contributions == {"price": 0.0, "mpg": 0.125, "safety": 0.0}
    assert sum(ranked[1].contributions.values()) == ranked[1].score
    assert [(r.option["name"], r.index, r.excluded, r.rank, r.score) for r in ranked[3:]] == [
        ("D", 3, True, None, None),
        ("E", 4, True, None, None),
    ]
    assert ranked[3].reasons == ["price 40000 is above the maximum 35000"]
    assert ranked[4].reasons == ["safety 2 is below the minimum 3"]
    assert json.loads(json.dumps([r.to_dict() for r in ranked]))[0]["option"]["name"] == "B"


def test_ties_share_a_rank_and_constant_columns_give_everyone_one() -> None:
    options = [
        {"id": "x", "cost": 10, "speed": 5},
        {"id": "y", "cost": 20, "speed": 5},
        {"id": "z", "cost": 10, "speed": 5},
        {"id": "w", "cost": 15, "speed": 5},
    ]
    ranked = rank_options(
        options,
        [
            {"name": "cost", "weight": 3, "goal": "min"},
            {"name": "speed", "weight": 1, "goal": "max"},
        ],
    )
    # speed is the same for everyone: normalised 1, contribution 0.25 each.
    assert [(r.option["id"], r.rank, r.score) for r in ranked] == [
        ("x", 1, 1.0),
        ("z", 1, 1.0),
        ("w", 3, 0.625),
        ("y", 4, 0.25),
    ]
    assert {r.normalised["speed"] for r in ranked} == {1.0}
    single = rank_options([{"v": 3}], [{"name": "v", "weight": 1, "goal": "min"}])
    assert (single[0].rank, single[0].score) == (1, 1.0)


def test_every_option_excluded() -> None:
    ranked = rank_options(
        [{"p": 5}, {"p": 50}],
        [{"name": "p", "weight": 1, "goal": "max", "min": 10, "max": 40}],
    )
    assert [(r.excluded, r.reasons) for r in ranked] == [
        (True, ["p 5 is below the minimum 10"]),
        (True, ["p 50 is above the maximum 40"]),
    ]


BAD, RULE = ErrorCode.INVALID_INPUT, ErrorCode.VALIDATION_ERROR
P = {"name": "p", "weight": 1, "goal": "max"}


def crit(**changes: Any) -> list[dict[str, Any]]:
    return [{**P, **changes}]


@pytest.mark.parametrize(
    ("options", "criteria", "code", "field"),
    [
        ([], [P], BAD, "options"),
        ([{"p": 1}], [], BAD, "criteria"),
        ([{"p": 1}], "p", BAD, "criteria"),
        ([{"q": 1}], [P], BAD, "options[0].p"),
        ([{"p": "1"}], [P], BAD, "options[0].p"),
        ([{"p": math.nan}], [P], BAD, "options[0].p"),
        ([{"p": True}], [P], BAD, "options[0].p"),
        ([7], [P], BAD, "options[0]"),
        ([{"p": 1}], crit(weight=0), RULE, "criteria[0].weight"),
        ([{"p": 1}], [{"name": "p", "weight": 1}], BAD, "criteria[0].goal"),
        ([{"p": 1}], crit(goal="up"), BAD, "criteria[0].goal"),
        ([{"p": 1}], crit(min=5, max=1), RULE, "criteria[0].min"),
        ([{"p": 1}], crit(maximum=5), BAD, "criteria[0].maximum"),
        ([{"p": 1}], [P, P], RULE, "criteria[1].name"),
        ([{"p": 1}] * 10_001, [P], RULE, "options"),
    ],
)
def test_bad_rankings_are_refused(options: Any, criteria: Any, code: ErrorCode, field: str) -> None:
    with pytest.raises(ServiceError) as caught:
        rank_options(options, criteria)
    assert caught.value.code is code
    assert caught.value.details["field"] == field


# -- linear and mixed-integer programs --------------------------------------------------
PRODUCTION_MIX = {  # Hillier & Lieberman's Wyndor Glass: doors (x) and windows (y)
    "sense": "max",
    "variables": [var("doors"), var("windows")],
    "objective": {"doors": 3, "windows": 5},
    "constraints": [
        con("plant 1", {"doors": 1}, "<=", 4),
        con("plant 2", {"windows": 2}, "<=", 12),
        con("plant 3", {"doors": 3, "windows": 2}, "<=", 18),
    ],
}


def test_production_mix_lp() -> None:
    result = solve(PRODUCTION_MIX)
    assert isinstance(result, OptimisationResult)
    assert (result.status, result.sense) == ("optimal", "max")
    assert result.values == {"doors": 2.0, "windows": 6.0}
    assert result.objective == 36.0
    assert result.binding == ["plant 2", "plant 3"]
    assert result.mip_gap is None  # no integers: a plain LP
    assert result.infeasibility is None
    data = json.loads(json.dumps(result.to_dict()))
    assert data["values"] == {"doors": 2.0, "windows": 6.0}


def knapsack(kind: str) -> dict[str, Any]:
    values, weights = {"a": 60, "b": 100, "c": 120}, {"a": 10, "b": 20, "c": 30}
    return {
        "sense": "max",
        "variables": [var(n, kind, upper=1) for n in values],
        "objective": values,
        "constraints": [con("weight", weights, "<=", 50)],
        "time_limit": 10,
    }


def test_knapsack_binary_against_its_relaxation() -> None:
    result = solve(knapsack("binary"))
    assert result.status == "optimal"
    assert result.values == {"a": 0, "b": 1, "c": 1}
    assert all(type(v) is int for v in result.values.values())
    assert result.objective == 220.0
    assert result.mip_gap == pytest.approx(0.0, abs=1e-4)
    relaxed = solve(knapsack("continuous"))  # greedy by value density: a, b, 2/3 of c
    assert relaxed.objective == pytest.approx(240.0)
    assert relaxed.values["a"] == 1.0 and relaxed.values["b"] == 1.0
    assert relaxed.values["c"] == pytest.approx(2 / 3)


def test_integer_versus_continuous() -> None:
    def problem(kind: str) -> dict[str, Any]:  # scipy's milp example
        return {
            "sense": "max",
            "variables": [var("x", kind), var("y", kind)],
            "objective": {"y": 1},
            "constraints": [
                con("c1", {"x": -1, "y": 1}, "<=", 1),
                con("c2", {"x": 3, "y": 2}, "<=", 12),
                con("c3", {"x": 2, "y": 3}, "<=", 12),
            ],
        }

    continuous = solve(problem("continuous"))
    assert continuous.values == {"x": pytest.approx(1.8), "y": pytest.approx(2.8)}
    integer = solve(problem("integer"))
    assert integer.objective == 2.0
    assert integer.values["y"] == 2 and integer.values["x"] in (1, 2)


def test_minimisation_with_equalities_and_free_variables() -> None:
    # min 2a + 3b, a + b ≥ 4, a - b = 1 → b = 1.5, a = 2.5 (9.5); integers: b = 2, a = 3.
    def problem(kind: str) -> dict[str, Any]:
        return {
            "sense": "min",
            "variables": [var("a", kind), var("b", kind)],
            "objective": {"a": 2, "b": 3},
            "constraints": [
                con("demand", {"a": 1, "b": 1}, ">=", 4),
                con("balance", {"a": 1, "b": -1}, "==", 1),
            ],
        }

    result = solve(problem("continuous"))
    assert (result.values, result.objective) == ({"a": 2.5, "b": 1.5}, 9.5)
    assert result.binding == ["demand", "balance"]
    result = solve(problem("integer"))
    assert (result.values, result.objective) == ({"a": 3, "b": 2}, 12.0)
    assert result.binding == ["balance"]
    free = solve(
        {
            "sense": "min",
            "variables": [var("t", lower=None, upper=10)],
            "objective": {"t": 1},
            "constraints": [con("floor", {"t": 1}, ">=", -5)],
        }
    )
    assert (free.status, free.values) == ("optimal", {"t": -5.0})


def test_unbounded_lp_and_milp() -> None:
    lp = solve({"sense": "min", "variables": [var("t", lower=None)], "objective": {"t": 1}})
    assert lp.status == "unbounded"
    assert lp.message.startswith("The objective can decrease without limit")
    assert (lp.objective, lp.values) == (None, {})
    # HiGHS says "infeasible or unbounded" for this MIP; a feasibility solve tells which.
    milp = solve(
        {
            "sense": "max",
            "variables": [var("n", "integer"), var("y")],
            "objective": {"n": 1},
            "constraints": [con("cap y", {"y": 1}, "<=", 1)],
        }
    )
    assert milp.status == "unbounded"
    assert "increase without limit" in milp.message


def test_infeasible_problem_names_the_conflicting_constraints() -> None:
    problem = {
        "sense": "max",
        "variables": [var("x"), var("y"), var("z")],
        "objective": {"x": 1, "y": 1, "z": 1},
        "constraints": [
            con("budget z", {"z": 1}, "<=", 5),
            con("demand", {"x": 1, "y": 1}, ">=", 10),
            con("z floor", {"z": 1}, ">=", 1),
            con("capacity x", {"x": 1}, "<=", 3),
            con("capacity y", {"y": 1}, "<=", 4),
        ],
    }
    result = solve(problem)
    assert result.status == "infeasible"
    assert (result.values, result.objective) == ({}, None)
    report = result.infeasibility
    assert report is not None
    # x + y can reach 7 at most: the three constraints conflict, and only they do.
    assert report.conflict == ["demand", "capacity x", "capacity y"]
    assert report.conflict_is_minimal
    assert report.total_violation == 3.0  # the demand is 3 short, whichever gives way
    assert report.violations
    assert {v.constraint for v in report.violations} <= set(report.conflict)
    assert sum(v.violation for v in report.violations) == pytest.approx(3.0)
    for v in report.violations:
        assert v.violation == pytest.approx(
            (v.rhs - v.activity) if v.op == ">=" else (v.activity - v.rhs)
        )
    assert result.message.startswith(
        "No solution satisfies every constraint. The constraints 'demand', 'capacity x' and "
        "'capacity y' cannot all hold within the variables' bounds; without any one of them "
        "the rest can."
    )
    assert json.loads(json.dumps(result.to_dict()))["infeasibility"]["conflict"] == [
        "demand",
        "capacity x",
        "capacity y",
    ]


def test_two_separate_conflicts_give_one_irreducible_set() -> None:
    result = solve(
        {
            "sense": "min",
            "variables": [var("a"), var("b")],
            "objective": {},
            "constraints": [
                con("a high", {"a": 1}, ">=", 5),
                con("a low", {"a": 1}, "<=", 2),
                con("b high", {"b": 1}, ">=", 5),
                con("b low", {"b": 1}, "<=", 2),
            ],
        }
    )
    report = result.infeasibility
    assert report is not None
    assert report.conflict in (["a high", "a low"], ["b high", "b low"])
    assert report.conflict_is_minimal
    assert report.total_violation == 6.0  # 3 for each pair
    assert 2 <= len(report.violations) <= 4  # which side of each pair gives way is free


def test_infeasible_because_of_integrality() -> None:
    result = solve(
        {
            "sense": "min",
            "variables": [var("n", "integer", upper=10)],
            "objective": {"n": 1},
            "constraints": [con("odd", {"n": 2}, "==", 3), con("cap", {"n": 1}, "<=", 9)],
        }
    )
    assert result.status == "infeasible"
    report = result.infeasibility
    assert report is not None
    assert (report.conflict, report.conflict_is_minimal) == (["odd"], True)
    assert [(v.constraint, v.violation) for v in report.violations] == [("odd", 1.0)]
    assert "The constraint 'odd' cannot hold" in result.message


def test_time_limit_returns_the_best_solution_found() -> None:
    rng = np.random.default_rng(3)  # a 15-dimensional knapsack HiGHS cannot prove quickly
    weights = rng.integers(1, 1000, size=(15, 100))
    values = rng.integers(1, 1000, size=100)
    problem = {
        "sense": "max",
        "variables": [var(f"x{j}", "binary") for j in range(100)],
        "objective": {f"x{j}": int(values[j]) for j in range(100)},
        "constraints": [
            con(
                f"dim {i}",
                {f"x{j}": int(weights[i, j]) for j in range(100)},
                "<=",
                int(weights[i].sum() // 2),
            )
            for i in range(15)
        ],
        "time_limit": 0.3,
    }
    result = solve(problem)
    assert result.status == "time_limit"
    assert result.solve_seconds < 5
    assert result.values, "an empty knapsack is feasible: some solution is always found"
    chosen = np.array([result.values[f"x{j}"] for j in range(100)])
    assert set(chosen) <= {0, 1}
    assert (weights @ chosen <= weights.sum(axis=1) // 2).all()
    assert result.objective == float(values @ chosen)
    assert result.mip_gap is not None and result.mip_gap > 0
    assert result.message.startswith("Stopped at the time limit of 0.3 s; this is the best")


def test_no_solution_before_the_time_limit() -> None:
    rng = np.random.default_rng(7)  # a market-split instance: finding any point is hard
    a = rng.integers(0, 100, size=(5, 40))
    result = solve(
        {
            "sense": "min",
            "variables": [var(f"x{j}", "binary") for j in range(40)],
            "objective": {},
            "constraints": [
                con(
                    f"split {i}",
                    {f"x{j}": int(a[i, j]) for j in range(40)},
                    "==",
                    int(a[i].sum() // 2),
                )
                for i in range(5)
            ],
            "time_limit": 0.2,
        }
    )
    assert (result.status, result.values, result.objective) == ("time_limit", {}, None)
    assert "before any solution was found" in result.message


DROP = object()


def changed(*path: Any, **values: Any) -> dict[str, Any]:
    """The production mix with the object at ``path`` updated (``DROP`` removes a key)."""
    problem: Any = json.loads(json.dumps(PRODUCTION_MIX))
    target = problem
    for key in path:
        target = target[key]
    for key, value in values.items():
        if value is DROP:
            target.pop(key)
        else:
            target[key] = value
    return dict(problem)


MANY_VARIABLES = [var(f"v{i}") for i in range(20_001)]
MANY_CONSTRAINTS = [con(f"c{i}", {"doors": 1}, "<=", 1) for i in range(20_001)]


@pytest.mark.parametrize(
    ("problem", "code", "field"),
    [
        ("maximise", BAD, "problem"),
        (changed(sense=DROP), BAD, "problem.sense"),
        (changed(sense="maximise"), BAD, "sense"),
        (changed(variables=DROP), BAD, "problem.variables"),
        (changed(variables=[]), BAD, "variables"),
        (changed(variables={"x": {}}), BAD, "variables"),
        (changed(objective=DROP), BAD, "problem.objective"),
        (changed(objective=[3, 5]), BAD, "objective"),
        (changed(constraint=[]), BAD, "problem.constraint"),
        (changed("variables", 1, name=DROP), BAD, "variables[1].name"),
        (changed("variables", 1, name="doors"), RULE, "variables[1].name"),
        (changed("variables", 0, type="real"), BAD, "variables[0].type"),
        (changed("variables", 0, lower=5, upper=1), RULE, "variables[0].lower"),
        (changed("variables", 0, upper=math.inf), BAD, "variables[0].upper"),
        (changed("variables", 0, type="binary", upper=2), RULE, "variables[0]"),
        (changed("variables", 0, type="integer", lower=0.2, upper=0.8), RULE, "variables[0].lower"),
        (changed("objective", bricks=1), RULE, "objective.bricks"),
        (changed("objective", doors=math.nan), BAD, "objective.doors"),
        (changed("objective", doors="3"), BAD, "objective.doors"),
        (changed("objective", doors=1e13), RULE, "objective.doors"),
        (changed("constraints", 2, "terms", z=1), RULE, "constraints[2].terms.z"),
        (changed("constraints", 2, terms={}), BAD, "constraints[2].terms"),
        (changed("constraints", 2, terms=DROP), BAD, "constraints[2].terms"),
        (changed("constraints", 0, op="<"), BAD, "constraints[0].op"),
        (changed("constraints", 0, rhs=-math.inf), BAD, "constraints[0].rhs"),
        (changed("constraints", 0, rhs=None), BAD, "constraints[0].rhs"),
        (changed("constraints", 1, name="plant 1"), RULE, "constraints[1].name"),
        (changed("constraints", 1, name=7), BAD, "constraints[1].name"),
        (changed("constraints", 1, slack=1), BAD, "constraints[1].slack"),
        (changed(constraints={"a": 1}), BAD, "constraints"),
        (changed(time_limit=0), RULE, "time_limit"),
        (changed(time_limit=3600), RULE, "time_limit"),
        (changed(variables=MANY_VARIABLES), RULE, "variables"),
        (changed(constraints=MANY_CONSTRAINTS), RULE, "constraints"),
    ],
)
def test_bad_problems_are_refused(problem: Any, code: ErrorCode, field: str) -> None:
    with pytest.raises(ServiceError) as caught:
        solve(problem)
    assert caught.value.code is code
    assert caught.value.details["field"] == field
    json.dumps(caught.value.to_dict())


def test_size_limit_on_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optimise, "MAX_TERMS", 3)
    with pytest.raises(ServiceError) as caught:
        solve(PRODUCTION_MIX)  # 1 + 1 + 2 terms
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    assert caught.value.details["field"] == "constraints"


# -- appointments -----------------------------------------------------------------------
TECHS = [
    {"id": "Ana", "skills": ["brakes", "maintenance"]},
    {"id": "Ben", "skills": ["alignment", "tires", "maintenance"], "hours": 2},
]
BAYS = [{"id": "Bay 1", "type": "general"}, {"id": "Rack", "type": "alignment_rack"}]


def job(name: str, hours: float, skills: Any = (), bay: str | None = None, **extra: Any) -> dict:
    item = {"id": name, "duration": hours, "skills": list(skills), **extra}
    return item if bay is None else {**item, "bay_type": bay}


JOBS = [
    job("brakes", 2, ["brakes"], "general", priority=3),
    job("oil", 1, ["maintenance"], "general", earliest=3),
    job("align", 2, ["alignment"], "alignment_rack", priority=3),
    job("tires", 1, ["tires"], "general"),
    job("ev", 1, ["ev_battery"], priority=5),
    job("align2", 1, ["alignment"], "alignment_rack"),
    job("paint", 1, bay="paint_booth"),
    job("long", 5, ["maintenance"], "general"),
]


def check_schedule(
    plan: AppointmentPlan, jobs: list[dict], techs: list[dict], bays: list[dict]
) -> None:
    """Every assignment respects skills, bay type, windows, shifts and hours; no technician
    or bay does two things at once."""
    job = {j["id"]: j for j in jobs}
    tech = {t["id"]: t for t in techs}
    bay = {b["id"]: b for b in bays}
    worked: dict[str, float] = {}
    for a in plan.assignments:
        j, t, b = job[a["appointment"]], tech[a["technician"]], bay[a["bay"]]
        assert set(j.get("skills", [])) <= set(t["skills"])
        assert j.get("bay_type") in (None, b.get("type", "general"))
        assert a["end"] - a["start"] >= j["duration"]
        assert a["start"] >= max(j.get("earliest", 0), t.get("start", 0), b.get("start", 0))
        worked[t["id"]] = worked.get(t["id"], 0) + a["end"] - a["start"]
        for other in plan.assignments:
            if other is not a and a["start"] < other["end"] and other["start"] < a["end"]:
                assert other["technician"] != a["technician"]
                assert other["bay"] != a["bay"]
    for name, hours in worked.items():
        assert hours <= tech[name].get("hours", math.inf)
    served = {a["appointment"] for a in plan.assignments}
    assert served.isdisjoint(u["appointment"] for u in plan.unserved)
    assert served | {u["appointment"] for u in plan.unserved} == set(job)


def test_appointments_on_a_small_lane() -> None:
    plan = assign_appointments(JOBS, TECHS, BAYS, horizon=4, slot_minutes=60)
    assert isinstance(plan, AppointmentPlan)
    check_schedule(plan, JOBS, TECHS, BAYS)
    # Ben's 2 hours go to the alignment (priority 3) rather than tires + align2 (1 + 1);
    # Ana does the brakes and the oil change, which cannot start before 3 h.
    assert plan.status == "optimal"
    assert plan.objective == 7.0
    assert sorted((a["appointment"], a["technician"], a["bay"]) for a in plan.assignments) == [
        ("align", "Ben", "Rack"),
        ("brakes", "Ana", "Bay 1"),
        ("oil", "Ana", "Bay 1"),
    ]
    oil = next(a for a in plan.assignments if a["appointment"] == "oil")
    assert (oil["start"], oil["end"]) == (3.0, 4.0)
    assert {u["appointment"]: u["reason"] for u in plan.unserved} == {
        "tires": "technician_hours",
        "ev": "no_skilled_technician",
        "align2": "technician_hours",
        "paint": "no_bay_of_type",
        "long": "does_not_fit",
    }
    messages = {u["appointment"]: u["message"] for u in plan.unserved}
    assert messages["ev"] == "no technician has the skill ev_battery"
    assert messages["paint"] == "there is no bay of type 'paint_booth'"
    assert messages["tires"] == (
        "the skilled technicians have too few hours left for 1 h: Ben (0 h of 2 h left)"
    )
    assert messages["long"].startswith("a 5 h job fits no skilled technician's shift")
    assert [u["appointment"] for u in plan.unserved] == ["tires", "ev", "align2", "paint", "long"]
    json.dumps(plan.to_dict())


def test_busy_technicians_busy_bays_and_no_common_time() -> None:
    techs = [
        {"id": "Ana", "skills": ["alignment", "diagnostics"]},
        {"id": "Ben", "skills": ["alignment"]},
        {"id": "Cy", "skills": ["electrical", "tires"]},
    ]
    bays = [
        {"id": "Rack", "type": "alignment_rack"},
        {"id": "Bay 1"},
        {"id": "Bay 2"},
    ]
    jobs = [
        job("align A", 3, ["alignment"], "alignment_rack", priority=2),
        job("align B", 3, ["alignment"], "alignment_rack"),
        job("wiring A", 3, ["electrical"], "general", priority=2),
        job("wiring B", 3, ["electrical"], "general"),
    ]
    plan = assign_appointments(jobs, techs, bays, horizon=4, slot_minutes=60)
    check_schedule(plan, jobs, techs, bays)
    assert plan.objective == 4.0
    assert {a["appointment"] for a in plan.assignments} == {"align A", "wiring A"}
    assert {u["appointment"]: u["reason"] for u in plan.unserved} == {
        "align B": "bays_busy",  # Ana or Ben is free, the only rack is not
        "wiring B": "technicians_busy",  # two bays free, Cy is not
    }
    # Diagnosis needs Ana and the rack: Ana is booked 0-2 h (a job that must end by 2 h),
    # the rack 2-4 h (Cy's tyre job that cannot start before 2 h).
    jobs = [
        job("diag", 2, ["diagnostics"], "general", latest=2, priority=3),
        job("tyres", 2, ["tires"], "alignment_rack", earliest=2, priority=3),
        job("align", 2, ["diagnostics", "alignment"], "alignment_rack"),
    ]
    plan = assign_appointments(jobs, techs, bays, horizon=4, slot_minutes=60)
    check_schedule(plan, jobs, techs, bays)
    assert plan.objective == 6.0
    assert plan.unserved == [
        {
            "appointment": "align",
            "priority": 1.0,
            "reason": "capacity",
            "message": "there is no time when a skilled technician and a suitable bay are "
            "both free",
        }
    ]


def test_slots_round_jobs_up_and_shifts_in() -> None:
    techs = [{"id": "Dee", "skills": [], "start": 1.25, "end": 3.75}]  # → 1.5 … 3.5 h
    jobs = [
        {"id": "quick", "duration": 0.75},  # 45 min → two 30-minute slots
        {"id": "check", "duration": 0.5},
        {"id": "wash", "duration": 0.5},
    ]
    plan = assign_appointments(jobs, techs, [{"id": "Bay"}], horizon=4, slot_minutes=30)
    check_schedule(plan, jobs, techs, [{"id": "Bay"}])
    assert plan.objective == 3.0
    spans = sorted((a["start"], a["end"]) for a in plan.assignments)
    assert spans[0][0] == 1.5 and spans[-1][1] == 3.5
    assert sum(end - start for start, end in spans) == 2.0


def test_the_problem_builder_solves_to_the_same_plan() -> None:
    problem = appointment_problem(JOBS, TECHS, BAYS, horizon=4, slot_minutes=60)
    assert problem["sense"] == "max"
    assert {v["type"] for v in problem["variables"]} == {"binary"}
    assert "technician Ben hours" in {c["name"] for c in problem["constraints"]}
    assert solve(problem).objective == 7.0


def test_nothing_to_place() -> None:
    plan = assign_appointments(
        [{"id": "ev", "duration": 1, "skills": ["ev_battery"]}], TECHS, BAYS, horizon=4
    )
    assert (plan.status, plan.objective, plan.assignments) == ("optimal", 0.0, [])
    assert plan.unserved[0]["reason"] == "no_skilled_technician"
    assert assign_appointments([], TECHS, BAYS).unserved == []


@pytest.mark.parametrize(
    ("which", "index", "values", "code", "field"),
    [
        ("jobs", 0, {"duration": DROP}, BAD, "appointments[0].duration"),
        ("jobs", 0, {"duration": 0}, RULE, "appointments[0].duration"),
        ("jobs", 0, {"duration": math.inf}, BAD, "appointments[0].duration"),
        ("jobs", 0, {"priority": -1}, RULE, "appointments[0].priority"),
        ("jobs", 0, {"skills": "brakes"}, BAD, "appointments[0].skills"),
        ("jobs", 0, {"skills": [3]}, BAD, "appointments[0].skills[0]"),
        ("jobs", 0, {"colour": "red"}, BAD, "appointments[0].colour"),
        ("jobs", 1, {"id": "brakes"}, RULE, "appointments[1].id"),
        ("jobs", 1, {"earliest": 3, "latest": 2}, RULE, "appointments[1].earliest"),
        ("jobs", 1, {"latest": 9}, RULE, "appointments[1].earliest"),
        ("techs", 0, {"id": DROP}, BAD, "technicians[0].id"),
        ("techs", 1, {"hours": -2}, RULE, "technicians[1].hours"),
        ("bays", 0, {"type": ""}, BAD, "bays[0].type"),
        ("bays", 2, "Bay 3", BAD, "bays[2]"),
    ],
)
def test_bad_appointment_input_is_refused(
    which: str, index: int, values: Any, code: ErrorCode, field: str
) -> None:
    lane = {"jobs": JOBS, "techs": TECHS, "bays": BAYS}
    lane = {k: json.loads(json.dumps(v)) for k, v in lane.items()}
    if isinstance(values, dict):
        for key, value in values.items():
            if value is DROP:
                lane[which][index].pop(key)
            else:
                lane[which][index][key] = value
    else:
        lane[which].append(values)
    with pytest.raises(ServiceError) as caught:
        assign_appointments(lane["jobs"], lane["techs"], lane["bays"], horizon=4, slot_minutes=60)
    assert caught.value.code is code
    assert caught.value.details["field"] == field


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": "8h"}, "horizon"),
        ({"slot_minutes": 7.5}, "slot_minutes"),
        ({"slot_minutes": 1}, "slot_minutes"),
        ({"time_limit": 0}, "time_limit"),
    ],
)
def test_bad_appointment_options_are_refused(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ServiceError) as caught:
        assign_appointments(JOBS, TECHS, BAYS, **options)
    assert caught.value.details["field"] == field


def test_appointment_model_size_limit() -> None:
    jobs = [{"id": f"job {i}", "duration": 0.25} for i in range(100)]
    techs = [{"id": f"tech {i}", "skills": []} for i in range(10)]
    bays = [{"id": f"bay {i}"} for i in range(10)]
    with pytest.raises(ServiceError) as caught:  # 100 × 10 × 10 × 32 start slots
        assign_appointments(jobs, techs, bays, horizon=8, slot_minutes=15)
    assert caught.value.code is ErrorCode.VALIDATION_ERROR
    assert caught.value.details == {"field": "appointments", "variables": 320_000}
