"""A record's state at an earlier version, rebuilt from its current state and the change log."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..changes import logged_value
from ..forms import FormDef
from .records import RecordState, from_db


def states_at(session: Session, form: FormDef, current: dict[str, RecordState],
              targets: dict[str, int]) -> dict[str, dict | None]:
    """Field values of each record at its target version, or None where history cannot say.

    Walks the change log backwards from the current row, putting old values back, for every
    logged change made after the target version. A change of unknown version (logged before
    schema 2) or a target older than the record's creation makes the state unknown: the merge
    then treats every difference as a conflict rather than guess.
    """
    out: dict[str, dict | None] = {}
    wanted = [u for u, v in targets.items() if u in current]
    rows_by_uuid: dict[str, dict] = {}
    unknown: set[str] = set()
    for u in wanted:
        state = current[u]
        if targets[u] > state.version:
            out[u] = None
        elif targets[u] == state.version:
            out[u] = dict(state.values) | {"deleted": state.deleted}
        else:
            rows_by_uuid[u] = dict(state.extra["row"])
    pending = list(rows_by_uuid)
    for i in range(0, len(pending), 900):
        chunk = pending[i:i + 900]
        marks = ", ".join(f":u{k}" for k in range(len(chunk)))
        log = session.execute(text(
            f"SELECT record_uuid, action, field, old_value, version FROM change_log "
            f"WHERE table_name = :t AND record_uuid IN ({marks}) ORDER BY id DESC"),
            {"t": form.record, **{f"u{k}": u for k, u in enumerate(chunk)}}).all()
        for uuid, action, fieldname, old, version in log:
            if uuid in unknown:
                continue
            target = targets[uuid]
            if version is None:
                unknown.add(uuid)
                continue
            if version <= target:
                continue
            if action == "insert":
                unknown.add(uuid)  # created after the target version: no such state here
                continue
            row = rows_by_uuid[uuid]
            if fieldname in row or fieldname == "deleted":
                row[fieldname] = logged_value(form.record, fieldname, old)
    for u, row in rows_by_uuid.items():
        out[u] = None if u in unknown else from_db(form, row) | {"deleted": bool(row["deleted"])}
    return out


def received_versions(session: Session, table: str) -> dict[str, int]:
    """For each record, the latest version this database received from a workbook."""
    rows = session.execute(text(
        "SELECT record_uuid, max(version) FROM change_log WHERE table_name = :t "
        "AND source >= 'workbook:' AND source < 'workbook;' AND version IS NOT NULL "
        "GROUP BY record_uuid"), {"t": table}).all()
    return dict(rows)
