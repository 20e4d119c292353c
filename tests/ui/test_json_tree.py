"""The JSON tree: lazy children, capped long containers, paths, and copy as JSON."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QGuiApplication

from auterity_desktop.ui.widgets.json_tree import (
    MAX_CHILDREN,
    JsonTreeModel,
    JsonTreeView,
    PathRole,
    summary,
)

DATA = {
    "customer": {"name": "Ada", "email": "ada@example.com", "vip": True},
    "vehicles": [{"vin": "WVW123", "price": 21500.5}, {"vin": "JT456", "price": None}],
    "note with space": "two\nlines",
}


def _rows(model: JsonTreeModel, parent: QModelIndex) -> dict[str, tuple[str, str]]:
    return {
        model.index(r, 0, parent).data(): (
            model.index(r, 1, parent).data(),
            model.index(r, 2, parent).data(),
        )
        for r in range(model.rowCount(parent))
    }


def test_model_shows_keys_values_types_and_paths(qapp: Any) -> None:
    model = JsonTreeModel()
    model.set_value(DATA)
    top = _rows(model, QModelIndex())
    assert top == {
        "customer": ("{3 keys}", "object"),
        "vehicles": ("[2 items]", "array"),
        "note with space": ("two⏎ lines", "string"),
    }
    vehicles = model.index(1, 0)
    assert model.hasChildren(vehicles)
    first = model.index(0, 0, vehicles)
    assert _rows(model, first) == {"vin": ("WVW123", "string"), "price": ("21500.5", "number")}
    price = model.index(1, 0, model.index(1, 0, vehicles))
    assert price.data(PathRole) == "$.vehicles[1].price"
    assert model.index(1, 1, model.index(1, 0, vehicles)).data() == "null"
    assert model.index(2, 0).data(PathRole) == "$['note with space']"
    assert model.parent(first) == vehicles
    assert model.value_at(first) == DATA["vehicles"][0]


def test_children_are_built_on_demand_and_long_lists_are_capped(qapp: Any) -> None:
    model = JsonTreeModel()
    big = {"items": list(range(MAX_CHILDREN + 250))}
    model.set_value(big)
    items = model.index(0, 0)
    node = model.node(items)
    assert node.children is None  # nothing built until someone asks
    assert model.rowCount(items) == MAX_CHILDREN + 1
    assert model.index(MAX_CHILDREN, 0, items).data() == "… 250 more"
    assert not model.hasChildren(model.index(MAX_CHILDREN, 0, items))
    assert summary(big["items"]) == f"[{MAX_CHILDREN + 250} items]"


def test_scalars_and_empty_containers_still_show_a_row(qapp: Any) -> None:
    model = JsonTreeModel()
    model.set_value(42)
    assert model.rowCount() == 1
    assert model.index(0, 1).data() == "42"
    model.set_value({})
    assert model.rowCount() == 1
    assert model.index(0, 1).data() == "{0 keys}"
    model.set_value(None)
    assert model.rowCount() == 0


def test_view_copies_selection_or_everything_as_json(qtbot: Any) -> None:
    view = JsonTreeView("Nothing here.")
    qtbot.addWidget(view)
    view.show()
    assert view.stack.currentWidget() is view.empty
    assert view.empty.text() == "Nothing here."
    assert not view.copy_button.isEnabled()
    view.set_value(DATA)
    assert view.stack.currentWidget() is view.tree
    assert view.tree.isExpanded(view.model.index(0, 0))  # the first level is open
    copied: list[str] = []
    view.sig_copied.connect(copied.append)
    view.copy_button.click()
    assert json.loads(QGuiApplication.clipboard().text()) == DATA
    customer = view.model.index(0, 0)
    view.tree.selectionModel().select(
        customer,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    view.copy_button.click()
    assert json.loads(copied[-1]) == DATA["customer"]
    assert json.loads(QGuiApplication.clipboard().text()) == DATA["customer"]
    view.expand_all()
    assert view.tree.isExpanded(view.model.index(0, 0, view.model.index(1, 0)))
    view.collapse_button.click()
    assert not view.tree.isExpanded(customer)
    view.set_value(None, "Gone.")
    assert view.stack.currentWidget() is view.empty
    assert view.empty.text() == "Gone."
    assert view.tree.model().data(view.model.index(0, 0), Qt.ItemDataRole.DisplayRole) is None
