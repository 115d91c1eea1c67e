"""Findings in the database: reconcile a rule run with what is stored, and the inspector's actions.

One finding per (rule, record). A finding made by the check has no inspector; one an inspector
recorded by hand has one. On every run:
- a breach with no finding yet gets a new open finding;
- an open or confirmed automatic finding whose condition no longer holds is resolved, with the
  date in its note;
- a finding the check itself resolved is reopened when the breach comes back;
- dismissed findings, findings an inspector resolved, and manual findings are left as they are.
Every write happens in one `db.operation(..., source="check")`, so the change log has it all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import text

from .. import schema
from ..errors import InvalidInputError
from ..model import utcnow
from ..storage.database import Database
from ..storage.dialect import SQLITE, raw
from ..storage.setwise import writer
from .definitions import MANUAL_RULE, SEVERITIES, Rule
from .engine import COMMUNE_KEY, Evaluation
from .records import RECORDS

CHECK_SOURCE = "check"
BULK_CACHE_KIB = 256 * 1024
ACTIVE = ("open", "confirmed")
STATUSES = ("open", "confirmed", "resolved", "dismissed")


@dataclass
class Changes:
    new: int = 0
    resolved: int = 0
    reopened: int = 0
    unchanged: int = 0
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    operation_id: int | None = None  # the check's operation in the change log (None: nothing run)

    def as_dict(self) -> dict:
        return {"new": self.new, "resolved": self.resolved, "reopened": self.reopened,
                "unchanged": self.unchanged}


def _today() -> str:
    return dt.date.today().isoformat()


def _vn_date(day: str) -> str:
    y, m, d = day.split("-")
    return f"{d}/{m}/{y}"


def _append(note, line: str) -> str:
    return f"{note}\n{line}" if note else line


def _existing(conn, rules: list[Rule], commune: str | None) -> pd.DataFrame:
    ids = [r.id for r in rules]
    marks = ",".join("?" * len(ids))
    # Neither the finding's UUID nor its note: a re-run with nothing changed needs neither, and
    # the few notes that change are appended to in SQL (`_APPEND_NOTE`).
    sql = (f"SELECT id, rule_id, target_uuid, status, source, inspector, severity "
           f"FROM findings WHERE deleted = 0 AND target_uuid IS NOT NULL AND rule_id IN ({marks})")
    params: list = list(ids)
    if commune:
        sql += " AND commune_code = ?"
        params.append(commune)
    rows = conn.execute(sql, params).fetchall()
    # A per-commune rule's findings have no target: they are matched by commune (the check's
    # own only; an inspector's finding by hand without a record stays apart).
    grouped = [r.id for r in rules if r.aggregate]
    if grouped:
        sql = (f"SELECT id, rule_id, '{COMMUNE_KEY}' || coalesce(commune_code, ''), status, source, inspector, "
               f"severity FROM findings WHERE deleted = 0 AND target_uuid IS NULL AND inspector IS NULL "
               f"AND rule_id IN ({','.join('?' * len(grouped))})")
        params = list(grouped)
        if commune:
            sql += " AND commune_code = ?"
            params.append(commune)
        rows += conn.execute(sql, params).fetchall()
    return pd.DataFrame.from_records(rows, columns=["id", "rule_id", "target_uuid", "status",
                                                    "source", "inspector", "severity"])


# The note with one more line, as _append does (an empty note is replaced). The newline is in the
# literal: SQLite spells it char(10), PostgreSQL chr(10).
_APPEND_NOTE = "CASE WHEN coalesce(note, '') = '' THEN :line ELSE note || '\n' || :line END"
# What every update by the check sets besides its own change; rows are (id, line, now, by, src).
_STAMP = {"updated_at": ":now", "updated_by": ":by", "source": ":src", "version": "version + 1"}
_PARAMS = ("line", "now", "by", "src")
_REOPEN = {"status": "'open'", "note": _APPEND_NOTE, **_STAMP}
_RESOLVE = {"status": "'resolved'", "note": _APPEND_NOTE, **_STAMP}
_NOTE = {"note": _APPEND_NOTE, **_STAMP}
_SEVERITY = {"severity": ":severity", **_STAMP}
_NEW = ("uuid", "version", "updated_at", "updated_by", "source", "deleted", "rule_id", "target_table",
        "target_uuid", "severity", "status", "inspector", "found_on", "note", "lat", "lon", "commune_code")


def reconcile(db: Database, evaluation: Evaluation, rules: list[Rule], *, commune: str | None = None,
              user: str | None = None, description: str = "Kiểm tra quy tắc / rule check",
              setwise: bool = True) -> Changes:
    """Store the run's breaches as findings (see the module text for what happens to each).

    On SQLite the findings are written set-wise (storage/setwise.py: the triggers' change log and
    R*Tree rows written per batch, not per row); `setwise=False` writes them row by row through
    the triggers, as PostgreSQL always does, with the same result."""
    changes = Changes()
    hits = [h for h in evaluation.hits]
    frames = []
    for k, h in enumerate(hits):
        f = h.frame.copy()
        f["_hit"], f["_pos"] = k, np.arange(len(f))
        f["rule_id"] = h.rule.id
        f["severity"] = h.rule.severity
        f["target_table"] = h.target_table
        frames.append(f)
    found = (pd.concat(frames, ignore_index=True) if frames else
             pd.DataFrame(columns=["_uuid", "_lat", "_lon", "_commune", "_label", "_operator", "_hit", "_pos",
                                   "rule_id", "severity", "target_table"]))
    found = found.rename(columns={"_uuid": "target_uuid"})
    with db.operation(description, user=user, source=CHECK_SOURCE) as session:
        changes.operation_id = session.info["operation_id"]
        conn = raw(session)
        with _page_cache(conn), writer(session, "findings", setwise=setwise) as out:
            _apply(conn, out, session, found, changes, rules, commune, hits)
    return changes


@contextlib.contextmanager
def _page_cache(conn):
    """Each new finding adds index entries at random places (its target's UUID) in findings; a
    larger page cache for this one transaction keeps those pages in memory (measured on
    the national sample: a third less CPU per insert)."""
    if conn.dialect != SQLITE:
        yield
        return
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]  # sqlite-only: the page cache of this connection
    conn.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")  # sqlite-only: as above
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")  # sqlite-only: as above


def new_uuids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs, in ascending order. Handed out in that order, each index on
    them (findings' uuid, the change log's record_uuid) takes the batch in key order rather than
    at random places: measured on the national sample, half the change log's CPU and a sixth of
    the findings'. Which finding gets which random UUID carries no meaning."""
    bits = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    bits[:, 6] = (bits[:, 6] & 0x0F) | 0x40  # version 4
    bits[:, 8] = (bits[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    bits = bits[np.lexsort(bits.T[::-1])]    # in byte order, which is the order of their text
    # Written as text by numpy, not a format per UUID (measured: half the time for 237k).
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2], digits[:, 1::2] = _HEX[bits >> 4], _HEX[bits & 0x0F]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for start, end, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        text[:, at:at + end - start] = digits[:, start:end]
    joined = text.tobytes().decode("ascii")
    return [joined[i:i + 36] for i in range(0, 36 * n, 36)]


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _notes(hits, rows: pd.DataFrame) -> list[str]:
    """The rule's message for each of these rows (rendered now, only for what gets written)."""
    out = pd.Series("", index=rows.index, dtype=object)
    for k, part in rows.groupby("_hit"):
        out[part.index] = hits[int(k)].notes(part["_pos"].to_numpy())
    return out.tolist()


def _apply(conn, out, session, found: pd.DataFrame, changes: Changes, rules: list[Rule], commune: str | None,
           hits) -> None:
    today = _today()
    existing = _existing(conn, rules, commune)
    existing = existing.rename(columns={"severity": "severity_old"})
    if len(existing):
        merged = found.merge(existing, on=["rule_id", "target_uuid"], how="outer", indicator=True)
    else:
        # Nothing stored to match (a first check): the outer merge's rows, in its order (by
        # rule and target), without matching 237k rows against none (measured ~0.5 s).
        merged = found.sort_values(["rule_id", "target_uuid"], kind="stable", ignore_index=True)
        merged = merged.assign(**{c: None for c in existing.columns if c not in merged.columns}, _merge="left_only")
    now = str(utcnow())
    by = session.info["user"]
    manual = merged["inspector"].notna().to_numpy()

    new = merged[(merged["_merge"] == "left_only")]
    if len(new):
        # Built by columns, the rows zipped in C: a national first check writes 237k of them.
        lat = new["_lat"].to_numpy(dtype="float64")
        lon = new["_lon"].to_numpy(dtype="float64")
        ok = ~(np.isnan(lat) | np.isnan(lon))
        target = new["target_uuid"]
        n = len(new)
        columns = {
            "uuid": new_uuids(n), "rule_id": new["rule_id"].tolist(), "target_table": new["target_table"].tolist(),
            "target_uuid": target.where(~target.str.startswith(COMMUNE_KEY), None).tolist(),
            "severity": new["severity"].tolist(), "note": _notes(hits, new),
            "lat": np.where(ok, lat, None).tolist(), "lon": np.where(ok, lon, None).tolist(),
            "commune_code": new["_commune"].where(new["_commune"].notna(), None).tolist()}
        # What every new finding shares is given once, not in each row.
        shared = {"version": 1, "updated_at": now, "updated_by": by, "source": CHECK_SOURCE, "deleted": 0,
                  "status": "open", "inspector": None, "found_on": today}
        assert set(columns) | set(shared) == set(_NEW), "a finding's column neither given nor shared"
        names = [c for c in _NEW if c in columns]
        rows = list(zip(*(columns[c] for c in names)))
        changes.new = out.insert(names, rows, shared)

    both = merged["_merge"].to_numpy() == "both"
    status = merged["status"].to_numpy()
    auto = ~manual
    stamp = (now, by, CHECK_SOURCE)
    # Breach came back after the check itself had resolved it: reopen, with the new reading.
    reopen = both & auto & (status == "resolved") & (merged["source"].to_numpy() == CHECK_SOURCE)
    sub = merged[reopen]
    if len(sub):
        changes.reopened = out.update(_REOPEN, _PARAMS, [
            (int(i), line, *stamp)
            for line, i in zip((f"[{_vn_date(today)}] Mở lại: {n}" for n in _notes(hits, sub)), sub["id"])])
    # A severity changed in the rule file follows onto the findings still being worked on.
    resev = both & auto & np.isin(status, ACTIVE) & (merged["severity"].to_numpy()
                                                     != merged["severity_old"].to_numpy())
    sub = merged[resev]
    out.update(_SEVERITY, ("severity", *_PARAMS[1:]), [(int(i), s, *stamp) for s, i in zip(sub["severity"], sub["id"])])
    changes.unchanged = int((both & ~reopen).sum())
    _recount(conn, out, merged[both & auto & np.isin(status, ACTIVE)], hits, today, stamp)

    gone = (merged["_merge"].to_numpy() == "right_only") & auto & np.isin(status, ACTIVE)
    sub = merged[gone]
    if len(sub):
        line = (f"[{_vn_date(today)}] Tự động đóng: điều kiện không còn đúng / auto-resolved: "
                "the condition no longer holds")
        changes.resolved = out.update(_RESOLVE, _PARAMS, [(int(i), line, *stamp) for i in sub["id"]])


_RECOUNT = "Cập nhật / now"


def _recount(conn, out, still: pd.DataFrame, hits, today: str, stamp: tuple) -> None:
    """A per-commune finding still open whose count or codes changed gets the new reading as
    a dated line of its note (the inspector's lines above it stay)."""
    grouped = {k for k, h in enumerate(hits) if h.members is not None}
    still = still[still["_hit"].isin(grouped)] if len(still) else still
    if not len(still):
        return
    ids = [int(i) for i in still["id"]]
    notes = dict(conn.execute(f"SELECT id, note FROM findings WHERE id IN ({','.join('?' * len(ids))})",
                              ids).fetchall())
    rows = []
    for i, fresh in zip(ids, _notes(hits, still)):
        last = (notes.get(i) or "").rsplit("\n", 1)[-1]
        if last != fresh and not last.endswith(f"{_RECOUNT}: {fresh}"):
            rows.append((i, f"[{_vn_date(today)}] {_RECOUNT}: {fresh}", *stamp))
    out.update(_NOTE, _PARAMS, rows)


# -- the inspector's actions -----------------------------------------------------------------

_STATUS_WORDS = {"confirmed": "Xác nhận / confirmed", "resolved": "Đã khắc phục / resolved",
                 "dismissed": "Bác bỏ / dismissed", "open": "Mở lại / reopened"}


def set_status(db: Database, uuids: list[str], status: str, *, reason: str | None = None,
               user: str | None = None, source: str | None = None):
    """Confirm, resolve, dismiss (a reason is required) or reopen findings, in one operation.

    Returns an `editing.EditResult` naming the operation, so the app can push it on its undo
    stack like any other edit (`changed` is False when nothing needed writing)."""
    from ..editing import edit_result

    if status not in STATUSES:
        raise InvalidInputError(f"trạng thái '{status}' không hợp lệ; dùng {', '.join(STATUSES)} / invalid status")
    reason = (reason or "").strip()
    if status == "dismissed" and not reason:
        raise InvalidInputError("cần ghi lý do bác bỏ / a reason is required to dismiss a finding")
    stamp = f"[{_vn_date(_today())}] {_STATUS_WORDS[status]}"
    line = f"{stamp}: {reason}" if reason else stamp
    description = f"Vi phạm: {_STATUS_WORDS[status]} ({len(uuids)})"

    written = []
    with db.operation(description, user=user, source=source) as s:
        now, by, src = str(utcnow()), s.info["user"], s.info["source"]
        for uuid in dict.fromkeys(uuids):
            row = s.execute(text("SELECT * FROM findings WHERE uuid = :u AND deleted = 0"), {"u": uuid}).mappings().first()
            if row is None or (row["status"] == status and not reason):
                continue
            s.execute(text("UPDATE findings SET status = :st, note = :n, version = version + 1, updated_at = :t, "
                           "updated_by = :b, source = :src WHERE uuid = :u"),
                      {"st": status, "n": _append(row["note"], line), "t": now, "b": by, "src": src, "u": uuid})
            written.append(uuid)
        operation_id = s.info["operation_id"]
    first = written[0] if written else (uuids[0] if uuids else "")
    return edit_result(db, "findings", first, description, operation_id)


def add_manual_finding(db: Database, target_table: str, target_uuid: str, *, rule_id: str = MANUAL_RULE,
                       note: str = "", severity: str | None = None, inspector: str | None = None,
                       rules=None, user: str | None = None) -> str:
    """An inspector's own finding on any record: a shipped rule or "other", with a note."""
    from ..model import Finding
    from .definitions import load_rules

    if target_table not in RECORDS:
        raise InvalidInputError(f"loại bản ghi '{target_table}' không hợp lệ / invalid record type")
    rules = rules or load_rules()
    if rule_id != MANUAL_RULE and rule_id not in rules:
        raise InvalidInputError(f"quy tắc '{rule_id}' không có / unknown rule")
    if severity is None:
        severity = rules[rule_id].severity if rule_id != MANUAL_RULE else "violation"
    if severity not in SEVERITIES:
        raise InvalidInputError(f"mức độ '{severity}' không hợp lệ / invalid severity")
    lat, lon, commune = record_position(db, target_table, target_uuid)
    with db.operation("Ghi nhận vi phạm / manual finding", user=user) as s:
        f = Finding(rule_id=rule_id, target_table=target_table, target_uuid=target_uuid,
                    severity=severity, status="open", inspector=inspector or db.user,
                    found_on=dt.date.today(), note=note or None, lat=lat, lon=lon, commune_code=commune)
        s.add(f)
        s.flush()
        return f.uuid


def shown_record(db: Database, table: str, uuid: str) -> tuple[str, str]:
    """(table, uuid) of the record a finding about `table`/`uuid` is shown on and edited through:
    a sub-list row's parent (a pole attachment's pole, by its form's parent link in forms/); any
    other record itself (also a row whose parent is gone)."""
    form = schema.form(table)
    if form is not None and form.parent:
        with db.session() as s:
            found = s.execute(text(f"SELECT {form.parent['key']} FROM {table} WHERE uuid = :u"),
                              {"u": uuid}).scalar()
        if found:
            return form.parent["record"], found
    return table, uuid


def record_position(db: Database, table: str, uuid: str) -> tuple[float | None, float | None, str | None]:
    """Where a record is shown (a point on a line or polygon) and its commune."""
    import shapely

    spec = RECORDS[table]
    if spec.parent:
        sql = ("SELECT p.lat, p.lon, p.commune_code, NULL FROM pole_attachments t JOIN poles p "
               "ON p.uuid = t.pole_uuid WHERE t.uuid = :u AND t.deleted = 0")
    elif spec.point:
        sql = f"SELECT t.lat, t.lon, t.commune_code, NULL FROM {table} t WHERE t.uuid = :u AND t.deleted = 0"
    else:
        sql = f"SELECT NULL, NULL, t.commune_code, t.geom FROM {table} t WHERE t.uuid = :u AND t.deleted = 0"
    with db.session() as s:
        row = s.execute(text(sql), {"u": uuid}).first()
    if row is None:
        raise InvalidInputError(f"không có bản ghi {uuid} trong {table} / no such record")
    lat, lon, commune, geom = row
    if geom is not None:
        p = shapely.point_on_surface(shapely.from_wkb(geom))
        lon, lat = p.x, p.y
    return lat, lon, commune
