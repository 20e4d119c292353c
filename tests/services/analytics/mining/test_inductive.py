"""Inductive miner: pm4py's trees on known logs (pm4py 2.7.23.11 answers, hard-coded)."""

from __future__ import annotations

from collections import Counter

import pytest

from auterity_desktop.services.analytics.mining.inductive import (
    discover_from_variants,
    discover_process_tree_inductive,
)
from auterity_desktop.services.analytics.mining.process_tree import parse_process_tree
from tests.services.analytics.mining._trees import RUNNING_EXAMPLE, log_of


def test_running_example_matches_pm4py() -> None:
    tree = discover_process_tree_inductive(log_of(RUNNING_EXAMPLE))
    # pm4py 2.7.23.11 discover_process_tree_inductive(running-example), printed
    assert tree.to_string() == (
        "->( 'register request', *( ->( +( 'check ticket', X( 'examine thoroughly', "
        "'examine casually' ) ), 'decide' ), 'reinitiate request' ), "
        "X( 'reject request', 'pay compensation' ) )"
    )


@pytest.mark.parametrize(
    ("traces", "noise", "expected"),
    [
        # pm4py 2.7.23.11 answers (discover_process_tree_inductive on these traces)
        ([("a", "b"), ("c", "g", "d", "f"), ("a", "e"), ("c", "g", "b")], 0.0,
         "+( X( tau, 'a' ), X( 'e', ->( X( tau, ->( 'c', 'g' ) ), X( 'b', ->( 'd', 'f' ) ) ) ) )"),
        ([("a", "b", "c")] * 5 + [("a", "c", "b")] * 5, 0.0, "->( 'a', +( 'c', 'b' ) )"),
        ([("a", "b", "c")] * 19 + [("a", "c")], 0.2, "->( 'a', 'b', 'c' )"),
        ([("a", "b", "c")] * 19 + [("a", "c")], 0.0, "->( 'a', X( tau, 'b' ), 'c' )"),
        ([("a",), ("a", "a"), ("b",)], 0.0, "X( *( 'a', tau ), 'b' )"),
    ],
)  # fmt: skip
def test_small_logs(traces: list[tuple[str, ...]], noise: float, expected: str) -> None:
    assert discover_from_variants(Counter(traces), noise).to_string() == expected


def test_tree_text_round_trips() -> None:
    text = "->( 'a', X( tau, +( 'b', 'c' ) ), *( 'd', 'e' ) )"
    assert parse_process_tree(text).to_string() == text
    assert parse_process_tree("a").label == "a"
    assert parse_process_tree("tau").is_tau
