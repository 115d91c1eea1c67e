"""What the reading process (read_process) does for a window: the map of a large database file,
then its poles, as loader's read_open_database and read_late do on a thread, with the same
results; the parent adds what cannot cross a process (the routes' QPainterPath tiles)."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import replace

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from hatang_desktop.core.info import database_info
from hatang_desktop.core.exchange.export_parallel import ForkedJob, WorkerFailed, fork_allowed
from hatang_desktop.core.map_data import (LATE_LAYERS, first_view_levels, prepare_levels, read_communes, read_map,
                                          read_poles, read_sites)
from hatang_desktop.core.storage.database import Database

from .loader import finer_levels, read_fault
from .map.layers import PoleLayer, SiteLayer

log = logging.getLogger(__name__)

# The lines whose levels of detail are made on the reader (first view's with the map, the rest after).
LINE_LAYERS = ("routes", "boundaries")


class Stopped(Exception):
    """The parent asked for the read in hand to stop (another database was opened)."""


@contextlib.contextmanager
def _reading(path: str, stopped):
    """The file read-only, its reads ending once `stopped()`; SQLite errors as the user's message."""
    with Database.open(path, readonly=True, upgrade=False) as db:
        db.stop_reads_when(stopped)
        try:
            yield db
        except (sqlite3.Error, SQLAlchemyError) as exc:
            if stopped():
                raise Stopped() from None
            raise read_fault(db, exc) from None


def map_layers(state: dict, path: str, progress, stopped):
    """(MapData without poles, communes): read_open_database(late=True) but the routes' tiles."""
    def step(stage, fraction) -> None:
        if stopped():
            raise Stopped()
        progress(stage, fraction)

    state.clear()
    sites = _sites_forked(path, stopped)
    try:
        with _reading(path, stopped) as db:
            data = read_map(db, step, skip=LATE_LAYERS + (() if sites is None else ("sites",)))
            for name in LINE_LAYERS:
                prepare_levels(getattr(data, name), first_view_levels(data.extent))
            communes = read_communes(db)
            if sites is not None:
                forked = _forked_result(sites, stopped)
                data.sites = forked if forked is not None else read_sites(db)
        ready = SiteLayer.prepare(data)
        if ready is not None:
            data.prepared[SiteLayer.key] = ready
    finally:
        if sites is not None:
            sites.cancel()
    state.update(path=path, data=data)
    return data, communes


def _sites_forked(path: str, stopped):
    """The sites read by a forked child of this process while it reads the rest: the country's
    120k sites are ~1 s of SQLite (each site's tenants looked up), the other layers and the
    lines' levels of detail about as long, and a thread beside them gains nothing (the two
    contend for the GIL)."""
    return _forked(path, stopped, read_sites)


def _forked(path: str, stopped, read, *, nice: int = 0):
    """A forked child of this process running `read(db)` on the file; None where this process
    cannot fork safely (another thread running, one CPU): the caller then reads it itself. The
    child watches the same stop flag. `nice`: how far the child steps back for other programs
    (and the window's GUI thread) when the CPUs are taken."""
    if not fork_allowed(qt_imported=True):
        return None

    def run():
        if nice:
            os.nice(nice)
        with _reading(path, stopped) as db:
            return read(db)

    return ForkedJob(run)


def _forked_result(job, stopped):
    """The child's sites; None when it failed (the sites are then read here); Stopped when the
    parent asked for the read to stop."""
    try:
        return job.result()
    except WorkerFailed as exc:
        if stopped():
            raise Stopped() from None
        log.warning("a layer not read by a forked reader: %s", exc)
        return None


def late_layers(state: dict, path: str, progress, stopped):
    """(finer levels per line layer, poles, prepared, counts): read_late's, for the map that
    map_layers read last. A level is sent without the layer's uuid and attributes, which the
    parent has (`None`: the level is the layer itself)."""
    data = state.pop("data", None) if state.get("path") == path else None
    state.clear()
    # The country's 504k poles (~4 s: each pole's attachments summed) are read and prepared by a
    # forked child while this process makes the lines' finer levels and the counts (~1.6 s). The
    # window is building its map meanwhile: the child gives way to it (without that, the longest
    # GUI block while opening the country went from ~21 to ~58 ms).
    job = _forked(path, stopped, _poles_prepared, nice=10)
    try:
        return _late(data, path, stopped, job)
    finally:
        if job is not None:
            job.cancel()


def _late(data, path: str, stopped, job):
    levels = {}
    if data is not None:
        for name in LINE_LAYERS:
            layer = getattr(data, name)
            made = {}
            for tolerance, level in finer_levels(layer, data.extent):
                if stopped():
                    raise Stopped()
                made[tolerance] = None if level is layer else replace(level, uuid=np.empty(0, layer.uuid.dtype),
                                                                      attrs={})
            levels[name] = made
    with _reading(path, stopped) as db:
        info = database_info(db)
        got = _forked_result(job, stopped) if job is not None else None
        poles, ready = got if got is not None else _poles_prepared(db, stopped)
    return levels, poles, {PoleLayer.key: ready} if ready is not None else {}, info


def _poles_prepared(db, stopped=lambda: False):
    poles = read_poles(db)
    if stopped():
        raise Stopped()
    return poles, PoleLayer.prepare_poles(poles)

