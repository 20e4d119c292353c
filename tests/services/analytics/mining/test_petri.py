"""Tree → Petri net, PNML round trip, BPMN well-formed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from auterity_desktop.services.analytics.mining.petri import (
    read_pnml,
    tree_to_petri_net,
    write_bpmn,
    write_pnml,
)
from auterity_desktop.services.analytics.mining.process_tree import parse_process_tree

TREE = "->( 'a', X( tau, 'b' ), +( 'c', 'd' ), *( 'e', 'f' ) )"


def test_conversion_has_one_visible_transition_per_leaf() -> None:
    net, im, fm = tree_to_petri_net(parse_process_tree(TREE))
    labels = sorted(t.label for t in net.transitions if t.label is not None)
    assert labels == ["a", "b", "c", "d", "e", "f"]
    assert [p.name for p in im] == ["source"] and [p.name for p in fm] == ["sink"]


def test_pnml_round_trip(tmp_path: Path) -> None:
    net, im, fm = tree_to_petri_net(parse_process_tree(TREE))
    path = tmp_path / "model.pnml"
    write_pnml(net, im, fm, path)
    back, im2, fm2 = read_pnml(path)
    assert sorted(p.name for p in back.places) == sorted(p.name for p in net.places)
    assert sorted((t.name, t.label or "") for t in back.transitions) == sorted(
        (t.name, t.label or "") for t in net.transitions
    )
    assert sorted(back.arcs()) == sorted(net.arcs())
    assert im2.key() == im.key() and fm2.key() == fm.key()


def test_bpmn_is_well_formed(tmp_path: Path) -> None:
    path = tmp_path / "model.bpmn"
    write_bpmn(parse_process_tree(TREE), path)
    root = ET.parse(path).getroot()
    ns = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    process = root.find(f"{ns}process")
    assert process is not None
    kinds = [el.tag.removeprefix(ns) for el in process]
    assert kinds.count("startEvent") == 1 and kinds.count("endEvent") == 1
    assert kinds.count("task") == 6
    assert kinds.count("parallelGateway") == 2 and kinds.count("exclusiveGateway") == 4
    ids = {el.get("id") for el in process}
    for flow in process.iter(f"{ns}sequenceFlow"):
        assert flow.get("sourceRef") in ids and flow.get("targetRef") in ids
