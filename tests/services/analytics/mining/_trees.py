"""Shared test helpers: event logs from traces and random trees played out."""

from __future__ import annotations

import random

import pandas as pd

from auterity_desktop.services.analytics.mining.event_log import EventLog
from auterity_desktop.services.analytics.mining.process_tree import Operator, ProcessTree

RUNNING_EXAMPLE = [
    ("register request", "examine thoroughly", "check ticket", "decide", "reject request"),
    ("register request", "check ticket", "examine casually", "decide", "pay compensation"),
    ("register request", "examine casually", "check ticket", "decide", "reinitiate request",
     "examine thoroughly", "check ticket", "decide", "pay compensation"),
    ("register request", "check ticket", "examine thoroughly", "decide", "reject request"),
    ("register request", "examine casually", "check ticket", "decide", "reinitiate request",
     "check ticket", "examine casually", "decide", "reinitiate request", "examine casually",
     "check ticket", "decide", "reject request"),
    ("register request", "examine casually", "check ticket", "decide", "pay compensation"),
]  # fmt: skip


def log_of(traces: list[tuple[str, ...]]) -> EventLog:
    rows = [
        {"case": f"c{i:04d}", "activity": a,
         "timestamp": pd.Timestamp("2026-01-01") + pd.Timedelta(seconds=i * 1000 + j)}
        for i, trace in enumerate(traces)
        for j, a in enumerate(trace)
    ]  # fmt: skip
    return EventLog.from_frame(pd.DataFrame(rows, columns=["case", "activity", "timestamp"]))


def random_tree(rng: random.Random, activities: list[str]) -> ProcessTree:
    if len(activities) == 1:
        return ProcessTree(label=activities[0])
    operator = rng.choice(list(Operator))
    split = rng.randint(1, len(activities) - 1)
    return ProcessTree(operator, [random_tree(rng, activities[:split]),
                                  random_tree(rng, activities[split:])])  # fmt: skip


def play_out(tree: ProcessTree, rng: random.Random) -> list[str]:
    if tree.operator is None:
        return [tree.label] if tree.label is not None else []
    if tree.operator is Operator.SEQUENCE:
        return [e for c in tree.children for e in play_out(c, rng)]
    if tree.operator is Operator.XOR:
        return play_out(rng.choice(tree.children), rng)
    if tree.operator is Operator.LOOP:
        out = play_out(tree.children[0], rng)
        while rng.random() < 0.4:
            out += play_out(rng.choice(tree.children[1:]), rng)
            out += play_out(tree.children[0], rng)
        return out
    parts = [play_out(c, rng) for c in tree.children]
    out = []
    while any(parts):
        part = rng.choice([p for p in parts if p])
        out.append(part.pop(0))
    return out
