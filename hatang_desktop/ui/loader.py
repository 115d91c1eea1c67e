"""Reading a database for the map off the GUI thread, with progress.

Everything slow (opening, the layer queries, the counts, the commune list) runs on a
QThreadPool worker; the GUI thread only receives plain results through queued signals, so the
window keeps painting. A bad file comes back as a message, never as an exception in a thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal
from sqlalchemy.exc import SQLAlchemyError

from hatang_desktop.core.errors import DatabaseFileError, HatangError, environment_fault
from hatang_desktop.core.info import database_info
from hatang_desktop.core.map_data import (ALL_LEVELS, LATE_LAYERS, LOD_MIN_LEVEL, Commune, MapData, PointLayer,
                                          first_view_levels, lod_tolerance, prepare_levels, read_communes, read_map,
                                          read_poles)
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.dialect import raw
from hatang_desktop.core.storage.targets import is_server_url, open_database, parse_server_url

from .strings import both, message_text


@dataclass
class LoadedDatabase:
    db: Database
    data: MapData
    info: dict
    communes: list[Commune]
    # The poles and the counts are still to come (LateLoad): data.poles is empty and info's
    # counts None until then.
    late: bool = False
    # The reading process that read the map (read_process.Reader), to read the poles too.
    reader: object = None


@dataclass
class LateLoad:
    """What a window receives after its map is shown: the poles (with their point grid made on
    the worker) and the database's counts."""
    poles: PointLayer
    prepared: dict
    info: dict


# Poles from which a file's poles are read after its map is shown (below, everything is read in
# one go: a small file opens as fast either way, with one job instead of two).
LATE_POLES = 50_000
# Poles from which a file is read in the reading process (read_process) rather than on the
# worker thread, whose GIL-holding calls froze the GUI thread: below, the thread is as quick.
PROCESS_POLES = 50_000


def read_database(path: str | Path, progress=None, late: bool = False,
                  stop: threading.Event | None = None) -> LoadedDatabase | None:
    """Open a file (read-write when the file and its folder can be written, for editing; else
    read-only) or a server URL (read-write: the server's roles decide what may be written) and
    read all the map needs; with `late`, a file with LATE_POLES poles or more has its poles and
    counts left for read_late (read in the reading process from PROCESS_POLES). None when `stop`
    was set meanwhile. Raises HatangError; closes what it opened."""
    if is_server_url(path):
        db = open_database(str(path))
    else:
        db = Database.open(path, readonly=not _writable(Path(path)))
    try:
        poles = pole_rows(db) if late and db.dialect == "sqlite" else 0
        if poles >= PROCESS_POLES:
            from . import read_process

            reader = read_process.reader()
            if reader is not None:
                return read_in_process(db, path, reader, progress, stop)
        return read_open_database(db, progress, late=late and poles >= LATE_POLES)
    except (sqlite3.Error, SQLAlchemyError) as exc:
        db.close()
        raise read_fault(db, exc) from None
    except BaseException:
        db.close()
        raise


def pole_rows(db: Database) -> int:
    """About how many poles a file holds (the highest row id: no scan)."""
    with db.session() as s:
        return int(raw(s).execute("SELECT coalesce(max(id), 0) FROM poles").fetchone()[0])


def read_in_process(db: Database, path, reader, progress=None, stop: threading.Event | None = None):
    """read_open_database(db, late=True) done by `reader` (read_process.Reader) on its own
    connection; the routes' tiles (QPainterPaths, which cannot cross) made here. None when
    `stop` was set (db closed)."""
    from .map.layers import RouteLayer

    got = reader.call("map_layers", str(path), stop=stop,
                      progress=None if progress is None else (lambda stage, f: progress(stage, f)))
    if got is None:
        db.close()
        return None
    data, communes = got
    ready = RouteLayer.prepare(data)
    if ready is not None:
        data.prepared[RouteLayer.key] = ready
    return LoadedDatabase(db, data, database_info(db, counts=False), communes, late=True, reader=reader)


def read_fault(db, exc: BaseException) -> HatangError:
    """A database error while reading the map as the message a user reads."""
    return server_fault(db, exc) or DatabaseFileError(db.name, both("map_read_error", detail=exc))


def server_fault(db, exc: BaseException):
    """A lost or refused server connection as the one line a user reads; None for a file or
    another error."""
    if getattr(db, "dialect", "sqlite") != "postgresql":
        return None
    from hatang_desktop.core.server.database import connection_fault

    return connection_fault(db.url, exc)


def read_open_database(db: Database, progress=None, late: bool = False) -> LoadedDatabase:
    """All the map needs from a database already open (a window rebuilt in another language
    keeps the connection of the one it replaces). On a server the survey layers are read for
    the first view only (the whole mapped extent); the window reads them again as the view moves
    (window_viewport). With `late` (a file only) the poles and the counts are left out, for
    read_late to bring once the map is shown."""
    box = None
    if db.dialect == "postgresql":
        from hatang_desktop.core.map_data import full_extent

        box = extent_lonlat(full_extent(db))
        late = False
    data = read_map(db, progress, box=box, skip=LATE_LAYERS if late else ())
    # Lines simplified for every zoom band here, on the worker, not at the first zoom-out (with
    # `late`, the bands of the first view; read_late makes the finer ones).
    for layer in (data.routes, data.boundaries):
        prepare_levels(layer, first_view_levels(data.extent) if late else ALL_LEVELS)
    from .map.layers import prepare_layers

    prepare_layers(data)
    return LoadedDatabase(db, data, database_info(db, counts=not late), read_communes(db), late=late)


def read_late(path: str | Path, data: MapData, stop: threading.Event | None = None,
              reader=None) -> LateLoad | None:
    """What read_open_database left out of `data` (shown already): the lines' finer levels of
    detail, made in place (a zoom-in soon after opening finds them), then the poles and the
    counts, read on a connection of its own: the window may close its database (open another)
    meanwhile, and the user may edit; what changes meanwhile the window replays over what
    arrives (WindowData._late_done). With `reader` (the map was read in the reading process)
    the process does it. None when `stop` was set: the read ends at its next SQLite step."""
    from .map.layers import PoleLayer

    if reader is not None:
        return _late_in_process(path, data, reader, stop)
    for layer in (data.routes, data.boundaries):
        for _ in finer_levels(layer, data.extent):
            pass
    with Database.open(path, readonly=True, upgrade=False) as db:
        if stop is not None:
            db.stop_reads_when(stop.is_set)
        try:
            poles = read_poles(db)
            ready = PoleLayer.prepare_poles(poles)
            return LateLoad(poles, {PoleLayer.key: ready} if ready is not None else {}, database_info(db))
        except (sqlite3.Error, SQLAlchemyError) as exc:
            if stop is not None and stop.is_set():
                return None
            raise read_fault(db, exc) from None


def finer_levels(layer, extent):
    """(tolerance, simplified layer) of the levels of detail finer than the first view's, made
    as they are yielded."""
    for level in range(LOD_MIN_LEVEL, first_view_levels(extent).start):
        yield lod_tolerance(level), layer.simplified(lod_tolerance(level))


def _late_in_process(path, data: MapData, reader, stop) -> LateLoad | None:
    got = reader.call("late_layers", str(path), stop=stop)
    if got is None:
        return None
    levels, poles, prepared, info = got
    for name, made in levels.items():
        layer = getattr(data, name)
        cache = layer.__dict__.setdefault("_simplified", {})
        for tolerance, level in made.items():
            if level is not None:
                level.uuid, level.attrs = layer.uuid, layer.attrs
            cache.setdefault(tolerance, layer if level is None else level)
    return LateLoad(poles, prepared, info)


def read_counts(path: str | Path) -> dict:
    """The counts of a database file, on a connection of its own (after edits made while the
    first counts were read)."""
    with Database.open(path, readonly=True, upgrade=False) as db:
        try:
            return database_info(db)
        except (sqlite3.Error, SQLAlchemyError) as exc:
            raise read_fault(db, exc) from None


def extent_lonlat(extent) -> tuple[float, float, float, float]:
    """An Extent in map metres as (west, south, east, north) degrees."""
    from hatang_desktop.core.map_data import mercator_to_lonlat

    (w, e), (s, n) = mercator_to_lonlat([extent.min_x, extent.max_x], [extent.min_y, extent.max_y])
    return float(w), float(s), float(e), float(n)


def _writable(path: Path) -> bool:
    # SQLite in WAL mode writes its -wal and -shm files beside the database: the folder counts too.
    return os.access(path, os.W_OK) and os.access(path.resolve().parent, os.W_OK)


def target_label(target) -> str:
    """How an open target reads in the title and messages: a file's name, a server's address
    (no password)."""
    if is_server_url(target):
        from .server_dialog import server_label

        return server_label(str(target))
    return Path(target).name


def as_target(value) -> str | Path:
    """A server address as the string it is (a Path would fold its `//`), a file as a Path."""
    return str(value) if is_server_url(str(value)) else Path(value)


def start_folder(target) -> str:
    """Where a file dialog about `target` starts: the file's folder; for a server, the user's
    documents (home)."""
    return str(Path.home()) if is_server_url(str(target)) else str(Path(target).parent)


def sibling_file(target, name: str) -> str:
    """A suggested output file beside the database file (in the home folder for a server)."""
    return str(Path.home() / name) if is_server_url(str(target)) else str(Path(target).with_name(name))


def target_stem(target) -> str:
    """A name for files made from `target`: the file's stem, or the server database's name."""
    if is_server_url(str(target)):
        info = parse_server_url(str(target)).conninfo
        return info.get("dbname") or info.get("service") or "hatang"
    return Path(target).stem


def same_target(a, b) -> bool:
    """Whether two targets name the same database (files by their resolved path)."""
    if is_server_url(str(a)) or is_server_url(str(b)):
        return str(a) == str(b)
    return Path(a).resolve() == Path(b).resolve()


def target_of(db) -> str:
    """What opens `db` again (its own connection for a dialog): the file's path, or the server's
    whole address without a password (a typed one stays in memory, found by that address)."""
    return str(db.path) if db.path is not None else db.url.uri


class LoadSignals(QObject):
    progress = Signal(int, int)  # job id, percent
    finished = Signal(int, object)  # job id, LoadedDatabase
    late = Signal(int, object)  # job id, LateLoad (after finished, when its `late` is set)
    failed = Signal(int, str)  # job id, message for the user
    needs_password = Signal(int, str)  # job id, message: the server wants a password


class LoadJob(QRunnable):
    """Reads a database for the window: the map first (finished), then, for a file, the poles
    and the counts (late) on the same worker."""

    # False reads everything before the map is drawn (one `finished`): the opening benchmark's
    # reference, as a window opened before the poles came late.
    late = True

    def __init__(self, job_id: int, path: str | Path) -> None:
        super().__init__()
        self.job_id, self.path = job_id, path
        self.signals = LoadSignals()
        self.stop = threading.Event()

    def run(self) -> None:
        result = self._guarded(lambda: read_database(
            self.path, lambda _stage, f: self.signals.progress.emit(self.job_id, int(f * 100)),
            late=self.late and not is_server_url(self.path), stop=self.stop))
        if result is None:
            return
        self.signals.finished.emit(self.job_id, result)
        if result.late:
            late = self._guarded(lambda: read_late(self.path, result.data, self.stop, result.reader))
            if late is not None:
                self.signals.late.emit(self.job_id, late)

    def cancel(self) -> None:
        """Another database was opened: what this job still reads is not wanted; its SQLite
        reads end at their next step (in the reading process too)."""
        from . import read_process

        read_process.stop(self.stop)

    def _guarded(self, read):
        """read(), or None after handing its failure to the window as a message."""
        try:
            return read()
        except HatangError as exc:
            from hatang_desktop.core.server.database import PasswordNeeded

            signal = self.signals.needs_password if isinstance(exc, PasswordNeeded) else self.signals.failed
            signal.emit(self.job_id, message_text(exc))
        except Exception as exc:  # a thread must hand every failure back to the window
            fault = environment_fault(exc, self.path)
            self.signals.failed.emit(self.job_id, message_text(fault) if fault else f"{self.path}: {exc}")
        return None


class CountsJob(QRunnable):
    """The counts read again off the GUI thread (edits came while they were being read)."""

    def __init__(self, job_id: int, path: str | Path) -> None:
        super().__init__()
        self.job_id, self.path = job_id, path
        self.signals = LoadSignals()

    def run(self) -> None:
        try:
            info = read_counts(self.path)
        except Exception:  # noqa: BLE001 - the counts stay as they were; the next open counts again
            return
        self.signals.finished.emit(self.job_id, info)
