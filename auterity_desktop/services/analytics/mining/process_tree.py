"""Process trees: the block-structured models the inductive miner produces.

The text form is pm4py's (``->( 'a', X( 'b', 'c' ) )``, ``tau`` for a silent leaf) so a
tree printed here can be compared character for character with pm4py's answer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import Enum

from auterity_desktop.core.errors import ErrorCode, ServiceError


class Operator(Enum):
    SEQUENCE = "->"
    XOR = "X"
    PARALLEL = "+"
    LOOP = "*"


@dataclass(eq=False)
class ProcessTree:
    """An operator node (``operator`` set, ``children`` ordered) or a leaf (``label``, or
    ``None`` for tau). A loop's first child is the do part, the others are redo parts."""

    operator: Operator | None = None
    children: list[ProcessTree] = field(default_factory=list)
    label: str | None = None

    @property
    def is_leaf(self) -> bool:
        return self.operator is None

    @property
    def is_tau(self) -> bool:
        return self.operator is None and self.label is None

    def to_string(self) -> str:
        """pm4py's ``ProcessTree.to_string()``: labelled leaves quoted only as children."""
        if self.operator is None:
            return self.label if self.label is not None else "tau"
        parts = []
        for child in self.children:
            if child.operator is None and child.label is not None:
                parts.append("'" + child.label + "'")
            else:
                parts.append(child.to_string())
        return self.operator.value + "( " + ", ".join(parts) + " )"

    def __str__(self) -> str:
        return self.to_string()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProcessTree) and self.to_string() == other.to_string()

    def __hash__(self) -> int:
        return hash(self.to_string())

    def leaves(self) -> list[ProcessTree]:
        if self.operator is None:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def activities(self) -> set[str]:
        return {leaf.label for leaf in self.leaves() if leaf.label is not None}


_TOKEN = re.compile(r"\s*(->|X|\+|\*|\(|\)|,|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|tau\b)")
_OPERATORS = {op.value: op for op in Operator}


def _syntax(text: str, position: int) -> ServiceError:
    return ServiceError(
        ErrorCode.INVALID_INPUT,
        f"Not a process tree near position {position}: {text[position : position + 30]!r}",
        {"position": position},
    )


def parse_process_tree(text: str) -> ProcessTree:
    """Read pm4py's notation back (quoted labels, ``tau``), so trees can be stored and tests
    can state the expected model the way pm4py prints it."""
    stripped = text.strip()
    if not re.match(r"(->|X|\+|\*)\s*\(|['\"]", stripped):
        # a bare root leaf prints unquoted in pm4py ("a" or "tau")
        if not stripped:
            raise _syntax(text, 0)
        return ProcessTree() if stripped == "tau" else ProcessTree(label=stripped)
    tokens: list[tuple[str, int]] = []
    position = 0
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None:
            raise _syntax(text, position)
        tokens.append((match.group(1), match.start(1)))
        position = match.end()
    index = 0

    def node() -> ProcessTree:
        nonlocal index
        if index >= len(tokens):
            raise _syntax(text, len(text))
        token, at = tokens[index]
        index += 1
        if token == "tau":
            return ProcessTree()
        if token[0] in "'\"":
            return ProcessTree(label=token[1:-1].replace("\\" + token[0], token[0]))
        if token in _OPERATORS:
            if index >= len(tokens) or tokens[index][0] != "(":
                raise _syntax(text, at)
            index += 1
            tree = ProcessTree(_OPERATORS[token])
            while True:
                tree.children.append(node())
                if index >= len(tokens):
                    raise _syntax(text, len(text))
                sep, sep_at = tokens[index]
                index += 1
                if sep == ")":
                    return tree
                if sep != ",":
                    raise _syntax(text, sep_at)
        raise _syntax(text, at)

    tree = node()
    if index != len(tokens):
        raise _syntax(text, tokens[index][1])
    return tree


# -- pm4py's post-processing of a mined tree ---------------------------------------------
def _remove_taus_like_pm4py(children: list[ProcessTree]) -> None:
    """pm4py removes tau children while iterating over the same list, which skips the
    element after each removal; reproduced so folded trees print identically."""
    i = 0
    while i < len(children):
        if children[i].is_tau:
            first = next(j for j, c in enumerate(children) if c.is_tau)
            del children[first]
        i += 1


def _drop_extra_taus(children: list[ProcessTree], silents: int) -> None:
    while silents > 1:
        first = next(j for j, c in enumerate(children) if c.is_tau)
        del children[first]
        silents -= 1


def reduce_tau_leaves(tree: ProcessTree) -> ProcessTree:
    """Drop tau leaves that change nothing: all in sequence/parallel, all but one in xor."""
    if tree.children:
        for child in tree.children:
            reduce_tau_leaves(child)
        silents = sum(1 for c in tree.children if c.is_tau)
        if silents:
            if silents == len(tree.children):
                if tree.operator in (Operator.SEQUENCE, Operator.PARALLEL, Operator.XOR):
                    _drop_extra_taus(tree.children, silents)
                elif tree.operator is Operator.LOOP and len(tree.children) == 2:
                    _remove_taus_like_pm4py(tree.children)
            elif tree.operator in (Operator.SEQUENCE, Operator.PARALLEL):
                _remove_taus_like_pm4py(tree.children)
            elif tree.operator is Operator.XOR:
                _drop_extra_taus(tree.children, silents)
    return tree


def _fold_once(tree: ProcessTree) -> ProcessTree | None:
    tree = reduce_tau_leaves(tree)
    if tree.children:
        folded = [_fold_once(c) for c in tree.children]
        tree.children = [c for c in folded if c is not None]
        if not tree.children:
            return None
        if len(tree.children) == 1:
            return tree.children[0]
        if tree.operator in (Operator.SEQUENCE, Operator.PARALLEL):
            tree.children = [c for c in tree.children if not c.is_tau]
            if not tree.children:
                tree.operator = None
        if tree.operator in (Operator.SEQUENCE, Operator.XOR, Operator.PARALLEL):
            merged: list[ProcessTree] = []
            for child in tree.children:
                if child.operator is tree.operator:
                    merged.extend(child.children)
                else:
                    merged.append(child)
            tree.children = merged
    return tree


def fold(tree: ProcessTree) -> ProcessTree:
    """pm4py's ``fold``: X(X(a,b),c) → X(a,b,c), one-child operators removed, useless taus
    removed; applied to every mined tree, so needed for identical output."""
    tree = parse_process_tree(tree.to_string())  # a deep copy
    folded = _fold_once(tree)
    tree = folded if folded is not None else ProcessTree()
    before = tree.to_string()
    tree = reduce_tau_leaves(tree)
    if tree.to_string() != before:
        tree = fold(tree)
        before = tree.to_string()
    again = _fold_once(tree)
    again = again if again is not None else ProcessTree()
    if again.to_string() != before:
        tree = fold(again)
    return tree


def _label_hash(label: str) -> int:
    return int(hashlib.md5(label.encode("utf-8")).hexdigest(), 16)


def sort_tree(tree: ProcessTree) -> int:
    """pm4py's ``tree_sort``: xor and parallel children ordered by the sum of their labels'
    MD5 values, so the printed tree does not depend on discovery order. Returns the sum."""
    total = 0
    for child in tree.children:
        total += sort_tree(child)
    if tree.label is not None:
        total += _label_hash(tree.label)
    if tree.operator in (Operator.PARALLEL, Operator.XOR):
        tree.children.sort(key=_label_sum)
    return total


def _label_sum(tree: ProcessTree) -> int:
    return sum(_label_hash(leaf.label) for leaf in tree.leaves() if leaf.label is not None)
