"""Saving a record from its form (with its sub-list, rebased on what changed since the form
opened), and tombstoning one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import photos as photo_files, schema
from ..errors import InvalidInputError
from ..exchange.records import from_db, to_db
from ..forms import FormDef, Forms, load_forms
from ..model import new_uuid
from ..storage.database import Database
from .duplicates import DuplicateFound, find_duplicate_sites
from .reading import read_children_in
from .route_poles import pole_written, relink_routes
from .validate import _communes, _keep_stored_position, defaults, validate
from .writes import (CHILDREN, EDITABLE, POINT_TABLES, POSITION_DECIMALS, EditConflict, EditResult, RowMovedOn,
                     StaleEdit, ValidationFailed, _code, _form, _gnss_columns, _record_name, _row, _same, _Tracker,
                     edit_result)


# -- saving ------------------------------------------------------------------------------------

def _label_of(values: dict[str, Any], table: str) -> str:
    return f"{_record_name(table)} {schema.title(table, values)}".strip()


def _unique_problems(s: Session, table: str, values: dict, uuid: str | None) -> list[tuple[str, str]]:
    checks = {"fibre_routes": (("operator_code", "code"), "code"), "zones": (("code",), "code")}
    if table not in checks:
        return []
    cols, key = checks[table]
    if any(values.get(c) in (None, "") for c in cols):
        return []
    where = " AND ".join(f"{c} = :{c}" for c in cols)
    other = s.execute(text(f"SELECT uuid FROM {table} WHERE deleted = 0 AND {where} AND uuid IS DISTINCT FROM :me"),
                      {c: values[c] for c in cols} | {"me": uuid}).scalar()
    if other:
        return [(key, f"mã '{values[key]}' đã có ở một {_record_name(table)} khác / this code is already used")]
    return []


def _child_problems(child_form: FormDef, rows: list[dict]) -> list[tuple[str, str]]:
    seen: dict[str, int] = {}
    out = []
    for i, r in enumerate(rows):
        op = r.get("operator_code")
        if op and op in seen:
            out.append((f"{child_form.record}[{i}].operator_code",
                        f"doanh nghiệp {op} đã có ở dòng {seen[op] + 1} / operator listed twice"))
        elif op:
            seen[op] = i
    return out


@dataclass
class PhotoEdits:
    """What the form's photo strip holds unsaved: files to attach, photos (uuid) to remove. They
    are written with the record, in its operation: Hủy (cancel) leaves them unwritten."""
    add: list[Path] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


class _NothingChanged(Exception):
    """Raised inside the write transaction when a save writes nothing: it rolls back, and no
    empty operation is left in the history."""


def save_record(db: Database, table: str, values: dict[str, Any], *, uuid: str | None = None,
                children: list[dict[str, Any]] | None = None, allow_duplicates: bool = False,
                gnss: dict[str, Any] | None = None, forms: Forms | None = None, user: str | None = None,
                source: str | None = None, description: str | None = None,
                base: dict[str, Any] | None = None, base_children: list[dict[str, Any]] | None = None,
                photos: PhotoEdits | None = None) -> EditResult:
    """Create (uuid None) or change a record from field values, with its sub-list, in one transaction.

    `values` may be partial: an existing record's other fields keep their values, a new record's
    take the form's defaults. `children` (tenants of a site, attachments of a pole), when given, is
    the whole sub-list: rows with a "uuid" are updated, rows without are added, live rows left out
    are tombstoned. Raises ValidationFailed (nothing written) or, for a site that looks like another
    of the same operator, DuplicateFound unless `allow_duplicates` (a same-code duplicate is always
    refused: the database keeps one live site per operator and code).

    `gnss` is the GPS metadata of the position (core.gps.GNSS_COLUMNS) when it came from the
    receiver; a point placed or moved by hand gets those columns cleared, so an accuracy figure
    never stays on a position it does not describe.

    `base` (and `base_children`) are the values the form was opened with (read_values,
    read_children). With them, only the fields the user changed are written: a field the user left
    alone never puts back what it showed over a value written since (an import while the form was
    open). A field changed both here and there, to different values, raises EditConflict and
    nothing is written. The check is repeated inside the write transaction.

    `photos` (PhotoEdits) are the form's photo changes: attached and removed in the same
    operation as the fields, so one save is one undo step; a refused file (PhotoError) writes
    nothing at all."""
    for _attempt in range(3):
        try:
            return _save_record(db, table, values, uuid=uuid, children=children,
                                allow_duplicates=allow_duplicates, gnss=gnss, forms=forms, user=user,
                                source=source, description=description, base=base,
                                base_children=base_children, photos=photos)
        except RowMovedOn:
            continue  # written by someone else between our read and our write: plan again
    raise StaleEdit("bản ghi đang được thay đổi liên tục; thử lại / the record keeps changing; try again")


class _MovedOn(RowMovedOn):
    """The row's version changed between planning a save and writing it."""


def _field_same(key: str, a, b) -> bool:
    if key in ("lat", "lon") and a is not None and b is not None:
        return f"{float(a):.{POSITION_DECIMALS}f}" == f"{float(b):.{POSITION_DECIMALS}f}"
    return _same(a, b)


def _rebase(form: FormDef, lists, communes, base: dict, values: dict, start: dict
            ) -> tuple[dict, list[tuple[str, Any, Any, Any]]]:
    """The user's changes relative to `base`, and the ones that clash with what `start` holds now.

    Raises ValidationFailed for a changed field whose typed value is wrong: parsed, it would read
    as empty, and an empty field written over the stored value is not what the user typed."""
    parsed_base, _ = validate(form, base, lists=lists, communes=communes)
    parsed_mine, wrong = validate(form, base | values, lists=lists, communes=communes)
    columns = {f.key: [c.key for c in f.columns()] for f in form.fields}
    wrong = [(k, m) for k, m in wrong
             if any(not _field_same(c, parsed_mine.get(c), parsed_base.get(c)) for c in columns.get(k, [k]))]
    if wrong:
        raise ValidationFailed(wrong)
    parsed_now, _ = validate(form, start, lists=lists, communes=communes)
    mine = {k: v for k, v in parsed_mine.items() if not _field_same(k, v, parsed_base.get(k))}
    clashes = [(k, parsed_base.get(k), parsed_now.get(k), v) for k, v in mine.items()
               if not _field_same(k, parsed_now.get(k), parsed_base.get(k))
               and not _field_same(k, parsed_now.get(k), v)]
    return mine, clashes


def _children_key(cform: FormDef, lists, communes, rows: list[dict] | None):
    if rows is None:
        return None
    out = []
    for r in rows:
        parsed, _ = validate(cform, r, lists=lists, communes=communes)
        out.append((r.get("uuid"), tuple(sorted((k, repr(v)) for k, v in parsed.items()))))
    return sorted(out, key=lambda x: (x[0] or "", x[1]))


def _save_record(db: Database, table: str, values: dict[str, Any], *, uuid, children, allow_duplicates,
                 gnss, forms, user, source, description, base, base_children, photos=None) -> EditResult:
    forms = forms or load_forms()
    form = _form(forms, table)
    if table not in EDITABLE:
        raise InvalidInputError(f"{table} được sửa trong biểu mẫu của bản ghi cha / edited in its parent's form")
    with db.session() as s:
        communes = _communes(s)
        if uuid is not None:
            row = _row(s, table, uuid)
            if row is None:
                raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
            start = from_db(form, row)
            planned_version = row["version"]
        else:
            start = defaults(form)
        values = {k: v for k, v in values.items() if k not in ("uuid", "deleted", "version")}
        if uuid is not None and base is not None:
            mine, clashes = _rebase(form, forms.lists, communes, base, values, start)
            cform = forms[CHILDREN[table]] if table in CHILDREN else None
            now_children = None
            if cform is not None and base_children is not None and children is not None:
                now_children = read_children_in(s, cform, uuid)
                then = _children_key(cform, forms.lists, communes, base_children)
                if _children_key(cform, forms.lists, communes, now_children) != then:
                    if _children_key(cform, forms.lists, communes, children) != then:
                        clashes.append((EditConflict.SUB_LIST, base_children, now_children, children))
                    else:
                        children = None  # left alone here, changed there: keep theirs
            if clashes:
                if now_children is None and cform is not None:
                    now_children = read_children_in(s, cform, uuid)
                raise EditConflict(clashes, start | {"uuid": uuid, "deleted": bool(row["deleted"]),
                                                     "version": row["version"]}, now_children, set(mine))
            values = mine
        raw = start | values
        parsed, problems = validate(form, raw, lists=forms.lists, communes=communes)
        if uuid is not None:
            _keep_stored_position(start, parsed)
        problems += _unique_problems(s, table, parsed, uuid)
        child_rows: list[tuple[str | None, dict]] = []
        child_versions: dict[str, int] = {}  # the version each kept row was read at: the write checks it
        if children is not None and table in CHILDREN:
            cform = forms[CHILDREN[table]]
            pkey = cform.parent["key"]
            parent_uuid = uuid or "00000000-0000-0000-0000-000000000000"
            for i, c in enumerate(children):
                cuuid = c.get("uuid")
                cstart = defaults(cform)
                if cuuid:
                    crow = _row(s, cform.record, cuuid)
                    if crow is None or crow[pkey] != uuid:
                        problems.append((f"{cform.record}[{i}]", "dòng không thuộc bản ghi này / row "
                                                                 "belongs to another record"))
                        continue
                    cstart = from_db(cform, crow)
                    child_versions[cuuid] = crow["version"]
                craw = cstart | {k: v for k, v in c.items() if k != "uuid"} | {pkey: parent_uuid}
                cvals, cprobs = validate(cform, craw, lists=forms.lists, communes=communes,
                                         prefix=f"{cform.record}[{i}].")
                problems += cprobs
                child_rows.append((cuuid, cvals))
            problems += _child_problems(cform, [v for _, v in child_rows])
        if problems:
            raise ValidationFailed(problems)
        # An edit that keeps the code and the place does not ask again about a neighbour the
        # user already accepted.
        moved = uuid is None or any(not _same(start.get(k), parsed.get(k))
                                    for k in ("operator_code", "site_code", "lat", "lon"))
        if table == "sites" and moved:
            dups = find_duplicate_sites(s, parsed.get("operator_code"), parsed.get("site_code"),
                                        parsed.get("lat"), parsed.get("lon"), exclude_uuid=uuid)
            if dups and (not allow_duplicates or any(d.blocking for d in dups)):
                raise DuplicateFound(dups)
    label = _label_of(parsed, table)
    description = description or (f"Sửa {label}" if uuid else f"Thêm {label}")
    new = uuid is None
    uuid = uuid or new_uuid()
    # Decoded and resized before the write lock is taken (seconds for a big photo); their files
    # get their names only inside the operation, and go again if it fails.
    prepared = _prepare_photos(db, photos)
    try:
        with db.operation(description, user=user, source=source) as s:
            if not new:
                now = s.execute(text(f"SELECT version FROM {table} WHERE uuid = :u"), {"u": uuid}).scalar()
                if now != planned_version:
                    raise _MovedOn()
            t = _Tracker(s)
            cols = to_db(form, parsed)
            if table in POINT_TABLES:
                placed = new or not (_same(start.get("lat"), parsed.get("lat"))
                                     and _same(start.get("lon"), parsed.get("lon")))
                if gnss or placed:
                    cols |= _gnss_columns(s, table, gnss)
            if new:
                t.insert(table, uuid, cols)
                wrote = True
            else:
                wrote = t.update(table, uuid, cols, expect_version=planned_version)
            if children is not None and table in CHILDREN:
                cform = forms[CHILDREN[table]]
                pkey = cform.parent["key"]
                keep = {cuuid for cuuid, _ in child_rows if cuuid}
                # Left-out rows are tombstoned first: the unique (parent, operator) index only
                # concerns live rows, so a row removed and re-added for the same operator is fine.
                live = [u for (u,) in s.execute(text(f"SELECT uuid FROM {cform.record} WHERE {pkey} = :p "
                                                     "AND deleted = 0"), {"p": uuid}).all()]
                for cuuid in live:
                    if cuuid not in keep:
                        wrote |= t.update(cform.record, cuuid, {"deleted": 1})
                for cuuid, cvals in child_rows:
                    ccols = to_db(cform, cvals | {pkey: uuid})
                    if cuuid:
                        wrote |= t.update(cform.record, cuuid, ccols | {"deleted": 0},
                                          expect_version=child_versions.get(cuuid))
                    else:
                        t.insert(cform.record, new_uuid(), ccols)
                        wrote = True
            if photos:
                wrote |= _write_photos(s, t, table, uuid, photos, prepared)
            if wrote:
                _keep_route_poles(s, t, table, uuid, new, start, parsed)
            if not wrote:
                # Saved as it was: no operation is logged (rolled back), nothing to undo.
                raise _NothingChanged
            operation_id = s.info["operation_id"]
    except _NothingChanged:
        return EditResult(table, uuid, description, None)
    except IntegrityError as exc:
        _discard(prepared)
        raise ValidationFailed([("", f"cơ sở dữ liệu từ chối giá trị ({exc.orig}) / the database refused "
                                     "a value")]) from None
    except BaseException:
        _discard(prepared)
        raise
    return edit_result(db, table, uuid, description, operation_id)


def _keep_route_poles(s: Session, t: _Tracker, table: str, uuid: str, new: bool, start: dict, parsed: dict) -> None:
    """A route's pole list follows its line; a pole's routes follow the pole (route_poles.py)."""
    if table == "fibre_routes" and (new or not _same(start.get("geom"), parsed.get("geom"))
                                    or not _same(start.get("method"), parsed.get("method"))):
        relink_routes(s, [uuid], {uuid: None if new else start.get("geom")})
    elif table == "poles":
        def at(values):
            return None if values.get("lat") is None else (float(values["lon"]), float(values["lat"]))
        old_at, new_at = (None if new else at(start)), at(parsed)
        if old_at != new_at:
            pole_written(s, t, uuid, old_at, new_at)


def _prepare_photos(db: Database, photos: PhotoEdits | None) -> list[photo_files.PreparedPhoto]:
    if not photos or not photos.add:
        return []
    if db.path is None:
        raise InvalidInputError("cơ sở dữ liệu máy chủ chưa lưu ảnh / photos are not kept on a server")
    prepared: list[photo_files.PreparedPhoto] = []
    try:
        for path in photos.add:
            prepared.append(photo_files.prepare_photo(db.path, path))
    except BaseException:
        _discard(prepared)
        raise
    return prepared


def _write_photos(s: Session, t: _Tracker, table: str, uuid: str, photos: PhotoEdits,
                  prepared: list[photo_files.PreparedPhoto]) -> bool:
    """The photo rows of a save, in its operation: removals are tombstones (the file stays, so
    undo brings it back), additions rows whose files move into place now."""
    wrote = False
    for photo_uuid in photos.remove:
        owner = s.execute(text("SELECT owner_table, owner_uuid FROM photos WHERE uuid = :u"),
                          {"u": photo_uuid}).first()
        if owner is None or tuple(owner) != (table, uuid):
            raise InvalidInputError(f"{photo_uuid}: ảnh không thuộc bản ghi này / the photo belongs to "
                                    "another record")
        wrote |= t.update("photos", photo_uuid, {"deleted": 1})
    for p in prepared:
        photo_files.add_prepared(s, p, table, uuid)
        wrote = True
    return wrote


def _discard(prepared: list[photo_files.PreparedPhoto]) -> None:
    for p in prepared:
        p.discard()
        p.final_path.unlink(missing_ok=True)


# -- deleting ----------------------------------------------------------------------------------

def delete_record(db: Database, table: str, uuid: str, *, user: str | None = None,
                  source: str | None = None) -> EditResult:
    """Tombstone a record (deleted = 1) and its live sub-list rows; nothing is ever hard-deleted."""
    if table not in EDITABLE:
        raise InvalidInputError(f"không xóa được bảng {table} / {table} cannot be deleted here")
    desc = f"Xóa {_record_name(table)} {_code(db, table, uuid)}".strip()
    with db.operation(desc, user=user, source=source) as s:
        t = _Tracker(s)
        if t.row(table, uuid) is None:
            raise InvalidInputError(f"không có bản ghi {uuid} / no such record")
        was = t.row(table, uuid)
        t.update(table, uuid, {"deleted": 1})
        if table == "poles" and not was["deleted"] and was["lat"] is not None:
            pole_written(s, t, uuid, (was["lon"], was["lat"]), None)  # its routes no longer hang on it
        child = CHILDREN.get(table)
        if child:
            pkey = load_forms()[child].parent["key"]
            for (cuuid,) in s.execute(text(f"SELECT uuid FROM {child} WHERE {pkey} = :p AND deleted = 0"),
                                      {"p": uuid}).all():
                t.update(child, cuuid, {"deleted": 1})
        operation_id = s.info["operation_id"]
    return edit_result(db, table, uuid, desc, operation_id)
