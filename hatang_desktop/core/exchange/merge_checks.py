"""The checks a merge makes before anything is planned or written, for every reader: one row per
record, every sub-list row with a parent, the database's unique keys kept, a new record's
required fields filled. Each finds Problems (problems.py); the import is refused on any."""

from __future__ import annotations

from sqlalchemy import text

from ..forms import Forms
from ..storage.database import Database
from ..storage.dialect import raw
from .merge import RecordPlan, UntouchedRow
from ..messages import Text
from .problems import Problem
from .workbook_rows import WorkbookRow


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
                                    Text(f"{how} với dòng {seen[r.uuid].row}; mỗi bản ghi chỉ một dòng",
                                         f"duplicate record in the workbook (same as row {seen[r.uuid].row})")))
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
                                        ref, Text(f"không có {forms[parent['record']].label.vi.lower()} với UUID "
                                                  "này trong sổ hoặc cơ sở dữ liệu",
                                                  f"no {forms[parent['record']].label.en.lower()} with this UUID "
                                                  "in the workbook or the database")))


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
                key = tuple(map(after.get, keys))   # after.get in C: a country's 900k keys
                if p.action != "insert" and not p.local_deleted:
                    old = tuple(map((p.local or {}).get, keys))
                    if dead or old != key:
                        released.add(p.row.uuid)   # its old key is free once the plan is written
                    elif "deleted" not in p.changes:
                        continue                   # live before and after, same key: nothing new
                if dead or None in key or "" in key:   # a blank part: not a key the database holds
                    continue
                first = claims.get(key)
                if first is not None:
                    problems.append(_clash(form, keys, key, p, row=first.row.row))
                    continue
                claims[key] = p
            if not claims:
                continue
            for key, p, other in _holders(s, record, keys, claims):
                if other != p.row.uuid and other not in released:
                    problems.append(_clash(form, keys, key, p, uuid=other))
    return problems


ONE_SCAN_ABOVE = 2000   # more keys than this: the live keys read in one scan and joined here


def _holders(s, record: str, keys: tuple, claims: dict[tuple, RecordPlan]):
    """(key, plan, uuid) for each live record of `record` that holds a key `claims` claims: a
    query per key for a few, one scan of the table joined by key for many (an import of a
    country's records would ask a million times)."""
    cursor = raw(s).cursor()
    try:
        if len(claims) <= ONE_SCAN_ABOVE:
            where = " AND ".join(f"{k} = ?" for k in keys)
            for key, p in claims.items():
                for (other,) in cursor.execute(f"SELECT uuid FROM {record} WHERE deleted = 0 AND {where}", key):
                    yield key, p, other
            return
        held: dict[tuple, list[str]] = {}
        for uuid, *key in cursor.execute(f"SELECT uuid, {', '.join(keys)} FROM {record} WHERE deleted = 0 "
                                         "ORDER BY id").fetchall():
            held.setdefault(tuple(key), []).append(uuid)
    finally:
        cursor.close()
    for key, p in claims.items():
        for other in held.get(key, ()):
            yield key, p, other


def _clash(form, keys: tuple, key: tuple, p: RecordPlan, *, uuid: str | None = None,
           row: int | None = None) -> Problem:
    other_vi, other_en = ((f"với UUID khác ({uuid})", f"with another UUID ({uuid})") if uuid else
                          (f"ở dòng {row} của tệp", f"on row {row} of the file"))
    column = form.field(keys[-1]).columns()[0].header("vi")
    if form.record == "sites":
        message = Text(f"doanh nghiệp {key[0]} đã có trạm mã '{key[1]}' {other_vi}; mỗi doanh nghiệp một mã "
                       f"trạm chỉ một trạm", f"operator {key[0]} already has site code '{key[1]}' {other_en}")
    else:
        shown = ", ".join(f"{form.field(k).label.vi} '{v}'" for k, v in zip(keys, key)
                          if form.field(k).type != "reference")
        message = Text(f"đã có {form.label.vi.lower()} {shown} {other_vi}",
                       f"this {form.label.en.lower()} already exists {other_en}")
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
                                Text(f"thiếu cột bắt buộc '{column}' cho {len(rows)} bản ghi mới (dòng {shown})",
                                     f"a required column is missing for {len(rows)} new records (rows {shown})")))
    return problems
