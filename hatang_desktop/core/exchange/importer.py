"""Import a workbook: validate everything first, then merge by UUID in one transaction.

The merge is three-way. For each record the base is the last state both sides agreed on:
the exporting side's state at the row's version when this database holds the same state at that
version (the `_base` sheet carries a fingerprint to check), else the version the exporting side
last received from a workbook. A field changed only in the workbook is applied; changed only here
is kept; changed on both sides to different values becomes a stored conflict. Nothing is ever
overwritten silently, and importing the same workbook twice changes nothing the second time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from .. import schema
from ..errors import InvalidInputError
from ..perf import gc_paused
from ..forms import Forms, NotAValue, load_forms
from ..storage.database import Database, backup_file, prune_backups
from ..text import fold
from .export import province_communes
from .history import states_at
from .layout import BASE_FIELDS, BASE_SHEET, FORMAT_VERSION, META_SHEET, SUMMARY_SHEET, workbook_layout
from .photo_sheet import PHOTO_SHEET
from .records import RecordState, StateHasher, gnss_cleared, read_states, same_value, state_hash, to_db
from .handtyped import (apply_mapping, guess_header, hand_typed_specs, match_existing, position_reader,
                        split_tenants)
from .workbook_rows import Problem, WorkbookRow, match_columns, parse_sheet
from .export_parallel import ForkedJob, WorkerFailed, fork_allowed, split
from .export_rows import local_state_hashes
from .row_fingerprint import fingerprints
from .xlsx_reader import clean_row, read_sheets, sheet_names, sheet_sizes

Progress = Callable[[str, float], None]
BACKUPS_KEPT = 10
FORK_READ_BYTES = 20_000_000   # sheet XML below which a worker costs about what it saves
COUNT_KEYS = ("inserted", "updated", "deleted", "conflicts", "unchanged")
ACTION_COUNT = {"insert": "inserted", "update": "updated", "delete": "deleted", "unchanged": "unchanged"}


class InvalidWorkbookError(InvalidInputError):
    def __init__(self, path: Path, problems: list[Problem]):
        self.problems = problems
        head = f"{path}: sổ Excel có {len(problems)} lỗi, không thay đổi gì / the workbook has " \
               f"{len(problems)} problems, nothing was changed"
        super().__init__(head + "".join(f"\n  - {p}" for p in problems[:50]) +
                         (f"\n  ... và {len(problems) - 50} lỗi khác" if len(problems) > 50 else ""))


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


@dataclass
class ImportResult:
    counts: dict[str, dict[str, int]]
    problems: list[Problem]
    plans: list[RecordPlan]
    backup: Path | None = None
    applied: bool = False
    warnings: list[str] = field(default_factory=list)
    understood: list[dict] = field(default_factory=list)
    photos: dict | None = None   # a sync package's photos (package.PackagePhotos.summary)

    @property
    def total(self) -> dict[str, int]:
        return {k: sum(c[k] for c in self.counts.values()) for k in COUNT_KEYS}

    def as_json(self) -> dict:
        matched: dict[str, int] = {}
        for p in self.plans:
            matched[p.row.matched_by] = matched.get(p.row.matched_by, 0) + 1
        return {**self.total, "errors": [p.as_dict() for p in self.problems], "by_type": self.counts,
                "applied": self.applied, "backup": str(self.backup) if self.backup else None,
                "warnings": self.warnings, "sheets": self.understood, "matched_by": matched,
                **({"photos": self.photos} if self.photos is not None else {})}


def _meta(sheets: dict[str, list[list]]) -> dict[str, Any]:
    rows = sheets.get(META_SHEET) or []
    return {str(r[0]): r[1] for r in rows[1:] if r and r[0] not in (None, "")}


def _base(sheets: dict[str, list[list]]) -> dict[str, tuple]:
    """uuid -> (version at export, version last received, state fingerprint, row fingerprint);
    the versions as the cell gives them (`_as_int` reads them where needed: most rows come back
    untouched and never need them).

    A `_base` row is one cell, "uuid|version|received|state hash|row hash" (BASE_FIELDS); the
    first workbooks had them in six cells (record, uuid, version, received, state, row)."""
    out = {}
    for name, cells in sheets.items():
        if not _is_base(name) or not cells:
            continue
        if cells[0] and cells[0][0] == BASE_FIELDS:
            split = [r[0].split("|") for r in cells[1:] if r and type(r[0]) is str]
            out.update((p[0], (p[1] or None, p[2] or None, p[3] or None, p[4] or None))
                       for p in split if len(p) == 5 and p[0])
            continue
        for r in cells[1:]:  # the first format; raw cells: "" for an empty one
            if len(r) >= 5 and r[1] and r[2] not in (None, ""):
                out[str(r[1])] = (r[2], r[3] if r[3] not in (None, "") else None, r[4] or None,
                                  (r[5] or None) if len(r) >= 6 else None)
    return out


def _check_versions(path: Path, meta: dict) -> None:
    """Refuse a workbook made by a newer program: a newer workbook format, or a database schema
    newer than this program knows (its columns and values may mean what this one cannot tell)."""
    from ..storage.migrations import current_version

    for key, ours, what in (("format_version", FORMAT_VERSION, "định dạng sổ / workbook format"),
                            ("schema_version", current_version(), "lược đồ cơ sở dữ liệu / database schema")):
        raw = meta.get(key)
        if raw in (None, ""):
            continue
        version = _as_int(raw)
        if version is None or version < 1:
            raise InvalidInputError(f"{path}: trang '{META_SHEET}', dòng '{key}': phiên bản '{raw}' không đọc "
                                    f"được / unreadable version; không thay đổi gì / nothing was changed")
        if version > ours:
            raise InvalidInputError(f"{path}: trang '{META_SHEET}', dòng '{key}': sổ được tạo bởi phiên bản mới "
                                    f"hơn ({what} {version}, chương trình này hỗ trợ đến {ours}); hãy cập nhật "
                                    "Hạ tầng Desktop, không thay đổi gì / the workbook comes from a newer "
                                    "version; update the app, nothing was changed")


def _as_int(value) -> int | None:
    """A version from `_base`: None for an empty or damaged cell (that record then merges
    against its received version, or conflicts)."""
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _is_base(name: str) -> bool:
    """`_base_<record>` (and `_base_<record>_2`...) sheets; the first workbooks had `_base`, `_base_2`."""
    return name == BASE_SHEET or name.startswith(BASE_SHEET + "_")


@dataclass
class UntouchedRow:
    """A row that is cell for cell what this database exported: nothing to parse or merge."""
    record: str
    uuid: str
    row: int
    sheet: str
    matched_by: str = "uuid"


def _set_aside_untouched(name: str, cells: list[list], spec, base_info: dict, untouched: list,
                         local_agrees: Callable[[str, list[str]], set[str]] | None = None) -> list[list]:
    """Rows whose fingerprint matches the export's are set aside (an empty row left in their
    place keeps the row numbers of the others); the rest are cleaned for parsing.

    An untouched row carries no change against the state it was exported from. In the database
    that exported it, that is the end of it. Anywhere else it is unchanged only where this
    database holds that same state (`local_agrees(record, uuids)` gives the uuids whose local
    state hash is the exported one); the other rows carry the exporter's changes and are parsed."""
    header = clean_row(cells[0])
    mapping, _unknown = match_columns(header, spec)
    col = next((i for i, c in mapping.items() if c.key == "uuid"), None)
    body = cells[1:]
    width = max(map(len, body), default=0)
    if any(len(r) != width for r in body):
        body = [list(r) + [""] * (width - len(r)) for r in body]
    # Fingerprints of the whole sheet at once, column by column (see row_fingerprint).
    prints = fingerprints(list(zip(*body))) if width else [""] * len(body)
    uuids = [r[col] for r in body] if col is not None and col < width else [None] * len(body)
    get = base_info.get
    # The fast test first: an untouched row's uuid cell is exactly what was written.
    entries = [get(u) if type(u) is str else None for u in uuids]
    matched = {i: uuids[i] for i, (e, fp) in enumerate(zip(entries, prints)) if e is not None and e[3] == fp}
    for i, (e, u) in enumerate(zip(entries, uuids)):
        if e is None and isinstance(u, str) and u:   # spaces or capitals typed around a uuid
            e = get(u.strip().lower())
            if e is not None and e[3] == prints[i]:
                matched[i] = u.strip().lower()
    for i in [i for i in matched if any(type(v) is NotAValue for v in body[i])]:
        del matched[i]  # an error cell where the export had an empty one: parsed, and named
    if local_agrees is not None and matched:
        agree = local_agrees(spec.record, list(matched.values()))
        matched = {i: u for i, u in matched.items() if u in agree}
    untouched.extend(UntouchedRow(spec.record, matched[i], i + 2, name) for i in sorted(matched))
    return [header] + [[] if i in matched else clean_row(raw) for i, raw in enumerate(cells[1:])]


def _local_agreement(db: Database, forms: Forms, base_info: dict[str, tuple]):
    """`local_agrees` for _set_aside_untouched: uuids whose state here hashes to the state hash
    the workbook's `_base` recorded at export."""
    def agrees(record: str, uuids: list[str]) -> set[str]:
        with db.session() as s:
            conn = s.connection().connection.driver_connection
            local = local_state_hashes(conn, forms[record], uuids)
        return {u for u in uuids if local.get(u) is not None and local[u] == base_info[u][2]}
    return agrees


def read_workbook(db: Database, path: Path, forms: Forms, *, trust_untouched: bool = True,
                  mapping: dict[str, dict[str, str | None]] | None = None,
                  ) -> tuple[list[WorkbookRow], list[Problem], dict, dict]:
    """Rows, problems, metadata and base of a workbook. With `trust_untouched`, rows that come
    back cell for cell as exported, from this database or from one that held the same state of
    the record, are not parsed: they are listed in meta["_untouched"] and count as unchanged. `mapping` corrects how a
    hand-typed sheet's columns were understood: {sheet: {header as written: column key, or None
    to ignore the column}}."""
    names = sheet_names(path)
    first = [n for n in names if fold(n) == fold(META_SHEET) or _is_base(n)]
    sheets = read_sheets(path, clean=False, names=first)
    skip = {fold(META_SHEET), fold(BASE_SHEET), fold(SUMMARY_SHEET["vi"]), fold(SUMMARY_SHEET["en"]), fold("_lists"),
            fold(PHOTO_SHEET.vi), fold(PHOTO_SHEET.en)}  # the photo sheet: read by a package import only
    for name in sheets:
        if fold(name) == fold(META_SHEET):
            sheets[name] = [clean_row(r) for r in sheets[name]]
    problems: list[Problem] = []
    meta = _meta(sheets)
    base_info = _base(sheets)
    with db.session() as s:
        communes = province_communes(s)
        db_meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
    same_database = bool(meta.get("database_id")) and str(meta.get("database_id")) == db_meta.get("database_id")
    untouched: list[UntouchedRow] = []
    _check_versions(path, meta)
    theirs_prov, ours = str(meta.get("province_code") or ""), db_meta.get("province_code", "")
    if theirs_prov and ours and ours != "VN" and theirs_prov not in (ours, "VN"):
        raise InvalidInputError(f"{path}: sổ của tỉnh khác ({theirs_prov} {meta.get('province_name', '')}), "
                                f"cơ sở dữ liệu này của {ours} {db_meta.get('province_name', '')} / "
                                "the workbook belongs to another province")
    by_name = {}
    layout = workbook_layout(forms, communes)
    for spec in layout:
        by_name[fold(spec.name("vi"))] = spec
        by_name[fold(spec.name("en"))] = spec
    rows: list[WorkbookRow] = []
    understood: list[dict] = []
    warnings: list[str] = []
    hand_specs = hand_typed_specs(layout, forms)
    rest = [n for n in names if n not in first and fold(n) not in skip]

    def prepare(which: list[str], own_db: bool = False) -> dict[str, tuple[list[list], list | None]]:
        """Read these sheets; in each sheet of ours set the untouched rows aside."""
        read = read_sheets(path, clean=False, names=which, mark_no_value=True) if which else {}
        out = {}
        with contextlib.ExitStack() as stack:
            here = stack.enter_context(Database.open(db.path, readonly=True)) if own_db else db
            for name, cells in read.items():
                spec = by_name.get(fold(name))
                if cells and spec is not None and any(fold(str(h or "")).startswith("uuid") for h in cells[0]):
                    if trust_untouched:
                        aside: list[UntouchedRow] = []
                        cells = _set_aside_untouched(name, cells, spec, base_info, aside,
                                                     None if same_database else _local_agreement(here, forms, base_info))
                        out[name] = (cells, aside)
                    else:
                        out[name] = ([clean_row(r) for r in cells], [])
                else:
                    out[name] = (cells, None)
        return out

    # Reading dominates a large import; in a process without threads a forked worker reads and
    # compares about half of the sheets (by size) meanwhile (see export_parallel).
    theirs: set[str] = set()
    job = None
    if trust_untouched and fork_allowed():
        sizes = sheet_sizes(path)
        if sum(sizes.get(n, 0) for n in rest) >= FORK_READ_BYTES:
            theirs = split({n: sizes.get(n, 0) for n in rest}, parent_extra=0)
            job = ForkedJob(functools.partial(prepare, [n for n in rest if n in theirs], True))
    prepared = prepare([n for n in rest if n not in theirs])
    if job is not None:
        try:
            prepared.update(job.result())
        except WorkerFailed:
            prepared.update(prepare([n for n in rest if n in theirs]))
    for name in rest:
        cells, aside = prepared[name]
        if not cells:
            continue
        if aside is not None:
            untouched += aside
            rows += parse_sheet(name, cells, by_name[fold(name)], forms, communes, problems, warnings=warnings)
            continue
        cells = [clean_row(r) for r in cells]
        guess = guess_header(cells, hand_specs)
        if guess is None:
            understood.append({"sheet": name, "record": None, "columns": {}, "unknown": []})
            continue
        if mapping and name in mapping:
            apply_mapping(guess, mapping[name])
        parsed = parse_sheet(name, cells, guess.spec, forms, communes, problems,
                             header_row=guess.header_row, mapping=guess.mapping, headers=guess.headers,
                             position=position_reader(db_meta.get("province_code", "")),
                             warnings=warnings, unknown=guess.unknown)
        rows += split_tenants(parsed)
        understood.append({"sheet": name, "record": guess.spec.record, "header_row": guess.header_row + 1,
                           "columns": {guess.headers[j]: c.header("vi") for j, c in sorted(guess.mapping.items())},
                           "keys": {guess.headers[j]: guess.mapping[j].key if j in guess.mapping else None
                                    for j in sorted(guess.headers)},
                           "choices": [(c.key, c.header("vi")) for c in guess.spec.columns
                                       if c.kind in ("field", "deleted")],
                           "unknown": guess.unknown})
    meta["_understood"] = understood
    meta["_untouched"] = untouched
    meta["_warnings"] = warnings
    return rows, problems, meta, base_info


def drop_implied_rows(rows: list[WorkbookRow], untouched=()) -> None:
    """Drop the tenant rows made from a list's site rows (split_tenants: a site's own operator)
    that stand for a tenant the file also has a row of its own for (a sheet of ours whose UUID
    column was deleted reads as a hand-typed list, next to its tenants sheet): the file's own
    row says it, and two rows of one record would be a duplicate."""
    own = {r.uuid for r in rows if "parent_row" not in r.extra} | {r.uuid for r in untouched}
    rows[:] = [r for r in rows if "parent_row" not in r.extra or r.uuid not in own]


def check_duplicates(rows: list[WorkbookRow], problems: list[Problem], untouched=()) -> None:
    """A problem for every second row of one record (same UUID, or matched to the same record)."""
    seen: dict[str, WorkbookRow] = {}
    for r in [*untouched, *rows]:
        if r.uuid in seen:
            how = "UUID trùng" if r.matched_by == "uuid" else "cùng một bản ghi đã có"
            sheet = r.sheet if isinstance(r, UntouchedRow) else r.extra.get("sheet", r.record)
            problems.append(Problem(sheet, r.row, "UUID", r.uuid,
                                    f"{how} với dòng {seen[r.uuid].row}; mỗi bản ghi chỉ một dòng / "
                                    "duplicate record in the workbook"))
        seen[r.uuid] = r


def check_parents(db: Database, rows: list[WorkbookRow], forms: Forms, problems: list[Problem],
                  untouched=()) -> None:
    """A problem for every tenant or attachment whose site or pole is neither in the workbook
    nor in the database."""
    in_book = {r.uuid for r in rows} | {r.uuid for r in untouched}
    for record in ("site_tenants", "pole_attachments"):
        parent = forms[record].parent
        children = [r for r in rows if r.record == record]
        refs = sorted({r.values[parent["key"]] for r in children if r.values.get(parent["key"])} - in_book)
        known = set()
        with db.session() as s:
            for i in range(0, len(refs), 900):
                chunk = refs[i:i + 900]
                marks = ", ".join(f":u{k}" for k in range(len(chunk)))
                known |= {u for (u,) in s.execute(text(f"SELECT uuid FROM {parent['record']} WHERE uuid IN ({marks})"),
                                                  {f"u{k}": u for k, u in enumerate(chunk)})}
        for r in children:
            ref = r.values.get(parent["key"])
            if ref and ref not in in_book and ref not in known:
                problems.append(Problem(forms[record].sheet.vi, r.row, forms[record].field(parent["key"]).label.vi,
                                        ref, f"không có {forms[parent['record']].label.vi.lower()} với UUID này "
                                        "trong sổ hoặc cơ sở dữ liệu / no such parent record"))


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
            same = {r.uuid for r in mine if r.uuid in local and not _differs(r, local[r.uuid])}
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
                                      local_deleted=local[r.uuid].deleted)
                else:
                    plan = _plan_record(form.record, r, local.get(r.uuid), bases.get(r.uuid), open_conflicts)
                plans.append(plan)
                c = counts[form.record]
                c["conflicts"] += len(plan.conflicts)
                if not (plan.action == "unchanged" and plan.conflicts):
                    c[ACTION_COUNT[plan.action]] += 1
        _delete_children(s, plans, counts, forms)
    return plans, counts


# A parent record's sub-list, as core/editing.py's delete_record tombstones it with the parent.
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
                plans.append(RecordPlan(row, "delete", {"deleted": True}, [], state.version + 1, state.values, False))
            else:
                if not (p.action == "unchanged" and p.conflicts):
                    c[ACTION_COUNT[p.action]] -= 1
                if p.action == "unchanged":
                    p.new_version = state.version + 1
                p.changes["deleted"] = True
                p.action = "delete"
            c["deleted"] += 1


# What the database keeps unique among live records (schema_0001.sql's partial unique indexes).
UNIQUE_KEYS = {"sites": ("operator_code", "site_code"), "site_tenants": ("site_uuid", "operator_code"),
               "pole_attachments": ("pole_uuid", "operator_code"), "fibre_routes": ("operator_code", "code"),
               "zones": ("code",)}


def check_unique(db: Database, plans: list[RecordPlan], forms: Forms) -> list[Problem]:
    """A problem for every record the merge would leave live with a key another live record holds
    (an operator's site code, a zone's code...): in the database under another UUID, or on
    another row of the file. The database would refuse the write; this names the row instead."""
    problems: list[Problem] = []
    by_record: dict[str, list[RecordPlan]] = {}
    for p in plans:
        if p.row.record in UNIQUE_KEYS and p.action in ("insert", "update", "delete"):
            by_record.setdefault(p.row.record, []).append(p)
    with db.session() as s:
        for record, plans_here in by_record.items():
            keys = UNIQUE_KEYS[record]
            form = forms[record]
            claims: dict[tuple, RecordPlan] = {}
            released: set[str] = set()
            for p in plans_here:
                after = p.changes if p.action == "insert" else (p.local or {}) | p.changes
                dead = bool(after.get("deleted")) if "deleted" in p.changes or p.action == "insert" else p.local_deleted
                key = tuple(after.get(k) for k in keys)
                if p.action != "insert" and not p.local_deleted:
                    old = tuple((p.local or {}).get(k) for k in keys)
                    if dead or old != key:
                        released.add(p.row.uuid)   # its old key is free once the plan is written
                    elif "deleted" not in p.changes:
                        continue                   # live before and after, same key: nothing new
                if dead or any(v in (None, "") for v in key):
                    continue
                first = claims.get(key)
                if first is not None:
                    problems.append(_clash(form, keys, key, p, row=first.row.row))
                    continue
                claims[key] = p
            if not claims:
                continue
            where = " AND ".join(f"{k} = ?" for k in keys)
            cursor = s.connection().connection.driver_connection.cursor()
            try:
                for key, p in claims.items():
                    for (other,) in cursor.execute(f"SELECT uuid FROM {record} WHERE deleted = 0 AND {where}", key):
                        if other != p.row.uuid and other not in released:
                            problems.append(_clash(form, keys, key, p, uuid=other))
            finally:
                cursor.close()
    return problems


def _clash(form, keys: tuple, key: tuple, p: RecordPlan, *, uuid: str | None = None,
           row: int | None = None) -> Problem:
    other_vi, other_en = ((f"với UUID khác ({uuid})", f"with another UUID ({uuid})") if uuid else
                          (f"ở dòng {row} của tệp", f"on row {row} of the file"))
    column = form.field(keys[-1]).columns()[0].header("vi")
    if form.record == "sites":
        message = (f"doanh nghiệp {key[0]} đã có trạm mã '{key[1]}' {other_vi}; mỗi doanh nghiệp một mã trạm "
                   f"chỉ một trạm / operator {key[0]} already has site code '{key[1]}' {other_en}")
    else:
        shown = ", ".join(f"{form.field(k).label.vi} '{v}'" for k, v in zip(keys, key)
                          if form.field(k).type != "reference")
        message = (f"đã có {form.label.vi.lower()} {shown} {other_vi} / this {form.label.en.lower()} already "
                   f"exists {other_en}")
    return Problem(p.row.extra.get("sheet", form.record), p.row.row, column, key[-1], message)


def complete_inserts(plans: list[RecordPlan], forms: Forms) -> list[Problem]:
    """A record the merge inserts takes the form's default for each field the file leaves empty
    (a blank cell or a column it does not have). A required field still empty is a problem:
    named once per sheet and column, with the new rows that need it."""
    rules: dict[str, list[tuple]] = {}   # record -> (value key, field, default) for fields that speak
    for form in forms:
        rules[form.record] = [(c.key, f, f.default) for f in form.fields if f.default is not None or f.required
                              for c in f.columns()]
    needs: dict[tuple[str, str], list[int]] = {}
    blank = (None, "", ())
    for p in plans:
        if p.action != "insert":
            continue
        changes = p.changes
        for k, f, default in rules[p.row.record]:
            if changes.get(k) in blank:
                if default is not None:
                    changes[k] = default
                elif k in p.row.extra.get("absent", ()) and f.applies(changes):
                    column = next(c for c in f.columns() if c.key == k).header("vi")
                    needs.setdefault((p.row.extra.get("sheet", p.row.record), column), []).append(p.row.row)
    problems = []
    for (sheet, column), rows in needs.items():
        shown = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
        problems.append(Problem(sheet, 1, column, None,
                                f"thiếu cột bắt buộc '{column}' cho {len(rows)} bản ghi mới (dòng {shown}) / a "
                                f"required column is missing for {len(rows)} new records"))
    return problems


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
                          local_deleted=local.deleted)
    action = "delete" if changes.get("deleted") is True else "update"
    exact = not conflicts and all(same_value(theirs[k], (mine | changes).get(k)) for k in theirs)
    fingerprint = r.extra.get("fingerprint")
    untouched = fingerprint and state_hash(r.values, r.deleted) == fingerprint
    if exact and untouched and r.version and r.version > local.version:
        new_version = r.version              # now the same state as theirs at that version
    else:
        new_version = max(local.version, r.version or 0) + 1
    return RecordPlan(r, action, changes, conflicts, new_version, local.values, local.deleted)


def _jsonable(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, tuple):
        return "/".join(v)
    return v


def import_workbook(db: Database, path: str | Path, *, dry_run: bool = False, forms: Forms | None = None,
                    user: str | None = None, progress: Progress | None = None,
                    trust_untouched: bool = True, mapping: dict[str, dict[str, str | None]] | None = None,
                    extra=None) -> ImportResult:
    """Validate, then merge. `trust_untouched=False` parses and merges every row even when the
    workbook comes back unchanged from this database (the benchmark uses it for the full path).

    `extra` (a sync package's photos, package.PackagePhotos) is planned after the records, under
    the same write lock (`extra.plan(here, result)`: may refuse with InvalidWorkbookError, sets
    `extra.changes`), and written in the same transaction after them (`extra.write(session)`)."""
    with gc_paused():
        return _import_workbook(db, Path(path), dry_run, forms or load_forms(), user,
                                progress or (lambda _s, _f: None), trust_untouched, mapping, extra)


def _import_workbook(db: Database, path: Path, dry_run: bool, forms: Forms, user: str | None, report: Progress,
                     trust_untouched: bool, mapping: dict[str, dict[str, str | None]] | None,
                     extra=None) -> ImportResult:
    report("reading", 0.05)
    rows, problems, meta, base_info = read_workbook(db, path, forms, trust_untouched=trust_untouched,
                                                    mapping=mapping)
    if problems:
        raise InvalidWorkbookError(path, problems)
    untouched = meta.get("_untouched", [])

    def planned(here) -> ImportResult:
        report("planning", 0.4)
        plans, counts = _checked_plan(here, path, rows, untouched, base_info, forms)
        with_plan = {p.row.uuid for p in plans}
        for r in untouched:
            if r.uuid not in with_plan:   # a sub-list row set aside may go with its deleted parent
                counts[r.record]["unchanged"] += 1
        result = ImportResult(counts, [], plans)
        result.understood = meta.get("_understood", [])
        result.warnings = meta.get("_warnings", []) + [n for r in rows for n in r.extra.get("notes", [])]
        if extra is not None:
            extra.plan(here, result)
        return result

    if dry_run:
        return planned(db)
    source = f"workbook:{path.name}"
    try:
        # The write lock first (BEGIN IMMEDIATE), then the plan reads what it merges with: another
        # import or an edit cannot change those records between the plan and its writing.
        with db.operation(f"Nhập sổ Excel {path.name}", user=user, source=source) as s:
            result = planned(HeldTransaction(db, s))
            if not any(p.action != "unchanged" or p.conflicts for p in result.plans) and not (
                    extra is not None and extra.changes):
                raise NothingToWrite
            report("backup", 0.6)
            result.backup = backup_file(db.path, "truoc-nhap")
            _prune_backups(db.path)
            report("applying", 0.7)
            write_checked(s, result, lambda: (write_plans(s, result.plans, forms, source=source, origin=path.name,
                                                          origin_database_id=str(meta.get("database_id") or "")),
                                              extra is not None and extra.write(s)),
                          lambda message: InvalidWorkbookError(path, [Problem(path.name, None, None, None, message)]))
    except NothingToWrite:
        return result
    result.applied = True
    report("done", 1.0)
    return result


def _checked_plan(here, path: Path, rows: list[WorkbookRow], untouched: list, base_info: dict,
                  forms: Forms) -> tuple[list[RecordPlan], dict]:
    """Match, check against the database and plan the merge; InvalidWorkbookError for any
    problem. `here` is the database, or the write transaction (HeldTransaction) it happens in."""
    problems: list[Problem] = []
    match_existing(here, rows)
    drop_implied_rows(rows, untouched)
    check_duplicates(rows, problems, untouched)
    if not problems:
        check_parents(here, rows, forms, problems, untouched)
    if problems:
        raise InvalidWorkbookError(path, problems)
    plans, counts = plan_import(here, rows, base_info, forms)
    problems = [Problem(p.row.extra.get("sheet", p.row.record), p.row.row, forms[p.row.record].field(k).label.vi,
                        None, "ô này không mang giá trị (quá dài khi xuất) mà bản ghi chưa có trong cơ sở dữ liệu / "
                        "this cell holds no value and the record is new")
                for p in plans if p.action == "insert" for k in p.row.extra.get("kept", ())]
    problems += complete_inserts(plans, forms)
    problems += check_unique(here, plans, forms)
    if problems:
        raise InvalidWorkbookError(path, problems)
    return plans, counts


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


def write_checked(s, result, write: Callable[[], None], refuse: Callable[[str], Exception]) -> None:
    """Run `write()` in the open transaction `s`. A row the database still refuses (a constraint
    no check foresaw) becomes `refuse(message)`, a refusal naming the constraint, not a
    traceback: the transaction rolls back and the backup just taken (`result.backup`, a copy of
    a database left unchanged) is removed."""
    from sqlalchemy.exc import IntegrityError

    try:
        write()
        s.flush()
    except IntegrityError as exc:
        if result.backup is not None:
            result.backup.unlink(missing_ok=True)
            result.backup = None
        raise refuse(f"cơ sở dữ liệu từ chối một bản ghi ({exc.orig}); không thay đổi gì / the database "
                     "refused a record, nothing was changed") from None


WRITE_ORDER = ("sites", "poles", "fibre_routes", "zones", "site_tenants", "pole_attachments", "findings")


def write_plans(s, plans: list[RecordPlan], forms: Forms, *, source: str, origin: str,
                origin_database_id: str = "") -> None:
    """Write merge plans inside an open operation (session `s`): inserts, field-wise updates,
    tombstones and conflicts, parents before children. Shared by every import (workbooks, GIS
    files) so a merge is written one way only; `origin` names the file in stored conflicts."""
    now = str(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    who = s.info["user"]
    for record in WRITE_ORDER:
        form = forms[record]
        inserts: dict[tuple, list[dict]] = {}
        for p in (p for p in plans if p.row.record == record):
            if p.action == "insert":
                cols = to_db(form, p.changes) | {"deleted": int(bool(p.changes.get("deleted")))}
                cols |= {"uuid": p.row.uuid, "version": p.new_version, "updated_at": now,
                         "updated_by": who, "source": source}
                inserts.setdefault(tuple(cols), []).append(cols)
            elif p.action in ("update", "delete"):
                full = to_db(form, {k: v for k, v in p.changes.items() if k != "deleted"} |
                             {k: v for k, v in p.local.items() if k not in p.changes})
                cols = {c: full[c] for c in _columns_for(form, p.changes) if c in full}
                if "deleted" in p.changes:
                    cols["deleted"] = int(bool(p.changes["deleted"]))
                cols |= {"version": p.new_version, "updated_at": now, "updated_by": who, "source": source}
                s.execute(text(f"UPDATE {record} SET {', '.join(f'{c} = :{c}' for c in cols)} "
                               f"WHERE uuid = :_uuid"), cols | {"_uuid": p.row.uuid})
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
        for names, batch in inserts.items():  # one executemany per column set: fast at scale
            s.execute(text(f"INSERT INTO {record}({', '.join(names)}) VALUES "
                           f"({', '.join(':' + c for c in names)})"), batch)


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


def _prune_backups(db_path: Path) -> None:
    """Keep the newest BACKUPS_KEPT whole backups of the Excel import (storage.database counts
    only whole ones, by their exact label; Database.operation also prunes after its commit)."""
    prune_backups(db_path, "truoc-nhap", BACKUPS_KEPT)


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
