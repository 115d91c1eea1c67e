"""The rules' frames of a large database read side by side, each large one by a forked child.

Reading the frames is most of a national evaluation (measured on the national sample: pole
attachments 2.8 s, poles 1.9 s, sites 1.3 s, one after the other, nearly all of it SQLite
stepping and Python objects made per value), and one process uses one CPU. Here this process
reads the largest frame while a forked child reads each other large one (the way the exports
use a second core: exchange/export_parallel), and the children send their frames back pickled.

A child reads through its own read-only connection, so it first checks the database's last
logged change is the one this process saw (`export._mark`); otherwise, or when it fails, this
process reads that frame itself. Where this process may not fork (the desktop app, which has
other threads; one CPU; Windows, macOS) or the database is small or not a SQLite file, nothing
is read here and every frame is read in turn as before. The frames are the same either way
(tests compare them).
"""

from __future__ import annotations

import functools
import io
import logging
import pickle

import pandas as pd

from ..exchange.export_parallel import ForkedJob, WorkerFailed, fork_allowed
from ..storage.database import Database
from ..storage.dialect import SQLITE, raw
from .records import RECORDS, read_frame

log = logging.getLogger(__name__)

MIN_TOTAL_ROWS = 200_000   # below this a fork costs about what it saves
MIN_CHILD_ROWS = 50_000    # a table smaller than this is read here, after the largest


def _dumps(frame: pd.DataFrame) -> bytes:
    """The frame pickled without the pickler's memo: each of its millions of values is written
    once anyway, and not remembering them makes the dump 4-6x faster (measured, poles 1.48 ->
    0.25 s). A frame holds no object twice that must stay one object."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(frame)
    return out.getvalue()


def _child(path, mark: int, record: str, args: dict) -> bytes | None:
    from ..exchange.export import _mark as change_mark

    with Database.open(path, readonly=True) as db:
        with db.session() as s:
            if change_mark(s) != mark:
                return None
        return _dumps(read_frame(db, record, **args))


def read_apart(db: Database, args: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """The frames `read_frame(db, record, **args[record])` of the records read here and by
    children; {} when they are better read one by one (see the module text)."""
    if getattr(db, "dialect", SQLITE) != SQLITE or getattr(db, "path", None) is None or len(args) < 2 \
            or not fork_allowed():
        return {}
    from ..exchange.export import _mark as change_mark

    with db.session() as s:
        conn = raw(s)
        rows = {r: conn.execute(f"SELECT count(*) FROM {RECORDS[r].table}").fetchone()[0] for r in args}
        mark = change_mark(s)
    if sum(rows.values()) < MIN_TOTAL_ROWS:
        return {}
    by_size = sorted(args, key=lambda r: -rows[r])
    apart = [r for r in by_size[1:] if rows[r] >= MIN_CHILD_ROWS]
    if not apart:
        return {}
    jobs = {r: ForkedJob(functools.partial(_child, db.path, mark, r, args[r])) for r in apart}
    try:
        frames = {r: read_frame(db, r, **args[r]) for r in by_size if r not in jobs}
        for r, job in jobs.items():
            try:
                got = job.result()
            except WorkerFailed as exc:
                log.warning("rules' frame of %s not read by a forked reader: %s", r, exc)
                got = None
            frames[r] = pickle.loads(got) if got is not None else read_frame(db, r, **args[r])
    finally:
        for job in jobs.values():
            job.cancel()
    return frames
