"""The merge every import feeds: match, plan, three-way merge, conflicts, and the import flow
(the database's write lock, backup, one transaction, the result).

A reader (a workbook: importer.py; a GIS file: gis/importer.py) turns its file into records
(WorkbookRow) and problems; this module plans them against the database and writes them.

The merge is three-way. For each record the base is the last state both sides agreed on:
the exporting side's state at the row's version when this database holds the same state at that
version (the `_base` sheet carries a fingerprint to check), else the version the exporting side
last received from a workbook. A field changed only in the file is applied; changed only here
is kept; changed on both sides to different values becomes a stored conflict. Nothing is ever
overwritten silently, and importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import json
import operator
from math import isclose
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from .. import schema
from ..cancel import Cancel, checkpoint
from ..changes import Changes, changes_of_operation
from ..forms import Forms
from ..errors import InvalidInputError
from ..storage.database import Database
from ..storage.dialect import POSTGRESQL, dialect_of
from .history import states_at
from .merge_write import (BACKUP_LABELS, HeldTransaction, NothingToWrite, _jsonable, take_backup, write_checked,
                          write_plans)
from .problems import ImportRefused, Problem
from .records import RecordState, StateHasher, gnss_cleared, read_states, same_value, state_hash
from .workbook_rows import WorkbookRow

Progress = Callable[[str, float], None]
COUNT_KEYS = ("inserted", "updated", "deleted", "conflicts", "unchanged")
ACTION_COUNT = {"insert": "inserted", "update": "updated", "delete": "deleted", "unchanged": "unchanged"}
REPLAN_TRIES = 5   # a record written by others this many times during one import: the import gives up


@dataclass
class FieldConflict:
    record: str
    uuid: str
    field: str
    base: Any
    local: Any
    theirs: Any


@dataclass
class RecordPlan:
    row: WorkbookRow
    action: str                          # insert, update, delete, unchanged
    changes: dict[str, Any] = field(default_factory=dict)
    conflicts: list[FieldConflict] = field(default_factory=list)
    new_version: int = 1
    local: dict | None = None
    local_deleted: bool = False          # the record's tombstone flag here before the import
    local_version: int | None = None     # the version the plan read here: the write checks it (merge_write)


@dataclass
class ImportResult:
    """What an import planned and did, for every reader. A reader adds what it understood of its
    file (a workbook's sheets and photos here; a GIS file's layers: gis.importer.GisImportResult)."""
    counts: dict[str, dict[str, int]]
    problems: list[Problem]
    plans: list[RecordPlan]
    backup: Path | None = None
    applied: bool = False
    warnings: list[str] = field(default_factory=list)
    understood: list[dict] = field(default_factory=list)
    photos: dict | None = None   # a sync package's photos (package.PackagePhotos.summary)
    more_changes: bool = False   # something besides the plans will be written (a package's photos)
    changes: Changes = field(default_factory=Changes)   # what the import wrote (core.changes)
    described: list = field(default_factory=list)   # the plan in words (preview.describe_plan), when asked

    @property
    def total(self) -> dict[str, int]:
        return {k: sum(c.get(k, 0) for c in self.counts.values()) for k in COUNT_KEYS}

    @property
    def has_changes(self) -> bool:
        return self.more_changes or any(p.action != "unchanged" or p.conflicts for p in self.plans)

    def as_json(self) -> dict:
        matched: dict[str, int] = {}
        for p in self.plans:
            matched[p.row.matched_by] = matched.get(p.row.matched_by, 0) + 1
        return {**self.total, "errors": [p.as_dict() for p in self.problems], "by_type": self.counts,
                "applied": self.applied, "backup": str(self.backup) if self.backup else None,
                "warnings": self.warnings, "sheets": self.understood, "matched_by": matched,
                **({"photos": self.photos} if self.photos is not None else {})}


@dataclass
class UntouchedRow:
    """A row with nothing to merge: cell for cell what was exported from a state this database
    holds, or (`seen_at` set) parsed by a reading worker and found equal, field for field, to its
    local record in the database as of change `seen_at` (the change log's last id then)."""
    record: str
    uuid: str
    row: int
    sheet: str
    matched_by: str = "uuid"
    seen_at: int | None = None


def _as_int(value) -> int | None:
    """A version from `_base`: None for an empty or damaged cell (that record then merges
    against its received version, or conflicts)."""
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def plan_import(db: Database, rows: list[WorkbookRow], base_info: dict[str, tuple],
                forms: Forms) -> tuple[list[RecordPlan], dict[str, dict[str, int]]]:
    plans: list[RecordPlan] = []
    counts = {f.record: dict.fromkeys(COUNT_KEYS, 0) for f in forms}
    with db.session() as s:
        open_conflicts = {(u, f, t) for u, f, t in s.execute(text(
            "SELECT record_uuid, field, theirs_value FROM conflicts WHERE status = 'open'")).all()}
        by_record: dict[str, list[WorkbookRow]] = {}
        for r in rows:
            by_record.setdefault(r.record, []).append(r)
        for form in forms:
            mine = by_record.get(form.record)
            if not mine:
                continue
            local = read_states(s, form, uuids=[r.uuid for r in mine])
            by_uuid = {r.uuid: r for r in mine}
            # A row that agrees with the local record field for field is unchanged whatever the
            # base: only the others need their base state (history walk, fingerprint check).
            same = unchanged_rows(mine, local)
            targets = {}
            for r in mine:
                if r.uuid not in local or r.version is None or r.uuid in same:
                    continue
                version, received, fingerprint = base_info.get(r.uuid, (r.version, None, None, None))[:3]
                version, received = _as_int(version), _as_int(received)
                targets[r.uuid] = version if version is not None else r.version
                r.extra["received"], r.extra["fingerprint"] = received, fingerprint
            bases = states_at(s, form, local, targets)
            # Where this database's state at the row's version differs from the exporter's
            # (histories diverged), fall back to the version the exporter last received.
            fallback = {}
            hashes = _base_hashes(bases, by_uuid)
            for u, b in bases.items():
                fp = by_uuid[u].extra.get("fingerprint")
                # No state here at the row's version (the exporter edited it since it last
                # received it: the usual commune edit), or not the same state: the base is the
                # version the exporter last received from us.
                if b is None or (fp and hashes[u] != fp):
                    received = by_uuid[u].extra.get("received")
                    if received is not None:
                        fallback[u] = received
                    else:
                        bases[u] = None
            if fallback:
                bases.update(states_at(s, form, local, fallback))
            for r in mine:
                if r.uuid in same:
                    plan = RecordPlan(r, "unchanged", new_version=local[r.uuid].version, local=local[r.uuid].values,
                                      local_deleted=local[r.uuid].deleted, local_version=local[r.uuid].version)
                else:
                    plan = _plan_record(form.record, r, local.get(r.uuid), bases.get(r.uuid), open_conflicts)
                plans.append(plan)
                _count(counts[form.record], plan)
        _delete_children(s, plans, counts, forms)
    return plans, counts


def _count(c: dict[str, int], plan: RecordPlan, sign: int = 1) -> None:
    """Add (or with sign -1 take back) what one plan counts for its record type."""
    c["conflicts"] += sign * len(plan.conflicts)
    if not (plan.action == "unchanged" and plan.conflicts):
        c[ACTION_COUNT[plan.action]] += sign


# A parent record's sub-list, as core/editing/save.py's delete_record tombstones it with the parent.
CHILDREN = schema.children()  # the forms' parent links: sites -> site_tenants, poles -> pole_attachments


def _delete_children(s, plans: list[RecordPlan], counts: dict, forms: Forms) -> None:
    """A parent the merge tombstones takes its live sub-list rows with it (tenants of a site,
    attachments of a pole), whether or not the workbook has their rows, as deleting it in the
    app does: no live tenant is left on a deleted site."""
    for parent, child in CHILDREN.items():
        gone = {p.row.uuid: p for p in plans if p.row.record == parent and p.action == "delete"}
        if not gone:
            continue
        form = forms[child]
        key = form.parent["key"]
        ids = list(gone)
        live: dict[str, str] = {}
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            marks = ", ".join(f":u{k}" for k in range(len(chunk)))
            live.update(s.execute(text(f"SELECT uuid, {key} FROM {child} WHERE deleted = 0 AND {key} IN ({marks})"),
                                  {f"u{k}": u for k, u in enumerate(chunk)}).all())
        planned = {p.row.uuid: p for p in plans if p.row.record == child}
        c = counts[child]
        for p in planned.values():  # a new row for a parent being deleted comes in as a tombstone
            if p.action == "insert" and p.changes.get(key) in gone:
                p.changes["deleted"] = True
        states = read_states(s, form, uuids=[u for u in live if u not in planned or planned[u].action != "delete"])
        for u, parent_uuid in live.items():
            p = planned.get(u)
            if p is not None and p.action == "delete":
                continue
            state = states[u]
            if p is None:
                by = gone[parent_uuid].row
                row = WorkbookRow(child, by.row, u, False, None, True, {}, matched_by="parent",
                                  extra={"sheet": by.extra.get("sheet", parent), "notes": [], "kept": set(),
                                         "with_parent": parent_uuid})
                plans.append(RecordPlan(row, "delete", {"deleted": True}, [], state.version + 1, state.values, False,
                                        state.version))
            else:
                if not (p.action == "unchanged" and p.conflicts):
                    c[ACTION_COUNT[p.action]] -= 1
                if p.action == "unchanged":
                    p.new_version = state.version + 1
                p.changes["deleted"] = True
                p.action = "delete"
            c["deleted"] += 1


def _base_hashes(bases: dict[str, dict | None], by_uuid: dict[str, WorkbookRow]) -> dict[str, str]:
    """state_hash of each base that has a fingerprint to compare with, hashed column-wise
    (StateHasher gives state_hash's value) in one batch per set of keys."""
    groups: dict[tuple, list[str]] = {}
    for u, b in bases.items():
        if b is not None and by_uuid[u].extra.get("fingerprint"):
            groups.setdefault(tuple(b), []).append(u)
    out = {}
    for keys, uuids in groups.items():
        keys = tuple(k for k in keys if k != "deleted")
        columns = {k: [bases[u][k] for u in uuids] for k in keys}
        hashed = StateHasher(list(keys)).hash_columns(columns, [bases[u]["deleted"] for u in uuids])
        out.update(zip(uuids, hashed))
    return out


def unchanged_rows(rows: list[WorkbookRow], local: dict[str, RecordState]) -> set[str]:
    """The uuids of the rows that agree with their local record (not `_differs`). The row's
    values and the local ones are compared as tuples, and only the fields that are not equal
    (a coordinate read back to 15 digits) go through `same_value`, as `_differs` has them; a
    row with a kept cell or a field the local record lacks takes `_differs` itself."""
    same = set()
    getters: dict[tuple, Any] = {}
    blank = (None, "", ())
    for r in rows:
        state = local.get(r.uuid)
        if state is None:
            continue
        values = r.values
        keys = tuple(values)
        getter = getters.get(keys)
        if getter is None:
            getter = getters[keys] = operator.itemgetter(*keys) if len(keys) > 1 else False
        if getter and r.deleted == state.deleted and not r.extra.get("kept"):
            try:
                theirs, mine = tuple(values.values()), getter(state.values)
            except KeyError:  # a field the local record does not carry: field by field
                pass
            else:
                hand_typed = r.version is None
                # Two floats (a coordinate): same_value's test, without its checks for blanks.
                if theirs == mine or all(isclose(w, l, rel_tol=1e-9, abs_tol=1e-9)
                                         if type(w) is float and type(l) is float
                                         else same_value(w, l) or (hand_typed and w in blank)
                                         for w, l in zip(theirs, mine) if not w == l):
                    same.add(r.uuid)
                continue
        if not _differs(r, state):
            same.add(r.uuid)
    return same


def _differs(r: WorkbookRow, local: RecordState) -> bool:
    """Whether _plan_record would find any field to apply or to call a conflict (its first test,
    field by field, without building the merged dicts)."""
    kept = r.extra.get("kept", ())
    hand_typed = r.version is None
    mine = local.values
    for key, w in r.values.items():
        if key in kept:
            continue
        l = mine.get(key)
        if w == l or same_value(w, l) or (hand_typed and w in (None, "", ())):
            continue
        return True
    w, l = r.deleted, local.deleted
    return not (w == l or same_value(w, l) or (hand_typed and w in (None, "", ())))


def _plan_record(record: str, r: WorkbookRow, local: RecordState | None, base: dict | None,
                 open_conflicts: set) -> RecordPlan:
    theirs = dict(r.values) | {"deleted": r.deleted}
    for key in r.extra.get("kept", ()):
        theirs.pop(key, None)  # a value too long for its cell: the workbook says nothing about it
    if local is None:
        if r.deleted:
            return RecordPlan(r, "unchanged")  # a deletion of something we never had
        return RecordPlan(r, "insert", changes=theirs, new_version=r.version or 1)
    mine = dict(local.values) | {"deleted": local.deleted}
    changes, conflicts = {}, []
    for key, w in theirs.items():
        l = mine.get(key)
        if w == l or same_value(w, l) or (r.version is None and w in (None, "", ())):  # == first: cheap
            continue  # a hand-typed list's empty cell says nothing about the record
        if base is not None:
            b = base.get(key)
            if same_value(w, b):
                continue                     # changed here only, or not at all: keep ours
            if same_value(l, b):
                changes[key] = w             # changed in the workbook only
                continue
        else:
            b = None
        c = FieldConflict(record, r.uuid, key, b, l, w)
        if (r.uuid, key, json.dumps(_jsonable(w), default=str)) not in open_conflicts:
            conflicts.append(c)
    changes.update(gnss_cleared(changes, mine, conflicts))
    if not changes:
        return RecordPlan(r, "unchanged", conflicts=conflicts, new_version=local.version, local=local.values,
                          local_deleted=local.deleted, local_version=local.version)
    action = "delete" if changes.get("deleted") is True else "update"
    exact = not conflicts and all(same_value(theirs[k], (mine | changes).get(k)) for k in theirs)
    fingerprint = r.extra.get("fingerprint")
    # A synced record is always the sender's whole state at its version (server/sync.py); a
    # workbook row is that only when it comes back as it was exported.
    untouched = r.extra.get("whole_state") or (fingerprint and state_hash(r.values, r.deleted) == fingerprint)
    if exact and untouched and r.version and r.version > local.version:
        new_version = r.version              # now the same state as theirs at that version
    else:
        new_version = max(local.version, r.version or 0) + 1
    return RecordPlan(r, action, changes, conflicts, new_version, local.values, local.deleted, local.version)


BUSY = ("máy chủ đang liên tục ghi các bản ghi này; không ghi gì, hãy nhập lại sau",
        "the server keeps writing these records; nothing was written, import again later")


def write_settled(s, here, result: ImportResult, base_info: dict[str, tuple], forms: Forms, *,
                  busy: tuple[str, str] = BUSY, **write_kw) -> None:
    """merge_write.write_plans, then the same three-way merge again, in the same transaction, for
    every record another transaction wrote between this plan's read and its write (its optimistic
    update changed no row: on the server an analyst's edit, a sync, an import of another scope).
    Planned again against what is there now, each ends applied or a conflict: never an overwrite,
    never dropped. The counts follow the new plans. In a SQLite file the write lock keeps every
    plan current, so there is one pass and nothing to plan again. `here` is the transaction as
    plan_import reads it (HeldTransaction). `busy` is what the caller's user reads when records
    keep moving after REPLAN_TRIES passes (the whole transaction is then rolled back)."""
    plans = result.plans
    for _attempt in range(REPLAN_TRIES):
        stale = write_plans(s, plans, forms, **write_kw)
        if not stale:
            return
        plans, _counts = plan_import(here, [p.row for p in stale], base_info, forms)
        for p in stale:
            _count(result.counts[p.row.record], p, -1)
        for p in plans:
            _count(result.counts[p.row.record], p)
        gone = {id(p) for p in stale}
        result.plans = [p for p in result.plans if id(p) not in gone] + plans
    raise InvalidInputError(*busy)


def lock_scope(s, scope: str) -> None:
    """On the server: wait for any other import of the same scope (a commune's code; "" for the
    database's province) to end, for this transaction. Imports of different communes go on side
    by side; two of one commune run one after the other, the second planning against what the
    first wrote (and the version checks of write_settled guard whatever else writes meanwhile).
    A SQLite file needs none: its write lock already admits one writer."""
    if dialect_of(s) != POSTGRESQL:
        return
    if not scope:
        scope = s.execute(text("SELECT value FROM meta WHERE key = 'province_code'")).scalar() or "all"
    s.execute(text("SELECT pg_advisory_xact_lock(hashtext('hatang-import:' || :scope))"), {"scope": str(scope)})


def summary_lines(result, dry_run: bool) -> list[str]:
    """What `hatang import-xlsx` and `hatang import` print for a merge result: a heading, the
    totals, the counts per record type that changed, the warnings (columns not understood,
    fields the file has no column for, notes on rows). One wording for every import."""
    head = "Chạy thử, không ghi gì / dry run, nothing written" if dry_run else (
        "Đã nhập / imported" if result.applied else "Không có thay đổi nào / nothing to change")
    lines = [head, "  " + ", ".join(f"{k}: {v}" for k, v in result.total.items())]
    for record, c in result.counts.items():
        if any(c.values()):
            lines.append(f"  {record}: " + ", ".join(f"{k} {v}" for k, v in c.items() if v))
    lines += [f"  ! {w}" for w in result.warnings]
    return lines


def run_import(db: Database, path: Path, *, kind: str, description: str, source: str,
               plan: Callable[[Any], ImportResult], write: Callable[[Any, ImportResult], None],
               dry_run: bool = False, backup: bool = True, user: str | None = None,
               report: Progress | None = None, cancel: Cancel | None = None,
               scope: str | None = None) -> ImportResult:
    """The one import flow. `plan(here)` matches, checks and plans what the reader read against
    `here` (the database, or the write transaction: HeldTransaction) and raises ImportRefused for
    any problem; `write(session, result)` writes the plans in the open transaction.

    A dry run plans against the database and writes nothing. Otherwise the write lock is taken
    first (BEGIN IMMEDIATE) and the plan reads what it merges with under it, so another import or
    an edit cannot change those records between the plan and its writing; a plan that changes
    nothing ends without a backup or an operation logged. The backup (storage.backup_file, one
    kind per reader: BACKUP_LABELS) belongs to the transaction: it is removed when the import
    fails, is refused or is cancelled, and the older ones of its kind are rotated after the commit
    (Database.operation). `kind` says whose words a refusal uses (problems.Problem.kind).
    With a `scope` ("" for the province) the transaction first waits, on the server, for any
    other import of that scope (lock_scope); the online sync (scope None) queues on its own
    commune lock instead (server/sync.py)."""
    report = report or (lambda _stage, _fraction: None)
    if dry_run:
        return plan(db)
    planned: list[ImportResult] = []
    try:
        with db.operation(description, user=user, source=source) as s:
            operation_id = s.info["operation_id"]
            if scope is not None:
                lock_scope(s, scope)
            result = plan(HeldTransaction(db, s))
            planned.append(result)
            if not result.has_changes:
                raise NothingToWrite
            checkpoint(cancel)
            # A server database has no file to copy: its own backups (pg_dump, base backups)
            # apply, and the result says `backup: null`.
            if backup and db.path is not None:
                report("sao lưu / backup", 0.6)
                result.backup = take_backup(db.path, BACKUP_LABELS[kind])
            report("ghi / applying", 0.7)
            write_checked(s, result, lambda: write(s, result),
                          lambda message: ImportRefused(path, [Problem(path.name, None, None, None, message,
                                                                       kind=kind)]))
            checkpoint(cancel)   # the last moment a Cancel is still a rollback
    except NothingToWrite:
        return planned[0]
    result.applied = True
    result.changes = changes_of_operation(db, operation_id)
    report("xong / done", 1.0)
    return result
