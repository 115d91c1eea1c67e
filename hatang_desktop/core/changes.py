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

from sqlalchemy import LargeBinary

from . import schema
from .model import SURVEYED_MODELS
from .storage.dialect import in_values, raw

# Sub-list tables and the column naming their parent (table, column), as their forms link them:
# site_tenants -> (sites, site_uuid), pole_attachments -> (poles, pole_uuid).
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
    rows = conn.execute("SELECT table_name, record_uuid, action, field FROM change_log "
                        "WHERE operation_id = ? ORDER BY id", (operation_id,)).fetchall()
    described = conn.execute("SELECT description FROM operations WHERE id = ?", (operation_id,)).fetchone()
    out = Changes(operation_id=operation_id, description=described[0] if described else "")
    live: dict[tuple[str, str], list] = {}  # (table, uuid) -> [live before, live after]
    for table, uuid, action, _field in rows:
        state = live.get((table, uuid))
        if state is None:
            # Before its first logged change a record was live unless this change creates it or
            # brings it back; an edit of a tombstone leaves it one, and the map never sees it.
            state = live[(table, uuid)] = [action not in ("insert", "restore"), True]
        state[1] = action != "delete"
    for (table, uuid), (before, after) in live.items():
        _put(out, table, uuid, before, after)
    for child, (parent, column) in PARENTS.items():
        uuids = out.touched(child)
        if not uuids:
            continue
        among, param = in_values(conn.dialect, "uuid", uuids)
        found = conn.execute(f"SELECT DISTINCT {column} FROM {child} WHERE {among}", (param,)).fetchall()
        # The union once, not per parent: an import of a country's tenants names 100k+ sites.
        came_or_went = out.inserted.get(parent, set()) | out.deleted.get(parent, set())
        for (parent_uuid,) in found:
            if parent_uuid and parent_uuid not in came_or_went:
                out.updated.setdefault(parent, set()).add(parent_uuid)
    return out


def changes_of_operation(db, operation_id: int | None) -> Changes:
    """The Changes of one operation of `db` (a Database), from its change-log rows."""
    if operation_id is None:
        return Changes()
    with db.session() as s:
        return changes_from_log(s, operation_id)


__all__ = ["Changes", "PARENTS", "changes_from_log", "changes_of_operation", "logged_value"]
