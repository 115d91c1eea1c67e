"""A record's history: its changes and its sub-list rows' changes, from the change log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from ..changes import logged_value
from ..forms import load_forms
from ..storage.database import Database
from .writes import CHILDREN


@dataclass(frozen=True)
class HistoryEntry:
    time: str
    user: str
    source: str
    action: str  # insert, update, delete, restore
    table: str
    record_uuid: str
    field: str | None
    old_value: Any
    new_value: Any
    description: str
    operation_id: int | None
    version: int | None


def record_history(db: Database, table: str, uuid: str, *, limit: int = 1000) -> list[HistoryEntry]:
    """The record's changes and its sub-list rows' changes from the change log, newest first."""
    uuids = [uuid]
    child = CHILDREN.get(table)
    with db.session() as s:
        if child:
            pkey = load_forms()[child].parent["key"]
            uuids += [u for (u,) in s.execute(text(f"SELECT uuid FROM {child} WHERE {pkey} = :p"),
                                              {"p": uuid}).all()]
        marks = ", ".join(f":u{i}" for i in range(len(uuids)))
        rows = s.execute(text(
            'SELECT c.time, c."user", c.source, c.action, c.table_name, c.record_uuid, c.field, c.old_value, '
            "c.new_value, coalesce(o.description, ''), c.operation_id, c.version FROM change_log c "
            f"LEFT JOIN operations o ON o.id = c.operation_id WHERE c.record_uuid IN ({marks}) "
            "ORDER BY c.id DESC LIMIT :limit"), {f"u{i}": u for i, u in enumerate(uuids)} | {"limit": limit}).all()
    return [HistoryEntry(*r[:7], logged_value(r[4], r[6], r[7]), logged_value(r[4], r[6], r[8]), *r[9:])
            for r in rows]
