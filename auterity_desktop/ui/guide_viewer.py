"""Help ▸ User guide: the Markdown guide from ``docs/`` (shipped with the application), read
in a window beside the work, with its contents, search and back/forward.

The guide is the same file the repository shows, so it is written once; its screenshots come
from ``docs/take_screenshots.py``. Qt renders the Markdown itself: no web engine.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QUrl
from PySide6.QtGui import (
    QImageReader,
    QKeySequence,
    QShortcut,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from auterity_desktop import APP_NAME

GUIDE = "user-guide.md"


def guide_path() -> Path:
    return Path(str(resources.files("auterity_desktop.resources").joinpath("guide", GUIDE)))


class GuideViewer(QDialog):
    def __init__(self, parent: QWidget | None = None, path: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GuideViewer")
        self.setWindowTitle(f"{APP_NAME} — User guide")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setModal(False)
        self.path = path or guide_path()
        self._sizes: dict[str, QSize] = {}

        self.browser = QTextBrowser()
        self.browser.setObjectName("GuideText")
        self.browser.setOpenExternalLinks(True)
        self.browser.setAccessibleName("User guide")
        self.contents = QListWidget()
        self.contents.setAccessibleName("Contents")
        self.contents.setToolTip("Jump to a section")
        self.contents.itemActivated.connect(self._jump)
        self.contents.itemClicked.connect(self._jump)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the guide (Enter: next, Shift+Enter: previous)")
        self.search.setAccessibleName("Search the guide")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.find_next)
        QShortcut(QKeySequence("Shift+Return"), self.search, self.find_previous)
        QShortcut(QKeySequence.StandardKey.Find, self, self.search.setFocus)
        self.back_button = QPushButton("◀ &Back")
        self.back_button.setToolTip("Back (Alt+Left)")
        self.back_button.clicked.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(self.back_button.setEnabled)
        self.back_button.setEnabled(False)
        self.back_button.setAutoDefault(False)

        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.search, 1)
        splitter = QSplitter()
        splitter.addWidget(self.contents)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 760])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._anchor: int | None = None  # the section jumped to, kept at the top on reflow
        self._scrolling = False
        self.browser.verticalScrollBar().actionTriggered.connect(self._forget_anchor)
        self.browser.viewport().installEventFilter(self)
        text_layout = self.browser.document().documentLayout()
        text_layout.documentSizeChanged.connect(lambda _size: self._scroll_to_anchor())
        self.resize(1040, 760)
        self.load()

    def load(self) -> None:
        self._anchor = None
        if not self.path.exists():
            self.browser.setPlainText(
                f"The user guide is missing from this installation ({self.path}). "
                "It is also in the docs folder of the source repository."
            )
            return
        self.browser.setSearchPaths([str(self.path.parent)])
        self.browser.setSource(
            QUrl.fromLocalFile(str(self.path)), QTextDocument.ResourceType.MarkdownResource
        )
        self._build_contents()
        self.fit_images()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Whatever resizes the text (the window, the splitter, the first show) fits the
        pictures to it again; the reflow that follows keeps a section jumped to at the top
        (``documentSizeChanged``: the browser has laid the text out by then)."""
        if watched is self.browser.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_images()
        return super().eventFilter(watched, event)

    def _scroll_to_anchor(self) -> None:
        if self._anchor is None:
            return
        block = self.browser.document().findBlock(self._anchor)
        top = self.browser.document().documentLayout().blockBoundingRect(block).top()
        self._scrolling = True
        try:
            self.browser.verticalScrollBar().setValue(int(top))
        finally:
            self._scrolling = False

    def _forget_anchor(self, *_args: object) -> None:
        if not self._scrolling:  # the reader scrolled: their place, not ours, from now on
            self._anchor = None

    def fit_images(self) -> None:
        """Screenshots are as wide as the screen they were taken on: show each at most as
        wide as the text, keeping its proportions."""
        document = self.browser.document()
        room = max(self.browser.viewport().width() - 40, 200)
        block = document.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                fmt = fragment.charFormat()
                if fragment.isValid() and fmt.isImageFormat():
                    image = fmt.toImageFormat()
                    natural = self._image_size(image.name())
                    width = natural.width()
                    if width > 0:
                        shown = min(width, room)
                        if abs(image.width() - shown) > 1:
                            image.setWidth(shown)
                            image.setHeight(natural.height() * shown / width)
                            cursor = QTextCursor(document)
                            cursor.setPosition(fragment.position())
                            cursor.setPosition(
                                fragment.position() + fragment.length(),
                                QTextCursor.MoveMode.KeepAnchor,
                            )
                            cursor.setCharFormat(image)
                it += 1
            block = block.next()

    def _image_size(self, name: str) -> QSize:
        size = self._sizes.get(name)
        if size is None:
            size = self._sizes[name] = QImageReader(str(self.path.parent / name)).size()
        return size

    def _build_contents(self) -> None:
        self.contents.clear()
        block = self.browser.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if 1 <= level <= 3 and block.text().strip():
                item = QListWidgetItem("    " * (level - 1) + block.text().strip())
                item.setData(Qt.ItemDataRole.UserRole, block.position())
                self.contents.addItem(item)
            block = block.next()

    def headings(self) -> list[str]:
        return [self.contents.item(i).text().strip() for i in range(self.contents.count())]

    def show_section(self, title: str) -> bool:
        for i in range(self.contents.count()):
            if self.contents.item(i).text().strip() == title:
                self._jump(self.contents.item(i))
                return True
        return False

    def _jump(self, item: QListWidgetItem) -> None:
        position = int(item.data(Qt.ItemDataRole.UserRole))
        self.browser.setTextCursor(QTextCursor(self.browser.document().findBlock(position)))
        self._anchor = position
        self._scroll_to_anchor()  # the heading at the top of the view

    def find_next(self) -> bool:
        return self._find(QTextDocument.FindFlag(0))

    def find_previous(self) -> bool:
        return self._find(QTextDocument.FindFlag.FindBackward)

    def _find(self, flags: QTextDocument.FindFlag) -> bool:
        self._anchor = None  # the match is where the reader is now
        text = self.search.text()
        if not text:
            return False
        if self.browser.find(text, flags):
            return True
        cursor = self.browser.textCursor()  # wrap around once
        cursor.movePosition(
            QTextCursor.MoveOperation.End
            if flags & QTextDocument.FindFlag.FindBackward
            else QTextCursor.MoveOperation.Start
        )
        self.browser.setTextCursor(cursor)
        return self.browser.find(text, flags)
