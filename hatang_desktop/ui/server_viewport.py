"""On a server, the survey layers hold the view's surroundings, not the province.

A file is read whole (it is on this disk and the R*Tree makes its reads cheap). A server holds a
province or the country for many users: the map reads the survey layers (sites, poles, routes,
findings, zones) for the view plus a margin, through the GiST index (core.map_data.read_survey),
and reads them again, on a worker and after the view has settled, when the view leaves the loaded
area or is so much smaller than it that the loaded rows are mostly far away. Admin outlines and
labels stay read whole, as on a file. Edits patch the layers as on a file (apply_changes); a read
in flight when an edit lands is dropped and made again, so it cannot bring back the old record.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from hatang_desktop.core.map_data import Extent, read_survey

from .loader import extent_lonlat

SETTLE_MS = 250  # the view must rest this long before a read: a drag is not a hundred reads
MARGIN = 0.5  # each side of the view, as a share of its width/height, read in advance
SHED_RATIO = 16.0  # loaded area over the margined view's area beyond which the far rows are dropped


def covers(outer: Extent, inner: Extent) -> bool:
    return (outer.min_x <= inner.min_x and outer.min_y <= inner.min_y
            and outer.max_x >= inner.max_x and outer.max_y >= inner.max_y)


def _area(e: Extent) -> float:
    return max(e.max_x - e.min_x, 0.0) * max(e.max_y - e.min_y, 0.0)


def with_margin(view: Extent, margin: float = MARGIN) -> Extent:
    dx, dy = (view.max_x - view.min_x) * margin, (view.max_y - view.min_y) * margin
    return Extent(view.min_x - dx, view.min_y - dy, view.max_x + dx, view.max_y + dy)


class _ReadSignals(QObject):
    done = Signal(int, object, object)  # generation, box read (Extent), layers
    failed = Signal(int, object)  # generation, exception


class _Read(QRunnable):
    def __init__(self, generation: int, db, box: Extent) -> None:
        super().__init__()
        self.generation, self.db, self.box = generation, db, box
        self.signals = _ReadSignals()

    def run(self) -> None:
        try:
            layers = read_survey(self.db, extent_lonlat(self.box))
        except Exception as exc:  # handed to the GUI thread: a lost connection is a message there
            self.signals.failed.emit(self.generation, exc)
        else:
            self.signals.done.emit(self.generation, self.box, layers)


class ServerViewport(QObject):
    """Keeps a server map's survey layers covering the view (one per window)."""

    reloaded = Signal()  # the survey layers now hold a new box's rows

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.db = None
        self.loaded: Extent | None = None  # map metres: what the survey layers hold
        self.generation = 0
        self.reads = 0  # reads applied, for the status and tests
        self._running: dict[int, _Read] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self.check)
        window.canvas.view.sigRangeChanged.connect(lambda *_: self._view_moved())

    @property
    def active(self) -> bool:
        return self.db is not None and self.db.dialect == "postgresql"

    @property
    def busy(self) -> bool:
        return bool(self._running) or self._timer.isActive()

    def database_changed(self, db) -> None:
        """A database was drawn (or closed): on a server the first read covered the whole map."""
        self.generation += 1
        self._running.clear()
        self.db = db
        self.loaded = None
        if self.active:
            # Nothing lies outside the mapped extent: the first read covers the first view and
            # its margin too (a read again right after opening would bring the same rows).
            extent, view = self.window.canvas._extent, with_margin(self.window.canvas.view_extent())
            self.loaded = Extent(min(extent.min_x, view.min_x), min(extent.min_y, view.min_y),
                                 max(extent.max_x, view.max_x), max(extent.max_y, view.max_y))

    def edited(self) -> None:
        """An edit was patched in: a read started before it may miss it; read again."""
        if self.active and self._running:
            self.generation += 1
            self._running.clear()
            self.loaded = None
            self._timer.start()

    def refresh(self) -> None:
        """Read the view again now (after reconnecting)."""
        if self.active:
            self.loaded = None
            self.check()

    def _view_moved(self) -> None:
        if self.active:
            self._timer.start()

    def check(self) -> None:
        """Read the view's surroundings when the loaded area no longer serves the view."""
        if not self.active:
            return
        view = self.window.canvas.view_extent()
        if view.empty:
            return
        wanted = with_margin(view)
        if self.loaded is not None and covers(self.loaded, view) \
                and _area(self.loaded) <= SHED_RATIO * _area(wanted):
            return
        self.generation += 1
        read = _Read(self.generation, self.db, wanted)
        read.signals.done.connect(self._done)
        read.signals.failed.connect(self._failed)
        self._running = {self.generation: read}
        QThreadPool.globalInstance().start(read)

    def _done(self, generation: int, box: Extent, layers: dict) -> None:
        if generation != self.generation or self.window.db is not self.db:
            return  # the view moved on, an edit landed, or another database opened
        self._running.pop(generation, None)
        self.loaded = box
        self.reads += 1
        self.window.show_survey(layers)
        self.reloaded.emit()

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation != self.generation:
            return
        self._running.pop(generation, None)
        message = self.window.server_fault_message(exc)
        self.window.statusBar().showMessage(message or str(exc), 15000)
