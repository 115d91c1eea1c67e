"""The toolbar search: type a code or a name, pick a result, the map goes there."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit

from hatang_desktop.core.search import MIN_QUERY_LENGTH, SearchHit

from .record_text import record_label
from .strings import tr

SEARCH_DELAY_MS = 300  # wait for a pause in typing: one query per word, not per letter


def hit_label(hit: SearchHit) -> str:
    kind = record_label(hit.table)
    text = " · ".join(v for v in (hit.code, hit.name) if v)
    return f"{kind}: {text}"


class SearchBox(QLineEdit):
    query_ready = Signal(str)  # the window runs the search and calls show_hits
    hit_chosen = Signal(object)  # SearchHit

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(tr("search_placeholder"))
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(220)
        self.setMaximumWidth(320)
        self.hits: list[SearchHit] = []
        self._labels = QStringListModel()
        self.completer_ = QCompleter(self._labels, self)
        # The core already matched without diacritics: show its list as it is.
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setMaxVisibleItems(12)
        self.completer_.setWidget(self)
        self.completer_.activated[str].connect(self._chosen_label)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._ask)
        self.textEdited.connect(lambda _t: self._timer.start())
        self.returnPressed.connect(self._enter)

    def _ask(self) -> None:
        if len(self.text().strip()) >= MIN_QUERY_LENGTH:
            self.query_ready.emit(self.text())

    def _enter(self) -> None:
        self._timer.stop()
        if self.hits and self.completer_.popup().isVisible():
            self.choose(0)
        else:
            self._ask()

    def show_hits(self, hits: list[SearchHit]) -> None:
        self.hits = hits
        self._labels.setStringList([hit_label(h) for h in hits])
        if hits and self.isVisible():
            self.completer_.complete()

    def _chosen_label(self, label: str) -> None:
        for i, hit in enumerate(self.hits):
            if hit_label(hit) == label:
                self.choose(i)
                return

    def choose(self, i: int) -> None:
        self.completer_.popup().hide()
        self.hit_chosen.emit(self.hits[i])
