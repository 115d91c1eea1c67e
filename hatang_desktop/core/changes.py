"""What one write changed, as the change log tells it: table -> uuids inserted, updated, deleted.

Every core write (a form's save, a move, a vertex edit, a delete, an undo, an import, a check)
is one operation (`Database.operation`), and the triggers log each row it touched under that
operation's id. `changes_of_operation` reads those rows back, so every writer answers "what did
you change" the same way without keeping its own list, and the app redraws just those records.

A record "inserted" is live now and was not before the operation (new, or a tombstone brought
back by an undo); "deleted" was live and is now a tombstone; "updated" was live and still is.
A sub-list row (a site's tenant, a pole's attachment) also marks its parent updated: the map
draws a site's sharing and 5G from its tenants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from sqlalchemy import LargeBinary

from . import schema
from .model import SURVEYED_MODELS
from .storage.dialect import SQLITE, in_values, raw

# Sub-list tables and the column naming their parent (table, column), as their forms link them:
# site_tenants -> (sites, site_uuid), pole_attachments -> (poles, pole_uuid).
WHOLE_TABLE_ABOVE = 5000   # _parents: more uuids than this read the child table once

PARENTS = {f.record: (f.parent["record"], f.parent["key"]) for f in schema.forms() if f.parent}


@dataclass
class Changes:
    inserted: dict[str, set[str]] = field(default_factory=dict)
    updated: dict[str, set[str]] = field(default_factory=dict)
    deleted: dict[str, set[str]] = field(default_factory=dict)
    operation_id: int | None = None
    description: str = ""

    def __bool__(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values()) or any(self.deleted.values())

    @property
    def tables(self) -> set[str]:
        return {t for part in (self.inserted, self.updated, self.deleted) for t, u in part.items() if u}

    def touched(self, table: str) -> set[str]:
        """Every uuid of `table` this changed, whichever way."""
        return self.inserted.get(table, set()) | self.updated.get(table, set()) | self.deleted.get(table, set())

    def count_delta(self, table: str) -> int:
        """How many more live records `table` has after the change."""
        return len(self.inserted.get(table, ())) - len(self.deleted.get(table, ()))

    @property
    def counts_dirty(self) -> bool:
        """Whether counts of records (the status bar, the layer panel) may have moved: a record
        came or went, or a sub-list changed (a site's sharing is counted)."""
        return any(self.inserted.values()) or any(self.deleted.values()) or bool(self.tables & set(PARENTS))

    @property
    def indicators_dirty(self) -> bool:
        """Whether the dashboard's figures may have moved: any surveyed data changed."""
        return bool(self)

    def merged(self, other: Changes) -> Changes:
        """Both changes as one (the later one's view of a record wins)."""
        out = Changes(operation_id=other.operation_id, description=other.description)
        for table in self.tables | other.tables:
            for uuid in self.touched(table) | other.touched(table):
                was_live = _was_live(self if uuid in self.touched(table) else other, table, uuid)
                is_live = _is_live(other, table, uuid) if uuid in other.touched(table) else _is_live(self, table, uuid)
                _put(out, table, uuid, was_live, is_live)
        return out


def _was_live(c: Changes, table: str, uuid: str) -> bool:
    return uuid not in c.inserted.get(table, ())


def _is_live(c: Changes, table: str, uuid: str) -> bool:
    return uuid not in c.deleted.get(table, ())


def _put(c: Changes, table: str, uuid: str, before: bool, after: bool) -> None:
    part = c.updated if before and after else c.inserted if after else c.deleted if before else None
    if part is not None:
        part.setdefault(table, set()).add(uuid)


# Binary columns (WKB geometries, photo bytes) by table: the server's change log holds values as
# jsonb, where bytes are the text "\\x<hex>" (to_jsonb of a bytea).
_BINARY = {(m.__tablename__, c.name) for m in SURVEYED_MODELS.values() for c in m.__table__.columns
           if isinstance(c.type, LargeBinary)}


def logged_value(table: str, field: str | None, value):
    """A change_log old/new value as its column holds it, from either engine's log."""
    if isinstance(value, str) and (table, field) in _BINARY and value.startswith("\\x"):
        return bytes.fromhex(value[2:])
    return value


def changes_from_log(conn, operation_id: int) -> Changes:
    """The Changes of operation `operation_id`, read through a session or connection of either
    engine (anything `dialect.raw` takes)."""
    conn = raw(conn)
    if conn.dialect == SQLITE:
        # One writer at a time: an operation's rows are the ids between its first and its last,
        # read in id order from the table (by its index, each row is a lookup: a country's import
        # logs 1.4 million). The operation is still tested, whatever wrote the ids between.
        rows = conn.execute("SELECT table_name, record_uuid, action FROM change_log WHERE id BETWEEN "
                            "(SELECT min(id) FROM change_log WHERE operation_id = ?) AND "
                            "(SELECT max(id) FROM change_log WHERE operation_id = ?) "
                            "AND +operation_id = ? ORDER BY id", (operation_id,) * 3).fetchall()  # sqlite-only: after the dialect test
    else:
        rows = conn.execute("SELECT table_name, record_uuid, action FROM change_log "
                            "WHERE operation_id = ? ORDER BY id", (operation_id,)).fetchall()
    described = conn.execute("SELECT description FROM operations WHERE id = ?", (operation_id,)).fetchone()
    out = Changes(operation_id=operation_id, description=described[0] if described else "")
    # A table at a time (a stable sort keeps each table's rows in id order; the log of an
    # import comes in blocks of one table, which the sort only checks), so each part is built
    # with set operations, not a call per record (a country's import logs 1.4 million).
    rows = sorted(rows, key=itemgetter(0))
    for table, group in groupby(rows, key=itemgetter(0)):
        group = list(group)
        uuids, actions = list(map(itemgetter(1), group)), list(map(itemgetter(2), group))
        # Per record its first and its last logged action, the dicts built in C (a later value
        # replaces an earlier one, so the reversed rows give each record's first).
        first = dict(zip(reversed(uuids), reversed(actions)))
        last = dict(zip(uuids, actions))
        # Before its first logged change a record was live unless this change creates it or
        # brings it back (an edit of a tombstone leaves it one, and the map never sees it);
        # after its last it is live unless that was its deletion.
        created = {u for u, a in first.items() if a in ("insert", "restore")}
        gone = {u for u, a in last.items() if a == "delete"}
        for part, uuids_there in ((out.inserted, created - gone), (out.deleted, gone - created),
                                  (out.updated, first.keys() - created - gone)):
            if uuids_there:
                part[table] = uuids_there
    for child, (parent, column) in PARENTS.items():
        uuids = out.touched(child)
        if not uuids:
            continue
        # The union once, not per parent: an import of a country's tenants names 100k+ sites.
        came_or_went = out.inserted.get(parent, set()) | out.deleted.get(parent, set())
        for parent_uuid in _parents(conn, child, column, uuids):
            if parent_uuid and parent_uuid not in came_or_went:
                out.updated.setdefault(parent, set()).add(parent_uuid)
    return out


def _parents(conn, child: str, column: str, uuids: set[str]) -> set[str]:
    """The parents (`column`) of the rows of `child` with these uuids. Many of them are read
    with the whole table, not looked up one by one (a country's import touches every
    attachment: 600k lookups and a sort for DISTINCT, against one pass)."""
    if len(uuids) > WHOLE_TABLE_ABOVE:
        return {p for u, p in conn.execute(f"SELECT uuid, {column} FROM {child}").fetchall() if u in uuids}
    among, param = in_values(conn.dialect, "uuid", uuids)
    return {p for (p,) in conn.execute(f"SELECT {column} FROM {child} WHERE {among}", (param,)).fetchall()}


def changes_of_operation(db, operation_id: int | None) -> Changes:
    """The Changes of one operation of `db` (a Database), from its change-log rows."""
    if operation_id is None:
        return Changes()
    with db.session() as s:
        return changes_from_log(s, operation_id)


__all__ = ["Changes", "PARENTS", "changes_from_log", "changes_of_operation", "logged_value"]
