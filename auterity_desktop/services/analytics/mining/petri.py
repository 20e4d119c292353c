"""Petri nets: the model token replay runs on, built from a process tree, and PNML / BPMN
files so models can be opened in ProM, pm4py, Camunda or Signavio.

The conversion is block-structured: every subtree gets an entry and an exit place, xor
branches share them, parallel blocks get a silent split and join, and a loop sits between
silent enter/leave transitions so its back edge never feeds a place another branch uses.
The result is a sound workflow net with the tree's language (the net differs in shape from
pm4py's reduced one, so token-replay numbers on *deviating* logs can differ slightly).
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from auterity_desktop.core.errors import ErrorCode, ServiceError
from auterity_desktop.services.analytics.mining.process_tree import Operator, ProcessTree


@dataclass(eq=False)
class Place:
    name: str

    def __repr__(self) -> str:
        return f"Place({self.name!r})"


@dataclass(eq=False)
class Transition:
    """``label`` None is a silent (tau) transition."""

    name: str
    label: str | None = None
    inputs: list[Place] = field(default_factory=list)
    outputs: list[Place] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Transition({self.name!r}, {self.label!r})"


class Marking(Counter[Place]):
    """Tokens per place (places with no token are absent)."""

    def key(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted((p.name, n) for p, n in self.items() if n > 0))


@dataclass
class PetriNet:
    name: str = "net"
    places: list[Place] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)

    def add_place(self, name: str | None = None) -> Place:
        place = Place(name or f"p_{len(self.places)}")
        self.places.append(place)
        return place

    def add_transition(self, label: str | None, name: str | None = None) -> Transition:
        transition = Transition(name or f"t_{len(self.transitions)}", label)
        self.transitions.append(transition)
        return transition

    @staticmethod
    def arc(source: Place | Transition, target: Place | Transition) -> None:
        if isinstance(source, Place) and isinstance(target, Transition):
            target.inputs.append(source)
        elif isinstance(source, Transition) and isinstance(target, Place):
            source.outputs.append(target)
        else:
            raise ValueError("An arc joins a place and a transition")

    def arcs(self) -> list[tuple[str, str]]:
        """(source name, target name) for every arc."""
        out: list[tuple[str, str]] = []
        for t in self.transitions:
            out.extend((p.name, t.name) for p in t.inputs)
            out.extend((t.name, p.name) for p in t.outputs)
        return out


def tree_to_petri_net(tree: ProcessTree) -> tuple[PetriNet, Marking, Marking]:
    """A sound workflow net for ``tree`` with one token in ``source`` at the start and one
    in ``sink`` at the end."""
    net = PetriNet()
    source = net.add_place("source")
    sink = net.add_place("sink")

    def build(node: ProcessTree, entry: Place, exit_: Place) -> None:
        if node.operator is None:
            t = net.add_transition(node.label)
            net.arc(entry, t)
            net.arc(t, exit_)
        elif node.operator is Operator.SEQUENCE:
            current = entry
            for i, child in enumerate(node.children):
                nxt = exit_ if i == len(node.children) - 1 else net.add_place()
                build(child, current, nxt)
                current = nxt
        elif node.operator is Operator.XOR:
            for child in node.children:
                build(child, entry, exit_)
        elif node.operator is Operator.PARALLEL:
            split, join = net.add_transition(None), net.add_transition(None)
            net.arc(entry, split)
            net.arc(join, exit_)
            for child in node.children:
                start, end = net.add_place(), net.add_place()
                net.arc(split, start)
                net.arc(end, join)
                build(child, start, end)
        else:  # loop: do once, then any number of (redo, do)
            enter, leave = net.add_transition(None), net.add_transition(None)
            do_start, do_end = net.add_place(), net.add_place()
            net.arc(entry, enter)
            net.arc(enter, do_start)
            net.arc(do_end, leave)
            net.arc(leave, exit_)
            build(node.children[0], do_start, do_end)
            for redo in node.children[1:]:
                build(redo, do_end, do_start)

    build(tree, source, sink)
    return net, Marking({source: 1}), Marking({sink: 1})


# -- PNML ---------------------------------------------------------------------------------
_PNML_GRAMMAR = "http://www.pnml.org/version-2009/grammar/pnmlcoremodel"


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(ET.SubElement(parent, tag), "text").text = value


def write_pnml(net: PetriNet, im: Marking, fm: Marking, path: str | Path) -> None:
    """PNML 2009 core model, with silent transitions marked the way ProM and pm4py do
    (``toolspecific activity="$invisible$"``) and the final marking in ``finalmarkings``."""
    root = ET.Element("pnml")
    net_el = ET.SubElement(root, "net", id=net.name, type=_PNML_GRAMMAR)
    _text(net_el, "name", net.name)
    page = ET.SubElement(net_el, "page", id="n0")
    for place in net.places:
        el = ET.SubElement(page, "place", id=place.name)
        _text(el, "name", place.name)
        if im.get(place, 0):
            _text(el, "initialMarking", str(im[place]))
    for t in net.transitions:
        el = ET.SubElement(page, "transition", id=t.name)
        _text(el, "name", t.label if t.label is not None else t.name)
        if t.label is None:
            ET.SubElement(el, "toolspecific", tool="ProM", version="6.4",
                          activity="$invisible$", localNodeID=t.name)  # fmt: skip
    for i, (a, b) in enumerate(net.arcs()):
        ET.SubElement(page, "arc", id=f"a_{i}", source=a, target=b)
    marking = ET.SubElement(ET.SubElement(net_el, "finalmarkings"), "marking")
    for place, n in fm.items():
        ref = ET.SubElement(marking, "place", idref=place.name)
        ET.SubElement(ref, "text").text = str(n)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_pnml(path: str | Path) -> tuple[PetriNet, Marking, Marking]:
    """Read a PNML core model (ours, pm4py's or ProM's): places, transitions (silent when
    marked invisible or unnamed), arcs, initial and final marking."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ServiceError(ErrorCode.INVALID_INPUT, f"Not a readable PNML file: {exc}",
                           {"path": str(path)}) from exc  # fmt: skip
    net_el = next((e for e in root.iter() if _local(e.tag) == "net"), None)
    if net_el is None:
        raise ServiceError(ErrorCode.INVALID_INPUT, "The PNML file has no net", {"path": str(path)})
    net = PetriNet(name=net_el.get("id", "net"))
    places: dict[str, Place] = {}
    transitions: dict[str, Transition] = {}
    im, fm = Marking(), Marking()

    def name_of(el: ET.Element) -> str | None:
        for child in el:
            if _local(child.tag) == "name":
                for text in child:
                    if _local(text.tag) == "text":
                        return text.text or ""
        return None

    def marking_of(el: ET.Element) -> int:
        for child in el:
            if _local(child.tag) == "initialMarking":
                for text in child:
                    if _local(text.tag) == "text" and text.text:
                        return int(text.text.strip())
        return 0

    for el in net_el.iter():
        tag = _local(el.tag)
        if tag == "place":
            if el.get("idref") is not None:
                continue
            place = net.add_place(el.get("id"))
            places[place.name] = place
            if marking_of(el):
                im[place] = marking_of(el)
        elif tag == "transition":
            invisible = any(
                _local(c.tag) == "toolspecific" and c.get("activity") == "$invisible$" for c in el
            )
            label = None if invisible else name_of(el)
            t = net.add_transition(label, el.get("id"))
            transitions[t.name] = t
    for el in net_el.iter():
        if _local(el.tag) == "arc":
            src, dst = el.get("source", ""), el.get("target", "")
            if src in places and dst in transitions:
                net.arc(places[src], transitions[dst])
            elif src in transitions and dst in places:
                net.arc(transitions[src], places[dst])
            else:
                raise ServiceError(ErrorCode.INVALID_INPUT, f"Arc {el.get('id')} is dangling",
                                   {"path": str(path)})  # fmt: skip
        elif _local(el.tag) == "finalmarkings":
            for ref in el.iter():
                if _local(ref.tag) == "place" and ref.get("idref") in places:
                    texts = [t.text for t in ref if _local(t.tag) == "text"]
                    fm[places[ref.get("idref", "")]] = (
                        int((texts[0] or "1").strip()) if texts else 1
                    )
    return net, im, fm


# -- BPMN ---------------------------------------------------------------------------------
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def write_bpmn(tree: ProcessTree, path: str | Path) -> None:
    """BPMN 2.0 process: start and end event, a task per labelled leaf, exclusive gateways
    for xor and loops, parallel gateways for parallel blocks; tau leaves become plain flows."""
    ET.register_namespace("", _BPMN_NS)
    root = ET.Element(f"{{{_BPMN_NS}}}definitions", id="definitions",
                      targetNamespace="http://auterity.local/bpmn")  # fmt: skip
    process = ET.SubElement(root, f"{{{_BPMN_NS}}}process", id="process", isExecutable="false")
    counter = Counter[str]()
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    nodes: dict[str, ET.Element] = {}

    def node(kind: str, name: str | None = None, **attrs: str) -> str:
        counter[kind] += 1
        ident = f"{kind}_{counter[kind]}"
        el = ET.SubElement(process, f"{{{_BPMN_NS}}}{kind}", {"id": ident, **attrs})
        if name is not None:
            el.set("name", name)
        nodes[ident] = el
        return ident

    flows: list[tuple[str, str]] = []

    def flow(a: str, b: str) -> None:
        flows.append((a, b))

    def build(t: ProcessTree) -> tuple[str, str] | None:
        if t.operator is None:
            if t.label is None:
                return None
            task = node("task", t.label)
            return task, task
        if t.operator is Operator.SEQUENCE:
            parts = [p for p in (build(c) for c in t.children) if p is not None]
            if not parts:
                return None
            for (_, out), (nxt, _) in itertools.pairwise(parts):
                flow(out, nxt)
            return parts[0][0], parts[-1][1]
        kind = "parallelGateway" if t.operator is Operator.PARALLEL else "exclusiveGateway"
        if t.operator is Operator.LOOP:
            join = node(kind, gatewayDirection="Converging")
            split = node(kind, gatewayDirection="Diverging")
            do = build(t.children[0])
            if do is None:
                flow(join, split)
            else:
                flow(join, do[0])
                flow(do[1], split)
            for redo in t.children[1:]:
                part = build(redo)
                if part is None:
                    flow(split, join)
                else:
                    flow(split, part[0])
                    flow(part[1], join)
            return join, split
        split = node(kind, gatewayDirection="Diverging")
        join = node(kind, gatewayDirection="Converging")
        for child in t.children:
            part = build(child)
            if part is None:
                flow(split, join)
            else:
                flow(split, part[0])
                flow(part[1], join)
        return split, join

    start = node("startEvent", "start")
    body = build(tree)
    end = node("endEvent", "end")
    if body is None:
        flow(start, end)
    else:
        flow(start, body[0])
        flow(body[1], end)
    for i, (a, b) in enumerate(flows):
        ident = f"flow_{i + 1}"
        outgoing.setdefault(a, []).append(ident)
        incoming.setdefault(b, []).append(ident)
        ET.SubElement(process, f"{{{_BPMN_NS}}}sequenceFlow", id=ident, sourceRef=a, targetRef=b)
    for ident, el in nodes.items():  # BPMN lists a node's flows inside it, incoming first
        for ref in incoming.get(ident, []):
            ET.SubElement(el, f"{{{_BPMN_NS}}}incoming").text = ref
        for ref in outgoing.get(ident, []):
            ET.SubElement(el, f"{{{_BPMN_NS}}}outgoing").text = ref
    document = ET.ElementTree(root)
    ET.indent(document)
    document.write(path, encoding="utf-8", xml_declaration=True)
