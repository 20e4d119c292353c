"""The node palette and quick-add popup: built from the registry, searchable, keyboard-driven."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from pytestqt.qtbot import QtBot

from auterity_desktop.services.workflows.builtin_nodes import builtin_registry
from auterity_desktop.services.workflows.registry import NodeRegistry, NodeType
from auterity_desktop.ui.editor.palette import (
    FAVOURITES_GROUP,
    FAVOURITES_KEY,
    NODE_TYPE_MIME,
    PaletteWidget,
    TypeRole,
    node_tooltip,
    ports_line,
)
from auterity_desktop.ui.editor.quick_add import QuickAddPopup, rank_node_types


def make_palette(
    qtbot: QtBot, registry: NodeRegistry | None = None, settings: QSettings | None = None
) -> PaletteWidget:
    palette = PaletteWidget(registry or builtin_registry(), settings)
    qtbot.addWidget(palette)
    palette.resize(280, 600)
    return palette


def children(palette: PaletteWidget, group: str) -> list[str]:
    item = palette.group(group)
    assert item is not None
    return [str(item.child(i).data(0, TypeRole)) for i in range(item.childCount())]


def ini(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def many_types(count: int) -> list[NodeType]:
    return [
        NodeType(f"plugin_{i:03}", f"Plugin node {i:03}", f"Plugins {i % 7}", f"Does thing {i}.")
        for i in range(count)
    ]


# -- palette ------------------------------------------------------------------------------------
def test_every_registered_type_is_under_its_category(qtbot: QtBot) -> None:
    registry = builtin_registry()
    registry.register(NodeType("ocr_scan", "Scan document", "Vision", "Reads a scanned form."))
    palette = make_palette(qtbot, registry)
    for node_type in registry.all():
        assert node_type.type in children(palette, node_type.category)
    shown = {name for category in registry.categories() for name in children(palette, category)}
    assert shown == {t.type for t in registry.all()}
    # no favourites yet: that group is there but hidden
    favourites = palette.group(FAVOURITES_GROUP)
    assert favourites is not None
    assert favourites.isHidden()
    assert palette.tree.indexOfTopLevelItem(favourites) == 0


def test_items_show_title_and_a_tooltip_with_ports(qtbot: QtBot) -> None:
    palette = make_palette(qtbot)
    flow = palette.group("Flow")
    assert flow is not None
    titles = [flow.child(i).text(0) for i in range(flow.childCount())]
    assert "If" in titles
    assert titles == sorted(titles, key=str.casefold)
    item = flow.child(titles.index("If"))
    assert "Routes the data to true or false." in item.toolTip(0)
    assert "in: main (any) · out: true (any), false (any)" in item.toolTip(0)
    registry = builtin_registry()
    manual = registry.get("manual_trigger")
    merge = registry.get("merge")
    switch = registry.get("switch")
    assert manual is not None
    assert merge is not None
    assert switch is not None
    assert ports_line(manual) == "in: none · out: main (object)"
    assert ports_line(merge).startswith("in: main (any, many)")
    assert "ports set by its parameters" in ports_line(switch)
    assert "starts a run" in node_tooltip(manual)
    assert "starts a run" not in node_tooltip(merge)


def test_search_http_leaves_only_http_request(qtbot: QtBot) -> None:
    palette = make_palette(qtbot)
    palette.set_filter("http")
    assert palette.search.text() == "http"
    assert palette.visible_types() == ["http_request"]
    network = palette.group("Network")
    assert network is not None
    assert not network.isHidden()
    assert network.isExpanded()
    for category in ("Triggers", "Flow", "Data", "Human", "Output", FAVOURITES_GROUP):
        group = palette.group(category)
        assert group is not None
        assert group.isHidden()
    assert not palette.tree.isHidden()
    assert palette.empty.isHidden()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("HTTP", {"http_request"}),  # case-insensitive
        ("for_each", {"for_each"}),  # type name
        ("json schema", {"validate_data", "ai_prompt"}),  # description, every word
        ("network", {"http_request"}),  # category
        (
            "  trigger  ",
            {"manual_trigger", "message_trigger", "schedule_trigger", "webhook_trigger"},
        ),
    ],
)
def test_search_matches_title_type_description_and_category(
    qtbot: QtBot, query: str, expected: set[str]
) -> None:
    palette = make_palette(qtbot)
    palette.set_filter(query)
    assert set(palette.visible_types()) == expected


def test_no_match_says_so_and_clearing_restores_folding(qtbot: QtBot) -> None:
    palette = make_palette(qtbot)
    flow = palette.group("Flow")
    assert flow is not None
    flow.setExpanded(False)
    palette.set_filter("merge")
    assert flow.isExpanded()  # matching categories open
    palette.set_filter("zzz")
    assert palette.visible_types() == []
    assert not palette.empty.isHidden()
    assert palette.tree.isHidden()
    assert palette.empty.text() == "No node type matches “zzz”"
    palette.set_filter("")
    assert palette.empty.isHidden()
    assert not palette.tree.isHidden()
    assert len(palette.visible_types()) == len(builtin_registry().all())
    assert not flow.isExpanded()  # the user's folding is back


def test_favourites_persist_in_settings(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "settings.ini"
    palette = make_palette(qtbot, settings=ini(path))
    assert palette.favourites() == []
    palette.toggle_favourite("condition")
    palette.toggle_favourite("http_request")
    assert palette.favourites() == ["condition", "http_request"]
    group = palette.group(FAVOURITES_GROUP)
    assert group is not None
    assert not group.isHidden()
    assert palette.tree.indexOfTopLevelItem(group) == 0
    assert children(palette, FAVOURITES_GROUP) == ["http_request", "condition"]  # by title
    # the star marks every row of a favourite, in its category too
    flow = palette.group("Flow")
    assert flow is not None
    condition = next(
        flow.child(i) for i in range(flow.childCount()) if flow.child(i).text(0) == "If"
    )
    assert not condition.icon(1).isNull()

    reopened = make_palette(qtbot, settings=ini(path))
    assert reopened.favourites() == ["condition", "http_request"]
    assert children(reopened, FAVOURITES_GROUP) == ["http_request", "condition"]

    reopened.toggle_favourite("http_request")  # a one-item list survives the INI format
    assert make_palette(qtbot, settings=ini(path)).favourites() == ["condition"]
    reopened.toggle_favourite("condition")
    assert make_palette(qtbot, settings=ini(path)).favourites() == []


def test_favourites_of_unloaded_types_stay_stored(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "settings.ini"
    settings = ini(path)
    settings.setValue(FAVOURITES_KEY, ["ocr_scan", "delay"])
    palette = make_palette(qtbot, settings=settings)
    assert palette.favourites() == ["delay"]
    palette.toggle_favourite("log")
    assert ini(path).value(FAVOURITES_KEY) == ["ocr_scan", "delay", "log"]


def test_context_menu_toggles_favourite(qtbot: QtBot) -> None:
    palette = make_palette(qtbot)
    network = palette.group("Network")
    assert network is not None
    assert palette.context_menu(network) is None
    item = network.child(0)
    menu = palette.context_menu(item)
    assert menu is not None
    labels = [action.text() for action in menu.actions()]
    assert labels == ["Add to canvas", "Add to favourites"]
    menu.actions()[1].trigger()
    assert palette.favourites() == ["http_request"]
    menu = palette.context_menu(item)
    assert menu is not None
    assert menu.actions()[1].text() == "Remove from favourites"
    with qtbot.waitSignal(palette.sig_chosen) as chosen:
        menu.actions()[0].trigger()
    assert chosen.args == ["http_request"]


def test_drag_carries_the_type_name(qtbot: QtBot) -> None:
    palette = make_palette(qtbot)
    tree = palette.tree
    assert tree.mimeTypes() == [NODE_TYPE_MIME]
    network = palette.group("Network")
    assert network is not None
    item = network.child(0)
    tree.setCurrentItem(item)
    mime = tree.model().mimeData(tree.selectedIndexes())
    assert mime.hasFormat(NODE_TYPE_MIME)
    assert bytes(mime.data(NODE_TYPE_MIME).data()).decode("utf-8") == "http_request"
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert not network.flags() & Qt.ItemFlag.ItemIsDragEnabled  # a category is not a node


def test_enter_and_double_click_choose(qtbot: QtBot) -> None:
    palette = make_palette(qtbot)
    palette.show()
    qtbot.waitExposed(palette)
    tree = palette.tree
    flow = palette.group("Flow")
    assert flow is not None
    delay = next(
        flow.child(i) for i in range(flow.childCount()) if flow.child(i).text(0) == "Delay"
    )
    tree.setCurrentItem(delay)
    with qtbot.waitSignal(palette.sig_chosen) as chosen:
        qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert chosen.args == ["delay"]

    tree.scrollToItem(delay)
    center = tree.visualItemRect(delay).center()
    # QTest sends the double-click alone; a real one starts with a press the view tracks
    qtbot.mousePress(tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.mouseRelease(tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    with qtbot.waitSignal(palette.sig_chosen) as chosen:
        qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert chosen.args == ["delay"]

    tree.setCurrentItem(flow)  # Enter on a category does not add anything
    with qtbot.assertNotEmitted(palette.sig_chosen):
        qtbot.keyClick(tree, Qt.Key.Key_Return)


def test_search_field_keys(qtbot: QtBot) -> None:
    palette = make_palette(qtbot)
    qtbot.keyClicks(palette.search, "sched")
    assert palette.visible_types() == ["schedule_trigger"]
    with qtbot.waitSignal(palette.sig_chosen) as chosen:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)  # the top match
    assert chosen.args == ["schedule_trigger"]
    qtbot.keyClick(palette.search, Qt.Key.Key_Down)
    assert palette.tree.currentItem().data(0, TypeRole) == "schedule_trigger"
    qtbot.keyClick(palette.search, Qt.Key.Key_Escape)
    assert palette.search.text() == ""


def test_many_types_filter_correctly(qtbot: QtBot) -> None:
    registry = NodeRegistry(many_types(400))
    palette = make_palette(qtbot, registry)
    assert len(palette.visible_types()) == 400
    palette.set_filter("node 12")
    # every word somewhere: "node" is in all titles, "12" in 012, 112, 212, 312, 120 to 129
    expected = {f"plugin_{i:03}" for i in range(400) if "12" in f"{i:03}"}
    assert len(expected) == 14
    assert set(palette.visible_types()) == expected
    assert sum(not palette.group(f"Plugins {i}").isHidden() for i in range(7)) == 7


def test_reload_picks_up_new_types(qtbot: QtBot) -> None:
    registry = builtin_registry()
    palette = make_palette(qtbot, registry)
    registry.register(NodeType("send_mail", "Send e-mail", "Messages", "Sends an e-mail."))
    palette.reload()
    assert children(palette, "Messages") == ["publish_message", "send_mail"]  # by title


def test_empty_registry_says_so(qtbot: QtBot) -> None:
    palette = make_palette(qtbot, NodeRegistry())
    assert not palette.empty.isHidden()
    assert palette.empty.text() == "No node types are registered"


# -- quick-add ----------------------------------------------------------------------------------


@pytest.fixture
def popup(qtbot: QtBot) -> QuickAddPopup:
    widget = QuickAddPopup(builtin_registry())
    qtbot.addWidget(widget)
    return widget


def test_quick_add_types_and_enter_chooses(qtbot: QtBot, popup: QuickAddPopup) -> None:
    scene_pos = QPointF(120.5, -40.0)
    popup.open_at(QPoint(200, 150), scene_pos)
    assert popup.isVisible()
    assert popup.model.rowCount() == len(builtin_registry().all())
    qtbot.keyClicks(popup.search, "cond")
    assert popup.current_type() == "condition"
    with qtbot.waitSignal(popup.sig_chosen) as chosen:
        qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert chosen.args == ["condition", scene_pos]
    assert not popup.isVisible()


def test_quick_add_escape_closes_without_choosing(qtbot: QtBot, popup: QuickAddPopup) -> None:
    popup.open_at(QPoint(10, 10), QPointF(0, 0))
    qtbot.keyClicks(popup.search, "del")
    with qtbot.assertNotEmitted(popup.sig_chosen):
        qtbot.keyClick(popup.search, Qt.Key.Key_Escape)
    assert not popup.isVisible()


def test_quick_add_arrows_move_and_reopening_resets(qtbot: QtBot, popup: QuickAddPopup) -> None:
    popup.open_at(QPoint(10, 10), QPointF(5, 5))
    qtbot.keyClicks(popup.search, "trigger")
    assert popup.model.type_names() == [
        "manual_trigger", "message_trigger", "schedule_trigger", "webhook_trigger",
    ]  # fmt: skip
    assert popup.current_type() == "manual_trigger"
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    assert popup.current_type() == "message_trigger"
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    assert popup.current_type() == "schedule_trigger"
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    assert popup.current_type() == "webhook_trigger"
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)  # wraps round
    assert popup.current_type() == "manual_trigger"
    qtbot.keyClick(popup.search, Qt.Key.Key_Up)
    assert popup.current_type() == "webhook_trigger"
    qtbot.keyClick(popup.search, Qt.Key.Key_Tab)  # Tab steps too and keeps the focus here
    assert popup.current_type() == "manual_trigger"
    with qtbot.waitSignal(popup.sig_chosen) as chosen:
        qtbot.keyClick(popup.search, Qt.Key.Key_Enter)
    assert chosen.args == ["manual_trigger", QPointF(5, 5)]

    popup.open_at(QPoint(10, 10), QPointF(7, 7))
    assert popup.search.text() == ""
    assert popup.model.rowCount() == len(builtin_registry().all())


def test_quick_add_no_match(qtbot: QtBot, popup: QuickAddPopup) -> None:
    popup.open_at(QPoint(10, 10), QPointF(0, 0))
    qtbot.keyClicks(popup.search, "xyzzy")
    assert popup.model.rowCount() == 0
    assert popup.stack.currentWidget() is popup.empty
    assert popup.empty.text() == "No node type matches “xyzzy”"
    with qtbot.assertNotEmitted(popup.sig_chosen):
        qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert popup.isVisible()
    qtbot.keyClick(popup.search, Qt.Key.Key_Backspace)
    popup.search.clear()
    assert popup.stack.currentWidget() is popup.results


def test_quick_add_shows_favourites_first(qtbot: QtBot, popup: QuickAddPopup) -> None:
    popup.open_at(QPoint(10, 10), QPointF(0, 0), favourites=["log", "delay"])
    names = popup.model.type_names()
    assert names[:2] == ["delay", "log"]  # favourites, then the rest by title
    index = popup.model.index(0, 0)
    assert popup.model.data(index, Qt.ItemDataRole.UserRole + 2) == "Flow"  # category
    assert popup.model.data(index, Qt.ItemDataRole.UserRole + 3) is True  # starred


def test_quick_add_stays_on_screen(qtbot: QtBot, popup: QuickAddPopup) -> None:
    screen = popup.screen().availableGeometry()
    popup.open_at(screen.bottomRight(), QPointF(0, 0))
    assert screen.contains(popup.frameGeometry().bottomRight())


# -- ranking ------------------------------------------------------------------------------------
def ranked(query: str, types: list[NodeType], favourites: tuple[str, ...] = ()) -> list[str]:
    return [t.type for t in rank_node_types(types, query, favourites)]


RANKING_TYPES = [
    NodeType("read_file", "Read file", "Files", "Reads a file from disk."),
    NodeType("spreadsheet", "Spreadsheet read", "Files", "Rows of a spreadsheet."),
    NodeType("thread", "Thread", "Messages", "A conversation."),
    NodeType("reader", "Reader", "Files", "Reads things."),
    NodeType("bulk_import", "Bulk import", "Data", "Imports records; reads CSV."),
    NodeType("really", "Really", "Misc", "Unrelated."),
]


def test_ranking_prefix_then_word_start_then_substring_then_description() -> None:
    # title prefix (Read file, Reader), word start (Spreadsheet read), substring (Thread),
    # description only (Bulk import); "Really" does not match at all
    assert ranked("read", RANKING_TYPES) == [
        "read_file",
        "reader",
        "spreadsheet",
        "thread",
        "bulk_import",
    ]


def test_ranking_favourites_first_among_equals() -> None:
    assert ranked("read", RANKING_TYPES, ("reader", "thread")) == [
        "reader",
        "read_file",
        "spreadsheet",
        "thread",
        "bulk_import",
    ]
    # a favourite never jumps a better tier
    assert ranked("read", RANKING_TYPES, ("bulk_import",))[-1] == "bulk_import"


def test_ranking_words_and_type_names() -> None:
    builtin = builtin_registry().all()
    assert ranked("cond", builtin)[0] == "condition"  # its title is "If"
    assert ranked("sub work", builtin)[0] == "sub_workflow"  # "Sub-workflow"
    assert ranked("subworkflow", builtin)[0] == "sub_workflow"
    assert ranked("http req", builtin) == ["http_request"]
    assert ranked("approval", builtin)[0] == "approval"  # "Human approval": a word start
    assert ranked("", builtin)[0] == "ai_prompt"  # all by title: "AI prompt"
    assert ranked("", builtin, ("log",))[0] == "log"


def test_ranking_with_many_types() -> None:
    types = many_types(300)
    result = ranked("plugin node 02", types)
    assert result[:10] == [f"plugin_{i:03}" for i in range(20, 30)]  # title prefix
    assert "plugin_102" in result[10:]  # "02" is in its title, but not at a word start
