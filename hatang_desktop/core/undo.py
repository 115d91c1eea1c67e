"""Undo and redo on the change log: one operation is one step, an import included.

The triggers log every changed field of every write with its old value, under the operation
that wrote it. Undoing an operation writes those old values back as a new operation (the record
a creation made is tombstoned, since nothing is ever hard-deleted); redoing is undoing that undo,
which brings the same rows, same UUIDs, back. Nothing else is kept: the log is the only copy.

Undo refuses (StaleEdit) when a record the operation touched moved on since (another edit not
undone first, an import, another window): its data now differs from what the operation left.
Data, not versions or log rows, is compared, so undoing a later edit first (which puts the data
back but logs a new change) lets the earlier one be undone too.
"""

from __future__ import annotations

from typing import Any

import shapely

from .changes import logged_value
from .editing.route_poles import relink_after_pole_moves, relink_routes
from .editing.writes import EDITABLE, EditResult, StaleEdit, _record_name, _same, _Tracker, edit_result
from .storage.database import Database
from .storage.dialect import in_values, raw, table_columns

UNDO, REDO = "Hoàn tác", "Làm lại"
# A geometry column and the bounding box derived from it (not logged, so recomputed here).
_BOXED = {"geom": ("min_lon", "min_lat", "max_lon", "max_lat"),
          "boundary": ("min_lon", "min_lat", "max_lon", "max_lat")}


def _base_description(description: str) -> str:
    for prefix in (UNDO, REDO):
        if description.startswith(prefix + ": "):
            return description.split(": ", 1)[1]
    return description


def _logged(conn, operation_id: int) -> tuple[list[tuple[str, str]], dict, set, int]:
    """(records in log order, (table, uuid) -> {field: value before the operation}, records the
    operation created, the operation's last log id)."""
    rows = conn.execute("SELECT id, table_name, record_uuid, action, field, old_value FROM change_log "
                        "WHERE operation_id = ? ORDER BY id", (operation_id,)).fetchall()
    order: dict[tuple[str, str], None] = {}
    before: dict[tuple[str, str], dict[str, Any]] = {}
    created: set[tuple[str, str]] = set()
    last = 0
    for log_id, table, uuid, action, field, old in rows:
        key = (table, uuid)
        order.setdefault(key, None)
        last = max(last, log_id)
        if action == "insert":
            created.add(key)
        elif field is not None:
            before.setdefault(key, {}).setdefault(field, logged_value(table, field, old))
    return list(order), before, created, last


def _moved_on(conn, records: list[tuple[str, str]], after_id: int) -> tuple[str, str] | None:
    """A record whose data differs now from what the operation left, or None. What it left is
    now's row with every later logged change rolled back: the first later old value per field."""
    by_uuid = {uuid: table for table, uuid in records}
    later: dict[tuple[str, str], dict[str, Any]] = {}
    among, param = in_values(conn.dialect, "record_uuid", by_uuid)
    for table, uuid, field, old in conn.execute(
            "SELECT table_name, record_uuid, field, old_value FROM change_log WHERE id > ? AND field IS NOT NULL "
            f"AND {among} ORDER BY id", (after_id, param)):
        if by_uuid.get(uuid) == table:
            later.setdefault((table, uuid), {}).setdefault(field, logged_value(table, field, old))
    for (table, uuid), fields in later.items():
        cursor = conn.execute(f"SELECT * FROM {table} WHERE uuid = ?", (uuid,))
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
        if any(not _same(row.get(f), old) for f, old in fields.items()):
            return table, uuid
    return None


def _code(conn, table: str, uuid: str) -> str:
    """ " <code>" of a record (its form's title fields), or "" when it has none."""
    from . import schema

    cursor = conn.execute(f"SELECT * FROM {table} WHERE uuid = ?", (uuid,))
    row = cursor.fetchone()
    if row is None or schema.form(table) is None:
        return ""
    code = schema.title(table, dict(zip([d[0] for d in cursor.description], row)))
    return f" {code}" if code else ""


def _box(table_columns: set[str], values: dict[str, Any]) -> dict[str, Any]:
    """The bounding box columns of a geometry written back (the log leaves them out)."""
    out: dict[str, Any] = {}
    for column, box in _BOXED.items():
        if column in values and set(box) <= table_columns:
            wkb = values[column]
            bounds = shapely.from_wkb(wkb).bounds if wkb is not None else (None,) * 4
            out |= dict(zip(box, (None if b is None else float(b) for b in bounds)))
    return out


def _relink(s, t: _Tracker, writes: list[tuple[tuple[str, str], dict[str, Any]]], lines: dict) -> None:
    """The pole lists follow the lines and poles (editing/route_poles.py) and are not logged:
    the lines and poles written back bring the lists they had back. `lines`: the routes' lines
    before this undo."""
    poles = []
    for (table, u), cols in writes:
        if table == "poles" and {"lat", "lon", "deleted"} & set(cols):
            row = t.row(table, u)
            live = row is not None and not row["deleted"] and row["lat"] is not None
            poles.append((u, None, (row["lon"], row["lat"]) if live else None))
    relink_routes(s, list(lines), lines)
    relink_after_pole_moves(s, poles)


def undo_operation(db: Database, operation_id: int, *, undo: bool = True, user: str | None = None,
                   source: str | None = None) -> EditResult:
    """Write back what operation `operation_id` changed, as one new operation ("Hoàn tác: ..."
    when `undo`, "Làm lại: ..." when it redoes by undoing an undo); raises StaleEdit, writing
    nothing, when a record moved on since. The result's operation is the next step's to undo."""
    prefix = UNDO if undo else REDO
    with db.session() as s:
        described = raw(s).execute(
            "SELECT description FROM operations WHERE id = ?", (operation_id,)).fetchone()
    base = _base_description(described[0] if described else "")
    description = f"{prefix}: {base}"
    with db.operation(description, user=user, source=source) as s:
        conn = raw(s)
        records, before, created, last = _logged(conn, operation_id)
        stale = _moved_on(conn, records, last) if records else None
        if stale is not None:
            # Named by its code: after an import of hundreds of records, which one moved on.
            code, name = _code(conn, *stale), _record_name(stale[0])
            raise StaleEdit(f"{name[:1].upper()}{name[1:]}{code} đã bị thay đổi sau thao tác này; "
                            f"không thể {prefix.lower()}, không thay đổi gì / the record{code} changed since; cannot "
                            f"{'undo' if undo else 'redo'}, nothing was changed")
        t = _Tracker(s)
        columns: dict[str, set[str]] = {}

        def values(key: tuple[str, str]) -> dict[str, Any]:
            if key in created:
                return {"deleted": 1}
            table = key[0]
            if table not in columns:
                columns[table] = set(table_columns(s, table))
            old = before.get(key, {})
            return old | _box(columns[table], old)

        # Tombstones first, so a row brought back never meets a live twin in a unique index.
        writes = [(key, values(key)) for key in records]
        lines = {uuid: (t.row(table, uuid) or {}).get("geom") for (table, uuid), cols in writes
                 if table == "fibre_routes" and {"geom", "method"} & set(cols)}
        for (table, uuid), cols in sorted(writes, key=lambda w: w[1].get("deleted") != 1):
            if cols:
                t.update(table, uuid, cols)
        _relink(s, t, writes, lines)
        new_id = s.info["operation_id"]
    main = next((key for key in records if key[0] in EDITABLE), records[0] if records else ("", ""))
    return edit_result(db, main[0], main[1], description, new_id)


__all__ = ["UNDO", "REDO", "undo_operation"]
