"""Writing a merge: the plans in one transaction, the backup taken for it and the rotation of
the backups. Shared by every import, so a merge is written one way only."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from ..cancel import Cancel, checkpoint
from ..forms import Forms
from ..messages import Text
from ..storage.bulk import Replays, indexes_aside, insert_many, outnumbered
from ..storage.database import Database, backup_file
from .records import to_db, to_db_columns, to_db_many

if TYPE_CHECKING:
    from .merge import RecordPlan

# One kind of backup per reader: `<db>.truoc-nhap-<time>.bak.hatang` before a workbook's import,
# `<db>.truoc-nhap-gis-<time>...` before a GIS file's, `<db>.truoc-dong-bo-<time>...` before an
# online sync writes into a commune's file. Each kind is rotated on its own.
BACKUP_LABELS = {"sheet": "truoc-nhap", "layer": "truoc-nhap-gis", "sync": "truoc-dong-bo"}


class HeldTransaction:
    """An open write transaction offered as the database to the functions that read what a merge
    merges with (match_existing, check_parents, plan_import, check_unique: they read through
    `with db.session() as s`). They then read under the transaction's write lock, and what they
    read cannot change before the plan is written in the same transaction."""

    def __init__(self, db: Database, session):
        self.path = db.path
        self._session = session

    @contextlib.contextmanager
    def session(self):
        yield self._session


class NothingToWrite(Exception):
    """Raised inside the write transaction when the plan changes nothing: it rolls back, and
    the import ends without a backup or an operation logged."""


def write_checked(s, result, write: Callable[[], None], refuse: Callable[[Text], Exception]) -> None:
    """Run `write()` in the open transaction `s`. A row the database still refuses (a constraint
    no check foresaw) becomes `refuse(message)`, a refusal naming the constraint, not a
    traceback: the transaction rolls back and the backup just taken (`result.backup`, a copy of
    a database left unchanged) is removed."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    try:
        write()
        s.flush()
    except (IntegrityError, sqlite3.IntegrityError) as exc:   # the driver's own from a bulk insert (storage.bulk)
        if result.backup is not None:
            result.backup.unlink(missing_ok=True)
            result.backup = None
        reason = getattr(exc, "orig", exc)
        raise refuse(Text(f"cơ sở dữ liệu từ chối một bản ghi ({reason}); không thay đổi gì",
                          f"the database refused a record ({reason}), nothing was changed")) from None


WRITE_ORDER = ("sites", "poles", "fibre_routes", "zones", "site_tenants", "pole_attachments", "findings")


def write_plans(s, plans: list[RecordPlan], forms: Forms, *, source: str, origin: str,
                origin_database_id: str = "", cancel: Cancel | None = None) -> list[RecordPlan]:
    """Write merge plans inside an open operation (session `s`): inserts, field-wise updates,
    tombstones and conflicts, parents before children. Shared by every import (workbooks, GIS
    files, the online sync) so a merge is written one way only; `origin` names the file in
    stored conflicts.

    Every update is optimistic: `WHERE uuid = … AND version = <the version the plan read>`. In
    a SQLite file the plan and the write run under one write lock (BEGIN IMMEDIATE), so the
    check always holds. On the server another transaction may have written the record between
    the plan's read and this write: the update then changes no row, and that plan is returned,
    unwritten and with its conflicts not stored, for the caller to plan again against what is
    there now (the same three-way merge: applied or a conflict, never an overwrite)."""
    incoming = {record: 0 for record in WRITE_ORDER}
    for p in plans:
        if p.action == "insert":
            incoming[p.row.record] += 1
    # Into a (nearly) empty file, the indexes of the tables that more than double and the change
    # log's are built once at the end instead of entry by entry (storage.bulk.indexes_aside).
    aside = outnumbered(s, {**incoming, "change_log": sum(incoming.values())})
    with indexes_aside(s, aside):
        stale = _write_plans(s, plans, forms, source=source, origin=origin,
                             origin_database_id=origin_database_id, cancel=cancel)
    return stale


def _write_plans(s, plans: list[RecordPlan], forms: Forms, *, source: str, origin: str,
                 origin_database_id: str, cancel: Cancel | None) -> list[RecordPlan]:
    now = str(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    who = s.info["user"]
    stale: list[RecordPlan] = []
    # The plans by record type in one pass, each in the plans' order (a country's 1.4 million
    # plans were scanned once per record type).
    by_record: dict[str, list[RecordPlan]] = {record: [] for record in WRITE_ORDER}
    for p in plans:
        by_record.setdefault(p.row.record, []).append(p)   # a type not written here is left, as before
    # A table's insert triggers are replayed set-wise (storage.bulk.insert_many) on a thread of
    # their own while the next table's rows are put together here: the replays (a country's
    # poles: their change log and R*Tree) and the rows' assembly take turns on two cores.
    stamp = {"updated_at": now, "updated_by": who, "source": source}
    ready: dict[str, dict] = {}   # record -> its insert columns, put together ahead of their turn

    def columns_of(record: str) -> dict[tuple[str, ...], list[list]]:
        return _insert_columns(forms[record], [p for p in by_record[record] if p.action == "insert"], stamp)

    with Replays() as replays:
        for n, record in enumerate(WRITE_ORDER):
            checkpoint(cancel)   # between record types: a Cancel rolls the whole transaction back
            form = forms[record]
            mine = by_record[record]
            # Put together while the last table's replay runs in SQLite (Replays).
            inserts = ready.pop(record) if record in ready else columns_of(record)
            if any(p.action in ("update", "delete") or p.conflicts for p in mine):
                replays.wait()   # updates and conflicts go through the same connection
            for p in mine:
                if p.action in ("update", "delete"):
                    full = to_db(form, {k: v for k, v in p.changes.items() if k != "deleted"} |
                                 {k: v for k, v in p.local.items() if k not in p.changes})
                    cols = {c: full[c] for c in _columns_for(form, p.changes) if c in full}
                    if "deleted" in p.changes:
                        cols["deleted"] = int(bool(p.changes["deleted"]))
                    cols |= {"version": p.new_version, "updated_at": now, "updated_by": who, "source": source}
                    check = " AND version = :_base" if p.local_version is not None else ""
                    done = s.execute(text(f"UPDATE {record} SET {', '.join(f'{c} = :{c}' for c in cols)} "
                                          f"WHERE uuid = :_uuid{check}"),
                                     cols | {"_uuid": p.row.uuid, "_base": p.local_version})
                    if done.rowcount == 0:
                        stale.append(p)
                        continue
                for c in p.conflicts:
                    s.execute(text(
                        "INSERT INTO conflicts(uuid, table_name, record_uuid, field, base_value, local_value, "
                        "theirs_value, workbook, workbook_database_id, theirs_version, created_at) VALUES "
                        "(:id, :t, :u, :f, :b, :l, :w, :wb, :db, :v, :now)"),
                        {"id": str(uuidlib.uuid4()), "t": record, "u": c.uuid, "f": c.field,
                         "b": json.dumps(_jsonable(c.base), default=str),
                         "l": json.dumps(_jsonable(c.local), default=str),
                         "w": json.dumps(_jsonable(c.theirs), default=str), "wb": origin,
                         "db": origin_database_id, "v": p.row.version, "now": now})
            if inserts:   # one executemany per column set, the triggers' work set-wise when many
                # While the last replay still runs, the next tables' rows are put together too
                # (the poles' replay outlasts the routes' rows; the attachments' fill the rest).
                for later in WRITE_ORDER[n + 1:]:
                    if not replays.busy():
                        break
                    if later not in ready:
                        ready[later] = columns_of(later)
                insert_many(s, record, inserts, replays=replays)
    _relink_route_poles(s, plans, stale)
    return stale


def _insert_columns(form, new: list[RecordPlan], stamp: dict) -> dict[tuple[str, ...], list[list]]:
    """The rows the insert plans `new` write, a column at a time ({column names: one list of
    values per column}, one entry per set of columns): a record's columns (records.to_db), then
    deleted, uuid, version and the `stamp` every row of the operation carries. A form without
    a geometry is built column by column, a country's poles without a dict per row."""
    if not new:
        return {}
    n = len(new)
    extra = {"deleted": [int(bool(p.changes.get("deleted"))) for p in new], "uuid": [p.row.uuid for p in new],
             "version": [p.new_version for p in new]} | {k: [v] * n for k, v in stamp.items()}
    wide = to_db_columns(form, [p.changes for p in new])
    if wide is not None:
        columns = dict(zip(*wide)) | extra
        return {tuple(columns): list(columns.values())}
    grouped: dict[tuple[str, ...], list[dict]] = {}
    for k, cols in enumerate(to_db_many(form, [p.changes for p in new])):
        cols |= {name: values[k] for name, values in extra.items()}
        grouped.setdefault(tuple(cols), []).append(cols)
    return {names: [[r[c] for r in rows] for c in names] for names, rows in grouped.items()}


def _relink_route_poles(s, plans: list[RecordPlan], stale: list[RecordPlan]) -> None:
    """The poles a route hangs on are not in a workbook or a sync package: each side derives
    them from the lines and poles it holds (editing/route_poles.py), so a route or a pole merged
    here brings this side's list in step as an edit would (a pole's routes do not follow it: an
    import writes the lines it was given)."""
    from ..editing.route_poles import link_new_routes, relink_after_pole_moves, relink_routes

    unwritten = {id(p) for p in stale}
    written = [p for p in plans if p.row.record in ("fibre_routes", "poles") and id(p) not in unwritten
               and p.action in ("insert", "update", "delete")]
    lines: dict[str, str | None] = {}
    for p in written:
        if p.row.record == "fibre_routes" and (p.action == "insert" or {"geom", "method"} & set(p.changes)):
            lines[p.row.uuid] = None if p.action == "insert" else (p.local or {}).get("geom")
    if lines and _only_new_routes(s, plans, unwritten, lines):
        # Every route there is, is new here: what the two passes below derive for it is the
        # pole on each vertex, found set-wise (a country's routes, one query per route else).
        link_new_routes(s, list(lines))
        return
    moves = []
    for p in written:
        if p.row.record == "poles" and (p.action == "insert" or {"lat", "lon", "deleted"} & set(p.changes)):
            now = (p.local or {}) | p.changes
            live = not now.get("deleted") and now.get("lat") is not None and now.get("lon") is not None
            moves.append((p.row.uuid, None, (float(now["lon"]), float(now["lat"])) if live else None))
    if moves:
        relink_after_pole_moves(s, moves)
    if lines:
        relink_routes(s, list(lines), lines)


def _only_new_routes(s, plans: list[RecordPlan], unwritten: set[int], lines: dict[str, str | None]) -> bool:
    """Whether every pole and route this merge writes is new and the live routes in the file are
    the ones it inserts: no old route can stand on a new pole, and no new route has a list yet."""
    if any(id(p) in unwritten or p.action not in ("insert", "unchanged") for p in plans
           if p.row.record in ("poles", "fibre_routes")):
        return False
    if any(old is not None for old in lines.values()):
        return False
    live = s.execute(text("SELECT count(*) FROM fibre_routes WHERE deleted = 0")).scalar()
    listed = s.execute(text("SELECT count(*) FROM fibre_route_poles")).scalar()
    new_live = sum(1 for p in plans if p.row.record == "fibre_routes" and p.action == "insert"
                   and not p.changes.get("deleted"))
    return live == new_live and listed == 0


def _columns_for(form, changes: dict) -> list[str]:
    cols = []
    for key in changes:
        if key == "deleted":
            continue
        if key in ("lat", "lon"):
            cols.append(key)
            continue
        f = form.field(key)
        if f.type == "technologies":
            cols += ["has_2g", "has_3g", "has_4g", "has_5g"]
        elif f.type == "geometry":
            cols += [key, "min_lon", "min_lat", "max_lon", "max_lat",
                     "length_m" if f.geometry == "LineString" else "area_m2"]
        else:
            cols.append(key)
    return cols


def _jsonable(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, tuple):
        return "/".join(v)
    return v


def take_backup(db_path: Path | None, label: str) -> Path | None:
    """A backup of the database before an import writes, taken inside the import's transaction
    (under its write lock: exactly the state the import starts from). The transaction owns it:
    it is removed if the transaction rolls back, and only after the commit are the older backups
    of the same kind rotated (storage.prune_backups, run by Database.operation for each label
    taken in it), so a failed import never costs an older backup. A kind is its exact label
    (backups_of matches the label and then the time stamp, so `truoc-nhap` never counts a
    `truoc-nhap-gis` backup): rotating one kind never deletes another kind's, its newest least of
    all. Age is the time stamp in the name, which a copy or a restore does not change as it
    does the modification time.

    A database without a path (the department's server) gets none of ours: None. Its own
    backups (pg_dump, base backups) are the server administrator's."""
    if db_path is None:
        return None
    return backup_file(db_path, label)

