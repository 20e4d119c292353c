"""DFG, performance DFG, variants and the heuristics miner against known answers.

Expected values marked "pm4py 2.7.23.11" were computed by running pm4py 2.7.23.11 in a
throwaway venv on the very same frames (``mining_logs``) and are hard-coded here, because
pm4py is AGPL and never a dependency of the project."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auterity_desktop.services.analytics.mining.discovery import (
    discover_dfg,
    discover_heuristics_net,
    discover_performance_dfg,
    performance_dfg_to_dict,
    variants,
)
from auterity_desktop.services.analytics.mining.event_log import EventLog

from .mining_logs import HEURISTICS_TRACES, running_example_frame, traces_frame

SMALL = [("c1", "a b c d"), ("c2", "a c b d"), ("c3", "a b c b c d"), ("c4", "a e d"),
         ("c5", "a b c d")]  # fmt: skip


def _log(traces: list[tuple[str, str]]) -> EventLog:
    return EventLog.from_frame(traces_frame(traces))


def test_dfg_of_a_small_log() -> None:
    dfg = discover_dfg(_log(SMALL))
    assert dfg.edges == {
        ("a", "b"): 3, ("b", "c"): 4, ("c", "d"): 3, ("a", "c"): 1, ("c", "b"): 2,
        ("b", "d"): 1, ("a", "e"): 1, ("e", "d"): 1,
    }  # fmt: skip
    assert dfg.start == {"a": 5} and dfg.end == {"d": 5}
    assert dfg.activities == {"a": 5, "b": 5, "c": 5, "d": 5, "e": 1}
    as_json = dfg.to_dict()
    assert as_json["edges"][0] == {"source": "a", "target": "b", "count": 3}


def test_dfg_of_the_running_example_matches_pm4py() -> None:
    dfg = discover_dfg(EventLog.from_frame(running_example_frame()))
    assert len(dfg.edges) == 16
    assert dfg.start == {"register request": 6}
    assert dfg.end == {"pay compensation": 3, "reject request": 3}
    # pm4py 2.7.23.11 pm4py.discover_dfg on the same frame
    assert dfg.edges == {
        ("check ticket", "decide"): 6, ("check ticket", "examine casually"): 2,
        ("check ticket", "examine thoroughly"): 1, ("decide", "pay compensation"): 3,
        ("decide", "reinitiate request"): 3, ("decide", "reject request"): 3,
        ("examine casually", "check ticket"): 4, ("examine casually", "decide"): 2,
        ("examine thoroughly", "check ticket"): 2, ("examine thoroughly", "decide"): 1,
        ("register request", "check ticket"): 2, ("register request", "examine casually"): 3,
        ("register request", "examine thoroughly"): 1, ("reinitiate request", "check ticket"): 1,
        ("reinitiate request", "examine casually"): 1,
        ("reinitiate request", "examine thoroughly"): 1,
    }  # fmt: skip
    assert sum(dfg.activities.values()) == 42


def test_performance_dfg_matches_pm4py_including_sample_stdev() -> None:
    perf = discover_performance_dfg(EventLog.from_frame(running_example_frame()))
    assert len(perf) == 16
    # pm4py 2.7.23.11 pm4py.discover_performance_dfg (pandas std, ddof=1)
    reinit = perf[("decide", "reinitiate request")]
    assert (reinit.mean, reinit.median, reinit.min, reinit.max, reinit.sum, reinit.count) == (
        66400.0, 91800.0, 10800.0, 96600.0, 199200.0, 3,
    )  # fmt: skip
    assert reinit.stdev == pytest.approx(48210.78717465625, rel=1e-12)
    decide = perf[("check ticket", "decide")]
    assert (decide.mean, decide.median, decide.sum) == (181960.0, 129300.0, 1091760.0)
    assert decide.stdev == pytest.approx(206034.11756308711, rel=1e-12)
    casual = perf[("register request", "examine casually")]
    assert (casual.mean, casual.median) == (32240.0, 3840.0)
    assert casual.stdev == pytest.approx(50757.06847326784, rel=1e-12)
    # one observation: pm4py says NaN, we say None so the JSON stays valid
    single = perf[("register request", "examine thoroughly")]
    assert single.count == 1 and single.stdev is None
    assert performance_dfg_to_dict(perf)[0]["source"] == "check ticket"


def test_performance_dfg_by_hand() -> None:
    # traces_frame puts step k at k*(k+1) minutes: gaps 2, 4, 6 ... minutes
    perf = discover_performance_dfg(_log([("1", "a b a b"), ("2", "a b")]))
    ab = perf[("a", "b")]
    assert ab.count == 3 and ab.min == 120.0 and ab.max == 360.0 and ab.median == 120.0
    assert ab.mean == pytest.approx(200.0) and ab.stdev == pytest.approx(math.sqrt(19200))
    assert perf[("b", "a")].count == 1 and perf[("b", "a")].mean == 240.0


def test_variants_sorted_by_count_with_their_cases() -> None:
    found = variants(_log(SMALL))
    assert [(v.activities, v.count, v.cases) for v in found] == [
        (("a", "b", "c", "d"), 2, ["c1", "c5"]),
        (("a", "b", "c", "b", "c", "d"), 1, ["c3"]),
        (("a", "c", "b", "d"), 1, ["c2"]),
        (("a", "e", "d"), 1, ["c4"]),
    ]
    assert found[0].to_dict() == {"activities": ["a", "b", "c", "d"], "count": 2,
                                  "cases": ["c1", "c5"]}  # fmt: skip
    assert variants(EventLog.from_frame(traces_frame([]).reindex(
        columns=["case", "activity", "timestamp"]))) == []  # fmt: skip


def test_variants_agree_with_the_event_log_counter() -> None:
    log = EventLog.from_frame(running_example_frame())
    assert {v.activities: v.count for v in variants(log)} == dict(log.variants())


def test_heuristics_net_with_and_split_and_length_two_loop_matches_pm4py() -> None:
    net = discover_heuristics_net(_log(HEURISTICS_TRACES))
    # pm4py 2.7.23.11 pm4py.discover_heuristics_net (defaults 0.5 / 0.65 / 0.5 / 1 / 1)
    assert net.nodes == {"a": 9, "b": 9, "c": 9, "d": 9, "e": 9, "y": 3, "x": 3, "f": 6}
    assert {(e.source, e.target): (e.dependency, e.frequency) for e in net.edges} == {
        ("a", "b"): (0.8333333333333334, 5), ("a", "c"): (0.8, 4),
        ("b", "d"): (0.8, 4), ("c", "d"): (0.8333333333333334, 5),
        ("e", "y"): (0.75, 3), ("x", "e"): (0.75, 3),
        ("e", "f"): (0, 6), ("f", "e"): (0, 6),
    }  # fmt: skip
    assert net.and_splits() == {"a": {"b": {"c": 0.9}}}
    assert net.and_joins() == {"d": {"b": {"c": 0.9}}}
    assert net.loops_two == {"e": {"f": 6}}
    assert net.start == {"a": 9, "x": 3} and net.end == {"d": 9, "y": 3}
    assert net.to_dict()["splits"] == [
        {"node": "a", "a": "b", "b": "c", "measure": 0.9, "kind": "and"}
    ]


def test_heuristics_net_of_the_running_example_matches_pm4py() -> None:
    net = discover_heuristics_net(EventLog.from_frame(running_example_frame()))
    # pm4py 2.7.23.11; the XOR split after "decide" has and-measure 0 for each pair
    assert len(net.nodes) == 8 and len(net.edges) == 12
    assert {(e.source, e.target) for e in net.edges if e.source == "decide"} == {
        ("decide", "pay compensation"), ("decide", "reinitiate request"),
        ("decide", "reject request"),
    }  # fmt: skip
    assert all(r.kind == "xor" for r in net.splits if r.node == "decide")
    assert net.and_splits() == {
        "reinitiate request": {"check ticket": {"examine casually": 2.0,
                                                "examine thoroughly": 1.0}},
        "register request": {"check ticket": {"examine casually": 1.0,
                                              "examine thoroughly": 0.75}},
    }  # fmt: skip
    assert net.and_joins() == {"decide": {"check ticket": {"examine casually": 2 / 3}}}
    assert net.loops_two == {}


def test_heuristics_thresholds_prune() -> None:
    net = discover_heuristics_net(_log(HEURISTICS_TRACES), dependency_threshold=0.82,
                                  loop_two_threshold=0.9)  # fmt: skip
    assert {(e.source, e.target) for e in net.edges} == {("a", "b"), ("c", "d")}


_traces = st.lists(
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=12).map(" ".join),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(_traces)
def test_dfg_counts_add_up(traces: list[str]) -> None:
    log = _log([(f"case{i}", t) for i, t in enumerate(traces)])
    dfg = discover_dfg(log)
    assert sum(dfg.edges.values()) == log.n_events - log.n_cases
    assert sum(dfg.start.values()) == log.n_cases == sum(dfg.end.values())
    assert sum(dfg.activities.values()) == log.n_events
    perf = discover_performance_dfg(log)
    assert {k: s.count for k, s in perf.items()} == dfg.edges
    found = variants(log)
    assert sum(v.count for v in found) == log.n_cases
    assert {v.activities: v.count for v in found} == dict(log.variants())


def test_tied_timestamps_keep_row_order() -> None:
    frame = pd.DataFrame({"case": ["1", "1", "1"], "activity": ["z", "y", "x"],
                          "timestamp": ["2026-01-01"] * 3})  # fmt: skip
    assert discover_dfg(EventLog.from_frame(frame)).edges == {("z", "y"): 1, ("y", "x"): 1}
