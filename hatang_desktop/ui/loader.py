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

from .strings import both, message_text


@dataclass
class LoadedDatabase:
    db: Database
    data: MapData
    info: dict
    communes: list[Commune]


def read_database(path: str | Path, progress=None) -> LoadedDatabase:
    """Open (read-write when the file and its folder can be written, for editing; else read-only)
    and read all the map needs. Raises HatangError; closes what it opened."""
    db = Database.open(path, readonly=not _writable(Path(path)))
    try:
        return read_open_database(db, progress)
    except (sqlite3.Error, SQLAlchemyError) as exc:
        db.close()
        raise DatabaseFileError(path, both("map_read_error", detail=exc)) from None
    except BaseException:
        db.close()
        raise


def read_open_database(db: Database, progress=None) -> LoadedDatabase:
    """All the map needs from a database already open (a window rebuilt in another language
    keeps the connection of the one it replaces)."""
    data = read_map(db, progress)
    # Lines simplified for every zoom band here, on the worker, not at the first zoom-out.
    prepare_levels(data.routes)
    prepare_levels(data.boundaries)
    return LoadedDatabase(db, data, database_info(db), read_communes(db))


def _writable(path: Path) -> bool:
    # SQLite in WAL mode writes its -wal and -shm files beside the database: the folder counts too.
    return os.access(path, os.W_OK) and os.access(path.resolve().parent, os.W_OK)


class LoadSignals(QObject):
    progress = Signal(int, int)  # job id, percent
    finished = Signal(int, object)  # job id, LoadedDatabase
    failed = Signal(int, str)  # job id, message for the user


class LoadJob(QRunnable):
    def __init__(self, job_id: int, path: str | Path) -> None:
        super().__init__()
        self.job_id, self.path = job_id, path
        self.signals = LoadSignals()

    def run(self) -> None:
        try:
            result = read_database(self.path, lambda _stage, f: self.signals.progress.emit(self.job_id, int(f * 100)))
        except HatangError as exc:
            self.signals.failed.emit(self.job_id, message_text(exc))
        except Exception as exc:  # a thread must hand every failure back to the window
            fault = environment_fault(exc, self.path)
            self.signals.failed.emit(self.job_id, message_text(fault) if fault else f"{self.path}: {exc}")
        else:
            self.signals.finished.emit(self.job_id, result)
