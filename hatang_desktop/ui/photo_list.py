"""The photo strip of a record's form: thumbnails, add (file dialog or drag and drop), open, remove.

Embedding (for the record form)::

    strip = PhotoList(parent)                       # max_edge=2048 by default
    strip.set_record(db, "sites", site_uuid)        # the record's saved photos (None: a new record)
    strip.edits()                                   # what the user added and removed, not saved yet:
                                                    # a core.editing.PhotoEdits for save_record
    strip.saved(uuid)                               # after the form's save: the strip shows what is there
    strip.say(text)                                 # a message under the strip (a photo refused at save)
    strip.photos_changed.connect(...)               # after any add or remove
    strip.error.connect(...)                        # each refusal, already shown under the strip

Nothing is written while the form is open: added files wait as "chưa lưu" and removed photos
leave the strip; the form's Lưu writes them with the record in one operation (one undo step),
its Hủy forgets them. A photo whose file is gone is drawn as a grey placeholder "thiếu ảnh"; a
damaged file as "ảnh hỏng". Other API: `add_files(paths) -> list[str]` (refusals),
`remove_selected(confirm=True)`, `open_selected()`, `entries()` (PhotoInfo for saved photos,
Path for files waiting).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFont, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListView, QListWidget,
                               QListWidgetItem, QMessageBox, QPushButton, QVBoxLayout, QWidget)

from hatang_desktop.core import photos
from hatang_desktop.core.editing import PhotoEdits
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.storage.database import Database

from . import file_dialogs
from .strings import message_text, tr

THUMB_PX = 96
_ROLE = Qt.ItemDataRole.UserRole


def placeholder(size: int, text: str, colour: str = "#b00020") -> QPixmap:
    """A grey tile with a dashed border and a word: what a photo looks like when its file is gone."""
    pix = QPixmap(size, size)
    pix.fill(QColor("#ececec"))
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor("#9a9a9a"), 2, Qt.PenStyle.DashLine)
    p.setPen(pen)
    p.drawRect(2, 2, size - 4, size - 4)
    # A simple picture icon with a slash through it, above the word.
    p.setPen(QPen(QColor("#9a9a9a"), 2))
    cx, top = size // 2, size // 4
    p.drawRect(cx - 16, top, 32, 24)
    p.drawLine(cx - 14, top + 26, cx + 14, top - 2)
    font = QFont(p.font())
    font.setPointSizeF(max(7.0, size / 11))
    font.setBold(True)
    p.setFont(font)
    p.setPen(QColor(colour))
    p.drawText(0, size // 2 + 4, size, size // 2 - 8, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
               text)
    p.end()
    return pix


def _square(data: bytes | None, size: int) -> QPixmap | None:
    """A thumbnail centred on a square tile so the strip's cells line up."""
    if not data:
        return None
    img = QPixmap()
    if not img.loadFromData(data):
        return None
    img = img.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    tile = QPixmap(size, size)
    tile.fill(QColor("#f4f4f4"))
    p = QPainter(tile)
    p.drawPixmap((size - img.width()) // 2, (size - img.height()) // 2, img)
    p.end()
    return tile


def _short(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


class _Strip(QListWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.setGridSize(QSize(THUMB_PX + 22, THUMB_PX + 34))
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(THUMB_PX + 56)
        # Drops go to the PhotoList around us (it accepts them), not to a reorder of the items.
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)


class PhotoList(QWidget):
    photos_changed = Signal()
    error = Signal(str)

    def __init__(self, parent=None, *, max_edge: int = photos.DEFAULT_MAX_EDGE):
        super().__init__(parent)
        self.max_edge = max_edge
        self.db: Database | None = None
        self.owner_table: str | None = None
        self.owner_uuid: str | None = None
        self._pending: list[Path] = []
        self._removed: list[str] = []  # saved photos the user removed, until the form is saved
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        head = QHBoxLayout()
        self.title = QLabel(tr("photos_title"))
        self.title.setStyleSheet("font-weight: bold")
        self.add_button = QPushButton(tr("photo_add"))
        self.open_button = QPushButton(tr("photo_open"))
        self.remove_button = QPushButton(tr("photo_remove"))
        self.add_button.clicked.connect(self.choose_files)
        self.open_button.clicked.connect(self.open_selected)
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        head.addWidget(self.title)
        head.addStretch(1)
        for b in (self.add_button, self.open_button, self.remove_button):
            head.addWidget(b)
        layout.addLayout(head)
        self.strip = _Strip(self)
        self.strip.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.strip.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.strip)
        self.hint = QLabel(tr("photo_drop_hint"))
        self.hint.setStyleSheet("color: #666")
        layout.addWidget(self.hint)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        self.message.hide()
        layout.addWidget(self.message)
        self._update_buttons()

    # -- the record -----------------------------------------------------------------------------

    def set_record(self, db: Database | None, owner_table: str | None, owner_uuid: str | None) -> None:
        """Show a record's photos; owner_uuid None for a record not saved yet (files wait as pending)."""
        self.db, self.owner_table, self.owner_uuid = db, owner_table, owner_uuid
        self._pending, self._removed = [], []
        self.say(None)
        self.refresh()

    def edits(self) -> PhotoEdits:
        """What the form's save writes with the record: the files added, the photos removed."""
        return PhotoEdits(add=list(self._pending), remove=list(self._removed))

    def saved(self, owner_uuid: str) -> None:
        """The form was saved with `edits()`: show the record's photos as they now are."""
        self.set_record(self.db, self.owner_table, owner_uuid)

    def entries(self) -> list:
        return [self.strip.item(i).data(_ROLE) for i in range(self.strip.count())]

    def pending_files(self) -> list[Path]:
        return list(self._pending)

    def refresh(self) -> None:
        self.strip.clear()
        saved = []
        if self.db is not None and self.owner_table and self.owner_uuid:
            saved = [p for p in photos.list_photos(self.db, self.owner_table, self.owner_uuid)
                     if p.uuid not in self._removed]
        for info in saved:
            self._add_item(info)
        for path in self._pending:
            self._add_item(path)
        n = len(saved) + len(self._pending)
        self.title.setText(f"{tr('photos_title')} ({n})" if n else tr("photos_title"))
        self.hint.setVisible(n == 0)
        self._update_buttons()

    def _add_item(self, entry) -> None:
        if isinstance(entry, Path):
            try:
                pix = _square(photos.thumbnail_of_file(entry, THUMB_PX * 2), THUMB_PX)
            except photos.PhotoError:
                pix = None
            text, tip = f"{_short(entry.name)}\n({tr('photo_pending')})", str(entry)
            pix = pix or placeholder(THUMB_PX, tr("photo_damaged"))
        else:
            if entry.present:
                pix = _square(photos.thumbnail(self.db.path, entry, THUMB_PX * 2), THUMB_PX)
                pix = pix or placeholder(THUMB_PX, tr("photo_damaged"))
                text = _short(entry.original_name or entry.file_name)
                pos = (f"{entry.lat:.6f}, {entry.lon:.6f}" if entry.lat is not None else tr("photo_unknown"))
                tip = tr("photo_tip", name=entry.original_name or entry.file_name,
                         taken=(entry.taken_at or tr("photo_unknown")).replace("T", " "), pos=pos,
                         w=entry.width or "?", h=entry.height or "?")
            else:
                pix = placeholder(THUMB_PX, tr("photo_missing"))
                text = _short(entry.original_name or entry.file_name)
                tip = tr("photo_missing_tip", path=str(entry.path))
        item = QListWidgetItem(QIcon(pix), text)
        item.setToolTip(tip)
        item.setData(_ROLE, entry)
        item.setSizeHint(QSize(THUMB_PX + 18, THUMB_PX + 32))
        self.strip.addItem(item)

    def _update_buttons(self) -> None:
        has_record = self.db is not None and bool(self.owner_table)
        selected = self.strip.selectedItems()
        self.add_button.setEnabled(has_record)
        self.open_button.setEnabled(len(selected) == 1)
        self.remove_button.setEnabled(bool(selected))

    def say(self, text: str | None) -> None:
        self.message.setText(text or "")
        self.message.setVisible(bool(text))

    # -- adding -----------------------------------------------------------------------------------

    def choose_files(self) -> None:
        paths, _ = file_dialogs.open_file_names(self, tr("photo_choose"), "", tr("photo_filter"))
        if paths:
            self.add_files(paths)

    def add_files(self, paths) -> list[str]:
        """Add files to the record's photos, written when the form is saved. Returns the
        refusals (not an image, added twice), also shown under the strip."""
        if self.db is None or not self.owner_table:
            return [tr("photo_no_record")]
        errors = []
        added = False
        for raw in paths:
            path = Path(raw)
            try:
                photos.thumbnail_of_file(path, 32)  # refuse a non-image now, not at save time
            except HatangError as exc:
                errors.append(message_text(exc))
                continue
            if any(p.resolve() == path.resolve() for p in self._pending):
                errors.append(tr("photo_added_twice", name=path.name))
                continue
            self._pending.append(path)
            added = True
        self._finish(errors, added)
        return errors

    def _finish(self, errors: list[str], changed: bool) -> None:
        self.refresh()
        self.say("\n".join(errors) if errors else None)
        for e in errors:
            self.error.emit(e)
        if changed:
            self.photos_changed.emit()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.add_files(files)
        else:
            event.ignore()

    # -- opening and removing -------------------------------------------------------------------

    def _selected_entries(self) -> list:
        return [item.data(_ROLE) for item in self.strip.selectedItems()]

    def open_selected(self) -> Path | None:
        """Open the selected photo in the system's viewer; returns the file opened."""
        entries = self._selected_entries()
        if len(entries) != 1:
            return None
        entry = entries[0]
        path = entry if isinstance(entry, Path) else entry.path
        if not path.is_file():
            self.say(tr("photo_missing_tip", path=str(path)))
            return None
        self.open_url(QUrl.fromLocalFile(str(path)))
        return path

    def open_url(self, url: QUrl) -> None:
        QDesktopServices.openUrl(url)

    def remove_selected(self, confirm: bool = True) -> int:
        """Take the selected photos off the record (a saved one is tombstoned when the form is
        saved). Returns how many were taken off."""
        entries = self._selected_entries()
        if not entries:
            return 0
        if confirm:
            first = entries[0]
            name = first.name if isinstance(first, Path) else (first.original_name or first.file_name)
            if len(entries) > 1:
                name = f"{name} (+{len(entries) - 1})"
            answer = QMessageBox.question(self, tr("photo_remove"), tr("photo_remove_confirm", name=name))
            if answer != QMessageBox.StandardButton.Yes:
                return 0
        for entry in entries:
            if isinstance(entry, Path):
                self._pending = [p for p in self._pending if p != entry]
            else:
                self._removed.append(entry.uuid)
        self._finish([], True)
        return len(entries)


__all__ = ["PhotoList", "placeholder", "THUMB_PX"]
