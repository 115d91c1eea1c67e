"""`hatang check`: run the rules, store the findings, and read findings back for lists and reports."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from ..cancel import Cancel, checkpoint, with_cancel
from .. import changes as logged_changes
from ..errors import InvalidInputError
from ..perf import gc_paused
from ..storage.database import Database
from ..storage.dialect import raw
from .definitions import MANUAL_RULE, RuleSet, load_rules
from .engine import Progress, evaluate
from .store import ACTIVE, Changes, reconcile


@dataclass
class CheckResult:
    rules: list
    changes: Changes
    seconds: dict[str, float] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)  # findings each rule made (one per commune if grouped)
    records: dict[str, int] = field(default_factory=dict)  # records that break each rule
    # The findings written, as every core write reports them (core.changes): the map and the
    # undo stack take a check like any other edit.
    logged: logged_changes.Changes = field(default_factory=logged_changes.Changes)


@gc_paused()
def run_check(db: Database, *, rules: RuleSet | None = None, rule_ids: list[str] | None = None,
              commune: str | None = None, user: str | None = None, progress: Progress = None,
              cancel: Cancel | None = None) -> CheckResult:
    """Evaluate the rules and store their findings. `cancel()` true stops the run (Cancelled)
    before the findings are stored: nothing is written."""
    rules = rules or load_rules()
    selected = rules.select(rule_ids)
    if commune:
        with db.session() as s:
            known = raw(s).execute(
                "SELECT 1 FROM admin_units WHERE code = ? AND level = 'commune' AND deleted = 0",
                (commune,)).fetchone()
        if known is None:
            raise InvalidInputError(f"--commune {commune}: không có xã/phường này trong cơ sở dữ liệu "
                                    "/ no such commune in the database")
    t0 = time.perf_counter()
    ev = evaluate(db, selected, commune=commune, progress=with_cancel(progress, cancel) if cancel else progress)
    checkpoint(cancel)
    t1 = time.perf_counter()
    changes = reconcile(db, ev, selected, commune=commune, user=user)
    t2 = time.perf_counter()
    return CheckResult(selected, changes,
                       {"read": ev.read_seconds, "evaluate": t1 - t0 - ev.read_seconds, "store": t2 - t1},
                       {h.rule.id: len(h.frame) for h in ev.hits},
                       {h.rule.id: h.records for h in ev.hits},
                       logged_changes.changes_of_operation(db, changes.operation_id))


_LABEL = """CASE f.target_table
    WHEN 'sites' THEN s.site_code WHEN 'poles' THEN p.code
    WHEN 'pole_attachments' THEN ap.code || ' · ' || a.operator_code
    WHEN 'fibre_routes' THEN r.code WHEN 'zones' THEN z.code || ' ' || z.name END"""
_OPERATOR = """CASE f.target_table
    WHEN 'sites' THEN s.operator_code WHEN 'poles' THEN p.owner_operator_code
    WHEN 'pole_attachments' THEN a.operator_code WHEN 'fibre_routes' THEN r.operator_code END"""
COLUMNS = ("uuid", "rule_id", "severity", "status", "target_table", "target_uuid", "record",
           "operator_code", "inspector", "found_on", "updated_at", "note", "lat", "lon",
           "commune_code", "commune_name")


def list_findings(db: Database, *, commune: str | None = None, rule_ids: list[str] | None = None,
                  statuses: list[str] | None = None) -> pd.DataFrame:
    """Live findings with the record they concern (its code) and its operator, one row each."""
    where, params = ["f.deleted = 0"], []
    if commune:
        where.append("f.commune_code = ?")
        params.append(commune)
    if rule_ids:
        where.append(f"f.rule_id IN ({','.join('?' * len(rule_ids))})")
        params += list(rule_ids)
    if statuses:
        where.append(f"f.status IN ({','.join('?' * len(statuses))})")
        params += list(statuses)
    sql = f"""SELECT f.uuid, f.rule_id, f.severity, f.status, f.target_table, f.target_uuid,
        {_LABEL}, {_OPERATOR}, f.inspector, f.found_on, f.updated_at, f.note, f.lat, f.lon,
        f.commune_code, c.name
    FROM findings f
    LEFT JOIN sites s ON f.target_table = 'sites' AND s.uuid = f.target_uuid
    LEFT JOIN poles p ON f.target_table = 'poles' AND p.uuid = f.target_uuid
    LEFT JOIN pole_attachments a ON f.target_table = 'pole_attachments' AND a.uuid = f.target_uuid
    LEFT JOIN poles ap ON f.target_table = 'pole_attachments' AND ap.uuid = a.pole_uuid
    LEFT JOIN fibre_routes r ON f.target_table = 'fibre_routes' AND r.uuid = f.target_uuid
    LEFT JOIN zones z ON f.target_table = 'zones' AND z.uuid = f.target_uuid
    LEFT JOIN admin_units c ON c.code = f.commune_code
    WHERE {' AND '.join(where)}
    ORDER BY f.commune_code NULLS FIRST, {_OPERATOR} NULLS FIRST, f.rule_id NULLS FIRST, f.found_on NULLS FIRST,
        f.id"""
    with db.session() as s:
        rows = raw(s).execute(sql, tuple(params)).fetchall()
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))


def select_findings(frame: pd.DataFrame, *, rule: str | None = None, severity: str | None = None,
                    status: str | None = None, operator: str | None = None,
                    commune: str | None = None) -> pd.DataFrame:
    """The rows of a list_findings frame that pass every filter given (None: any). `rule`
    MANUAL_RULE also takes findings entered without a rule; `status` "active" takes open and
    confirmed ones; `operator` or `commune` "" takes findings with none."""
    if frame.empty:
        return frame
    mask = pd.Series(True, index=frame.index)
    if rule is not None:
        mask &= frame["rule_id"].fillna(MANUAL_RULE) == rule
    if severity is not None:
        mask &= frame["severity"] == severity
    if status == "active":
        mask &= frame["status"].isin(ACTIVE)
    elif status is not None:
        mask &= frame["status"] == status
    if operator is not None:
        mask &= frame["operator_code"].fillna("") == operator
    if commune is not None:
        mask &= frame["commune_code"].fillna("") == commune
    return frame[mask]


def counts(frame: pd.DataFrame) -> dict:
    """Counts per rule (by status) and per severity (findings still open or confirmed)."""
    by_rule: dict[str, dict[str, int]] = {}
    for (rule, status), n in frame.groupby(["rule_id", "status"], dropna=False).size().items():
        key = rule if isinstance(rule, str) else "other"
        by_rule.setdefault(key, {"open": 0, "confirmed": 0, "resolved": 0, "dismissed": 0})[status] = int(n)
    active = frame[frame["status"].isin(["open", "confirmed"])]
    by_severity = {sev: int((active["severity"] == sev).sum()) for sev in ("violation", "warning", "info")}
    return {"by_rule": by_rule, "by_severity": by_severity, "active": int(len(active)),
            "total": int(len(frame))}
