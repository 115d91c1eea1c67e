"""What an import will do, record by record, in words a person reads: the plan of a dry run
(merge.plan_import) described for the import dialogs and `hatang import-xlsx --dry-run`.

Per record: inserted, updated or deleted, named by its code and name; an update's fields "old →
new"; what goes with a deletion (a site's tenants, a pole's attachments, the photos it keeps); the
expected fields (forms/ `expected: true`) a new record arrives without; the commune filled from
its position and how (commune_fill). Labels come from forms/, values are written the way the
given language reads them. Qt-free: the dialog shows these, the command line prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import shapely
from sqlalchemy import text

from .. import schema
from ..forms import Forms
from ..messages import Text
from ..text import format_decimal
from .commune_fill import FOUND
from .merge_write import WRITE_ORDER

ACTIONS = ("insert", "update", "delete")
EMPTY = "—"
ARROW = "→"


@dataclass
class FieldChange:
    key: str
    label: str
    old: str
    new: str


@dataclass
class PlannedRecord:
    """One record the import inserts, updates or deletes, as the preview lists it."""
    record: str                  # the table (sites, site_tenants...)
    action: str                  # insert, update, delete
    uuid: str
    code: str                    # its title fields ("VT_0001"; a tenant: "VT_0001 · Viettel")
    name: str = ""               # its name when the title does not say it
    changes: list[FieldChange] = field(default_factory=list)
    with_it: list[str] = field(default_factory=list)    # what a deletion takes along
    warnings: list[str] = field(default_factory=list)   # what a new record arrives without
    notes: list[str] = field(default_factory=list)      # what the import filled in, and how
    conflicts: int = 0
    sheet: str = ""
    row: int | None = None

    def text(self) -> str:
        """Everything the entry says, for a search box."""
        parts = [self.code, self.name, *self.with_it, *self.warnings, *self.notes]
        parts += [f"{c.label} {c.old} {c.new}" for c in self.changes]
        return " ".join(p for p in parts if p)


def _words(lang: str, vi: str, en: str) -> str:
    return vi if lang == "vi" else en


def shown_value(record: str, key: str, value: Any, lang: str, communes: dict[str, str]) -> str:
    """A value as a person reads it in `lang`: a list's label, an operator's brand, a commune's
    name, numbers with the language's separators, a line by its length."""
    if value in (None, "", ()):
        return EMPTY
    if key in ("lat", "lon"):
        return format_decimal(float(value), 6, lang)
    f = schema.field(record, key)
    if f is not None and f.type == "commune":
        return f"{communes[value]} ({value})" if value in communes else str(value)
    if f is not None and f.type == "geometry":
        geom = shapely.from_wkt(value) if isinstance(value, str) else None
        if geom is None or geom.is_empty:
            return str(value)
        n = shapely.get_num_coordinates(geom)
        return _words(lang, f"{geom.geom_type} {n} đỉnh", f"{geom.geom_type}, {n} vertices")
    words = schema.value_text(record, key, value, lang)
    if words is not None:
        return words
    if isinstance(value, bool):
        return schema.yes_no(value, lang)
    if isinstance(value, float):
        if value.is_integer():
            return format_decimal(value, 0, lang)
        return format_decimal(value, 2, lang).rstrip("0")   # 12.5 -> "12,5", not "12,50"
    if isinstance(value, int):
        return format_decimal(value, 0, lang)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y") if lang == "vi" else value.isoformat()[:10]
    return str(value)


def _labels(forms: Forms, record: str, lang: str) -> dict[str, str]:
    """Value key -> column label in `lang` (a position's two parts by their own labels)."""
    return {c.key: c.label(lang) for _f, c in forms[record].columns()}


def _chunks(items: list[str], n: int = 900):
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _in(items: list[str]) -> tuple[str, dict[str, str]]:
    return ", ".join(f":u{k}" for k in range(len(items))), {f"u{k}": u for k, u in enumerate(items)}


def _photo_counts(s, uuids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(uuids):
        marks, params = _in(chunk)
        out.update(s.execute(text(f"SELECT owner_uuid, count(*) FROM photos WHERE deleted = 0 AND owner_uuid IN "
                                  f"({marks}) GROUP BY owner_uuid"), params).all())
    return out


def _parent_codes(s, forms: Forms, plans) -> dict[str, str]:
    """Parent uuid -> its code, for the sub-list rows in the plan (a tenant's site code)."""
    out: dict[str, str] = {}
    for p in plans:
        form = forms[p.row.record]
        if form.parent is None and p.row.record in schema.children():
            out[p.row.uuid] = form.name_of({**(p.local or {}), **p.changes})
    wanted: dict[str, set[str]] = {}
    for p in plans:
        parent = forms[p.row.record].parent
        if parent is not None:
            ref = p.changes.get(parent["key"]) or (p.local or {}).get(parent["key"])
            if ref and ref not in out:
                wanted.setdefault(parent["record"], set()).add(ref)
    for record, uuids in wanted.items():
        title = schema.title_sql(record)
        for chunk in _chunks(sorted(uuids)):
            marks, params = _in(chunk)
            out.update(s.execute(text(f"SELECT t.uuid, {title} FROM {record} t WHERE t.uuid IN ({marks})"),
                                 params).all())
    return out


def describe_plan(db, plans, forms: Forms, lang: str = "vi") -> list[PlannedRecord]:
    """The records `plans` (an ImportResult's) insert, update or delete, in the merge's write
    order, each described (see the module). `db` is read for commune names, parents' codes and
    the photos a deleted record has."""
    from .export import province_communes

    acting = [p for p in plans if p.action in ACTIONS]
    deleted_parents = {p.row.uuid for p in acting if p.action == "delete" and p.row.record in schema.children()}
    with db.session() as s:
        communes = province_communes(s)
        parents = _parent_codes(s, forms, acting)
        deleted = sorted(p.row.uuid for p in acting if p.action == "delete")
        photos = _photo_counts(s, deleted) if deleted else {}
    labels = {f.record: _labels(forms, f.record, lang) for f in forms}
    inserted = {p.row.uuid for p in acting if p.action == "insert"}
    children_of: dict[str, list] = {}
    out: list[PlannedRecord] = []
    for p in acting:
        form = forms[p.row.record]
        if form.parent is not None:
            children_of.setdefault(p.changes.get(form.parent["key"]) or (p.local or {}).get(form.parent["key"]),
                                   []).append(p)
    for record in WRITE_ORDER:
        form = forms[record]
        for p in (p for p in acting if p.row.record == record):
            values = {**(p.local or {}), **p.changes}
            if form.parent is not None:
                ref = values.get(form.parent["key"])
                if p.action == "delete" and ref in deleted_parents:
                    continue   # told with its parent's deletion
                own = schema.value_text(record, form.title[0], values.get(form.title[0]), lang) if form.title else ""
                code = " · ".join(x for x in (parents.get(ref, ""), own or form.name_of(values)) if x)
            else:
                code = form.name_of(values)
            name = str(values.get("name") or "") if "name" not in form.title else ""
            if not name and values.get("technologies"):   # a tenant: what it broadcasts
                name = shown_value(record, "technologies", values["technologies"], lang, communes)
            entry = PlannedRecord(record, p.action, p.row.uuid, code, name, conflicts=len(p.conflicts),
                                  sheet=str(p.row.extra.get("sheet", "")), row=p.row.row)
            if p.action == "update":
                entry.changes = [FieldChange(k, labels[record].get(k, k),
                                             shown_value(record, k, (p.local or {}).get(k), lang, communes),
                                             shown_value(record, k, v, lang, communes))
                                 for k, v in p.changes.items() if k != "deleted"]
                if p.changes.get("deleted") is False and p.local_deleted:   # a deleted record brought back
                    entry.changes.insert(0, FieldChange("deleted", _words(lang, "Đã xóa", "Deleted"),
                                                        schema.yes_no(True, lang), schema.yes_no(False, lang)))
            elif p.action == "delete":
                entry.with_it = _goes_with(forms, p, children_of.get(p.row.uuid, []), photos, lang)
            else:
                entry.warnings = _gaps(forms, p, children_of.get(p.row.uuid, []), inserted, lang)
                found = p.row.extra.get(FOUND)
                if found is not None:
                    entry.notes.append(_commune_note(found, lang))
            out.append(entry)
    return out


def _goes_with(forms: Forms, p, children: list, photos: dict[str, int], lang: str) -> list[str]:
    out = []
    for c in children:
        if c.action != "delete":
            continue
        cform = forms[c.row.record]
        values = {**(c.local or {}), **c.changes}
        title = cform.title[0] if cform.title else None
        who = schema.value_text(c.row.record, title, values.get(title), lang) if title else None
        techs = values.get("technologies")
        extra = f" ({', '.join(techs)})" if techs else ""
        out.append(f"{cform.short(lang) if cform.short else cform.label(lang)}: {who or cform.name_of(values)}{extra}")
    n = photos.get(p.row.uuid, 0)
    if n:
        out.append(_words(lang, f"{n} ảnh (giữ lại, gắn với bản ghi đã xóa)",
                          f"{n} photo{'s' if n > 1 else ''} (kept with the deleted record)"))
    return out


def _gaps(forms: Forms, p, children: list, inserted: set[str], lang: str) -> list[str]:
    """What a new record arrives without: its own expected fields, and those of its sub-list (a
    site whose tenants name no technology, or that has no tenant at all, lacks technologies)."""
    form = forms[p.row.record]
    if form.parent is not None:
        if p.changes.get(form.parent["key"]) in inserted:
            return []   # said on the new parent
    missing = [f.label(lang) for f in form.gaps(p.changes)]
    child = schema.children().get(p.row.record)
    if child is not None:
        cform = forms[child]
        expected = [f for f in cform.fields if f.expected]
        live = [c for c in children if c.action == "insert" and not c.changes.get("deleted")]
        for f in expected:
            if not live or all(f in cform.gaps(c.changes) for c in live):
                missing.append(f.label(lang))
    if not missing:
        return []
    return [_words(lang, "thiếu: ", "lacks: ") + ", ".join(missing)]


def _commune_note(found, lang: str) -> str:
    if found.inside:
        return _words(lang, f"gán xã theo vị trí: {found.name} ({found.code}), điểm nằm trong ranh giới xã",
                      f"commune set from the position: {found.name} ({found.code}), inside its boundary")
    km = format_decimal(found.distance_m / 1000, 1, lang)
    return _words(lang, f"gán xã theo vị trí gần nhất: {found.name} ({found.code}), cách tâm xã {km} km "
                        "(điểm ngoài ranh giới các xã)",
                  f"commune set from the nearest centre: {found.name} ({found.code}), {km} km away "
                  "(the point is outside every commune boundary)")


ACTION_WORDS = {"insert": Text("Thêm", "Insert"), "update": Text("Cập nhật", "Update"),
                "delete": Text("Xóa", "Delete")}


def preview_lines(entries: list[PlannedRecord], forms: Forms, lang: str = "vi") -> list[str]:
    """The description as text lines (what `hatang import-xlsx --dry-run` prints)."""
    lines = []
    record = None
    for e in entries:
        if e.record != record:
            record = e.record
            f = forms[record]
            lines.append(f"{(f.plural or f.label)(lang)}:")
        head = f"  {ACTION_WORDS[e.action].render(lang)} {e.code}" + (f" — {e.name}" if e.name else "")
        lines.append(head)
        lines += [f"      {c.label}: {c.old} {ARROW} {c.new}" for c in e.changes]
        lines += [f"      + {w}" for w in e.with_it]
        lines += [f"      ! {w}" for w in e.warnings]
        lines += [f"      * {n}" for n in e.notes]
    return lines
