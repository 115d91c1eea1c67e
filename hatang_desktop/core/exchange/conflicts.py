"""Conflicts left by an import: list them, and settle them by keeping one side (or an edit)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from .. import schema
from ..errors import InvalidInputError
from ..field_values import FieldError, parse_technologies, parse_value
from ..forms import Forms, load_forms
from ..storage.database import Database
from ..text import fold
from .records import read_states, to_db


@dataclass
class Conflict:
    id: str
    table: str
    record_uuid: str
    field: str
    base: Any
    local: Any
    theirs: Any
    workbook: str
    created_at: str
    label: str = ""

    def as_dict(self) -> dict:
        return {"id": self.id, "table": self.table, "record_uuid": self.record_uuid, "field": self.field,
                "label": self.label, "base": self.base, "local": self.local, "theirs": self.theirs,
                "workbook": self.workbook, "created_at": self.created_at}


def _label(table: str, field: str) -> str:
    if field == "deleted":
        return "Xóa / deleted"
    f = schema.field(table, field)  # a form field, or latitude/longitude (forms/common.yaml)
    return f.label.vi if f is not None else field


def list_conflicts(db: Database, *, record_uuid: str | None = None) -> list[Conflict]:
    sql = ("SELECT uuid, table_name, record_uuid, field, base_value, local_value, theirs_value, workbook, "
           "created_at FROM conflicts WHERE status = 'open'")
    params = {}
    if record_uuid:
        sql += " AND (record_uuid = :u OR uuid = :u)"
        params["u"] = record_uuid
    with db.session() as s:
        rows = s.execute(text(sql + " ORDER BY id"), params).all()
    return [Conflict(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), json.loads(r[6]), r[7], r[8],
                     _label(r[1], r[3])) for r in rows]


def _name_columns(table: str) -> tuple[list[str], list[str]]:
    """The SQL columns that name a record of `table` (its form's title fields, forms/), the
    parent's first for a sub-list row (a tenant under its site's code), and their keys."""
    form = schema.form(table)
    cols = [f"t.{k}" for k in form.title]
    keys = [f"{table}.{k}" for k in form.title]
    if form.parent:
        parent = form.parent["record"]
        cols = [f"(SELECT p.{k} FROM {parent} p WHERE p.uuid = t.{form.parent['key']})"
                for k in schema.form(parent).title] + cols
        keys = [f"{parent}.{k}" for k in schema.form(parent).title] + keys
    return cols, keys


def _joined_name(keys: list[str], values: tuple) -> str:
    """"VT-0012", a tenant as "VT-0012 · VNPT": each record's title (schema.title), parent first."""
    by_table: dict[str, dict[str, Any]] = {}
    for key, value in zip(keys, values):
        table, column = key.split(".", 1)
        by_table.setdefault(table, {})[column] = value
    return " · ".join(n for n in (schema.title(t, v) for t, v in by_table.items()) if n)


def record_names(db: Database, conflicts: list[Conflict]) -> dict[str, str]:
    """record uuid -> how people know the record (the fields its form titles it by: a site's
    code, a tenant under its site's code), for the records the conflicts concern; a record with
    nothing to name it by is left out."""
    by_table: dict[str, set[str]] = {}
    for c in conflicts:
        if schema.form(c.table) is not None:
            by_table.setdefault(c.table, set()).add(c.record_uuid)
    out = {}
    with db.session() as s:
        for table, uuids in by_table.items():
            cols, keys = _name_columns(table)
            marks = ", ".join(f":u{k}" for k in range(len(uuids)))
            rows = s.execute(text(f"SELECT t.uuid, {', '.join(cols)} FROM {table} t WHERE t.uuid IN ({marks})"),
                             {f"u{k}": u for k, u in enumerate(sorted(uuids))}).all()
            for u, *values in rows:
                name = _joined_name(keys, tuple(values))
                if name:
                    out[u] = name
    return out


_DELETED_YES = ("x", "1", "co", "yes")


def parse_edited_value(db: Database, conflict: Conflict, typed) -> Any:
    """The value a person typed to settle `conflict` (as a workbook cell would hold it), in the
    form resolve_conflicts(keep="edited") takes; FieldError, with the reason, when it does not fit
    the field."""
    from .export import province_communes

    if conflict.field in ("lat", "lon"):
        try:
            return float(str(typed).replace(",", "."))
        except ValueError:
            raise FieldError(f"'{typed}' không phải là số / is not a number") from None
    if conflict.field == "deleted":
        return fold(str(typed)) in _DELETED_YES
    forms = load_forms()
    try:
        f = forms[conflict.table].field(conflict.field)
    except KeyError:
        raise FieldError(f"trường '{conflict.field}' không nhập tay được / "
                         f"'{conflict.field}' cannot be typed in") from None
    with db.session() as s:
        communes = province_communes(s)
    parsed = parse_value(f, typed, lists=forms.lists, communes=communes)
    if f.type == "date" and parsed is not None:
        return parsed.isoformat()
    return parsed


def _stored(table: str, field: str, value, forms: Forms) -> dict:
    """Table columns for one field value as the conflict stored it (JSON-friendly)."""
    form = forms[table]
    if field == "deleted":
        return {"deleted": int(bool(value))}
    if field in ("lat", "lon"):
        return {field: value}
    f = form.field(field)
    if f.type == "technologies" and not isinstance(value, tuple):
        value = parse_technologies(value) if value else ()
    elif f.type == "date" and isinstance(value, str) and value:
        value = dt.date.fromisoformat(value[:10])
    columns = to_db(form, {field: value})
    keep = {field} if f.type not in ("technologies", "geometry") else set(columns)
    if f.type == "technologies":
        keep = {"has_2g", "has_3g", "has_4g", "has_5g"}
    return {c: v for c, v in columns.items() if c in keep}


def resolve_conflicts(db: Database, keep: str, *, conflict_or_record: str | None = None,
                      edited_value: Any = None, user: str | None = None) -> int:
    """Settle open conflicts: keep 'local' (nothing changes), 'theirs' (apply the workbook's
    value), or 'edited' (apply `edited_value`). Returns how many were settled."""
    if keep not in ("local", "theirs", "edited"):
        raise InvalidInputError(f"--keep phải là local hoặc theirs (nhận '{keep}') / --keep must be local or theirs")
    forms = load_forms()
    todo = list_conflicts(db, record_uuid=conflict_or_record)
    if conflict_or_record and not todo:
        raise InvalidInputError(f"không có xung đột mở nào với mã '{conflict_or_record}' / no open conflict "
                                "with that id")
    now = str(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    with db.operation(f"Giải quyết {len(todo)} xung đột ({keep})", user=user, source="conflict-resolution") as s:
        who = s.info["user"]
        for c in todo:
            if keep != "local":
                value = c.theirs if keep == "theirs" else edited_value
                cols = _stored(c.table, c.field, value, forms)
                version = s.execute(text(f"SELECT version FROM {c.table} WHERE uuid = :u"),
                                    {"u": c.record_uuid}).scalar_one()
                cols |= {"version": version + 1, "updated_at": now, "updated_by": who,
                         "source": "conflict-resolution"}
                s.execute(text(f"UPDATE {c.table} SET {', '.join(f'{k} = :{k}' for k in cols)} WHERE uuid = :_u"),
                          cols | {"_u": c.record_uuid})
            s.execute(text("UPDATE conflicts SET status = 'resolved', resolution = :r, resolved_by = :w, "
                           "resolved_at = :t WHERE uuid = :id"), {"r": keep, "w": who, "t": now, "id": c.id})
    return len(todo)


__all__ = ["Conflict", "list_conflicts", "parse_edited_value", "record_names", "resolve_conflicts", "read_states"]
