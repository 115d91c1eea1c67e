"""Reading a database for the map off the GUI thread, with progress.

Everything slow (opening, the layer queries, the counts, the commune list) runs on a
QThreadPool worker; the GUI thread only receives plain results through queued signals, so the
window keeps painting. A bad file comes back as a message, never as an exception in a thread.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal
from sqlalchemy.exc import SQLAlchemyError

from hatang_desktop.core.errors import DatabaseFileError, HatangError, environment_fault
from hatang_desktop.core.info import database_info
from hatang_desktop.core.map_data import Commune, MapData, prepare_levels, read_communes, read_map
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.targets import is_server_url, open_database, parse_server_url

from .strings import both, message_text


@dataclass
class LoadedDatabase:
    db: Database
    data: MapData
    info: dict
    communes: list[Commune]


def read_database(path: str | Path, progress=None) -> LoadedDatabase:
    """Open a file (read-write when the file and its folder can be written, for editing; else
    read-only) or a server URL (read-write: the server's roles decide what may be written) and
    read all the map needs. Raises HatangError; closes what it opened."""
    if is_server_url(path):
        db = open_database(str(path))
    else:
        db = Database.open(path, readonly=not _writable(Path(path)))
    try:
        return read_open_database(db, progress)
    except (sqlite3.Error, SQLAlchemyError) as exc:
        db.close()
        fault = server_fault(db, exc)
        if fault is not None:
            raise fault from None
        raise DatabaseFileError(db.name, both("map_read_error", detail=exc)) from None
    except BaseException:
        db.close()
        raise


def server_fault(db, exc: BaseException):
    """A lost or refused server connection as the one line a user reads; None for a file or
    another error."""
    if getattr(db, "dialect", "sqlite") != "postgresql":
        return None
    from hatang_desktop.core.server.database import connection_fault

    return connection_fault(db.url, exc)


def read_open_database(db: Database, progress=None) -> LoadedDatabase:
    """All the map needs from a database already open (a window rebuilt in another language
    keeps the connection of the one it replaces). On a server the survey layers are read for
    the first view only (the whole mapped extent); the window reads them again as the view moves
    (window_viewport)."""
    box = None
    if db.dialect == "postgresql":
        from hatang_desktop.core.map_data import full_extent

        box = extent_lonlat(full_extent(db))
    data = read_map(db, progress, box=box)
    # Lines simplified for every zoom band here, on the worker, not at the first zoom-out.
    prepare_levels(data.routes)
    prepare_levels(data.boundaries)
    from .map.layers import prepare_layers

    prepare_layers(data)
    return LoadedDatabase(db, data, database_info(db), read_communes(db))


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
    failed = Signal(int, str)  # job id, message for the user
    needs_password = Signal(int, str)  # job id, message: the server wants a password


class LoadJob(QRunnable):
    def __init__(self, job_id: int, path: str | Path) -> None:
        super().__init__()
        self.job_id, self.path = job_id, path
        self.signals = LoadSignals()

    def run(self) -> None:
        try:
            result = read_database(self.path, lambda _stage, f: self.signals.progress.emit(self.job_id, int(f * 100)))
        except HatangError as exc:
            from hatang_desktop.core.server.database import PasswordNeeded

            signal = self.signals.needs_password if isinstance(exc, PasswordNeeded) else self.signals.failed
            signal.emit(self.job_id, message_text(exc))
        except Exception as exc:  # a thread must hand every failure back to the window
            fault = environment_fault(exc, self.path)
            self.signals.failed.emit(self.job_id, message_text(fault) if fault else f"{self.path}: {exc}")
        else:
            self.signals.finished.emit(self.job_id, result)
