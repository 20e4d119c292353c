"""Token replay: hand-checked counts, pm4py 2.7.23.11 answers on our own net (read by
pm4py from our PNML), and IM's models replaying their own logs perfectly."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auterity_desktop.services.analytics.mining.inductive import discover_from_variants
from auterity_desktop.services.analytics.mining.petri import tree_to_petri_net
from auterity_desktop.services.analytics.mining.process_tree import parse_process_tree
from auterity_desktop.services.analytics.mining.replay import (
    precision_token_replay,
    replay_traces,
    token_replay,
)
from tests.services.analytics.mining._trees import log_of, play_out, random_tree


def test_hand_checked_missing_and_remaining() -> None:
    net, im, fm = tree_to_petri_net(parse_process_tree("->( 'a', 'b' )"))
    result = token_replay(log_of([("b",), ("a", "b")]), net, im, fm)
    bad = result.traces[0]
    # b fired without a token (m=1), the source token never used (r=1); p = 1 + 1, c = 1 + 1
    assert (bad.missing, bad.remaining, bad.consumed, bad.produced) == (1, 1, 2, 2)
    assert bad.fitness == 0.5 and bad.problem_transitions == ["b"]
    assert result.traces[1].fitness == 1.0
    assert result.log_fitness == pytest.approx(0.5 * (1 - 1 / 5) + 0.5 * (1 - 1 / 5))
    assert result.percentage_of_fitting_traces == 50.0


def test_activities_missing_from_the_model_do_not_make_a_trace_unfit() -> None:
    # pm4py 2.7.23.11 (consider_activities_not_in_model_in_fitness=False): 100 % fit, 1.0
    net, im, fm = tree_to_petri_net(parse_process_tree("->( 'a', 'b' )"))
    result = token_replay(log_of([("a", "x", "b"), ("a", "b")]), net, im, fm)
    odd = result.traces[0]
    assert odd.is_fit and odd.fitness == 1.0 and odd.problem_transitions == ["x"]
    assert result.percentage_of_fitting_traces == 100.0 and result.log_fitness == 1.0


def test_matches_pm4py_on_a_fitting_variant_mix() -> None:
    # pm4py 2.7.23.11 fitness_token_based_replay / precision_token_based_replay on this net
    tree = "->( 'a', X( 'b', 'c' ), +( 'd', 'e' ), *( 'f', 'g' ) )"
    net, im, fm = tree_to_petri_net(parse_process_tree(tree))
    traces = [
        ("a", "b", "d", "e", "f"),
        ("a", "c", "e", "d", "f", "g", "f"),
        ("a", "d", "e", "f"),
        ("a", "b", "b", "d", "e", "f"),
        ("b", "a", "d", "e", "f", "x"),
        ("a", "c", "d", "f", "g"),
    ]
    result = replay_traces(traces, net, im, fm)
    assert result.percentage_of_fitting_traces == pytest.approx(100 / 3)
    assert precision_token_replay(log_of(traces), net, im, fm) == pytest.approx(0.9032258064516129)
    assert 0.0 <= result.log_fitness <= 1.0


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 7))
def test_inductive_model_fits_its_own_log(seed: int, size: int) -> None:
    rng = random.Random(seed)
    tree = random_tree(rng, [chr(ord("a") + i) for i in range(size)])
    traces = [tuple(play_out(tree, rng)) for _ in range(30)]
    traces = [t for t in traces if t]
    mined = discover_from_variants(Counter(traces))
    net, im, fm = tree_to_petri_net(mined)
    result = replay_traces(traces, net, im, fm)
    assert result.log_fitness == 1.0 and result.percentage_of_fitting_traces == 100.0
    noisy = replay_traces([(*t[::-1], "zz") for t in traces], net, im, fm)
    assert 0.0 <= noisy.log_fitness <= 1.0
    assert all(0.0 <= t.fitness <= 1.0 for t in noisy.traces)
