"""The export's data rows, read column by column with plain driver cursors (dialect.raw).

This is the export's hot path (hundreds of thousands of records on national data). Instead of
building a RecordState per record and turning each value into a cell with per-cell lookups, it
fetches a sheet's rows as tuples, transposes them, and converts each column once with a
converter chosen from the field type. The result is cell for cell what `from_db` +
`display_value` give (tests compare the two), and the `_base` fingerprints are exactly
`state_hash` and `exported_fingerprint` of those values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import repeat
import shapely

from .. import schema
from ..storage.dialect import SQLITE, dialect_of, excel_serial, iso_seconds
from ..forms import TECH_COLUMNS, Forms
from .layout import SheetSpec, commune_label, operator_label
from .records import (WHOLE_TABLE_ABOVE, WKT_DECIMALS, StateHasher, db_columns, parent_code_join,
                      scope_where)
from .row_fingerprint import _TAG, MAX_CELL_CHARS, TOO_LONG_MARKER, fingerprints


@dataclass
class SheetRows:
    columns: list[list]              # the cells, a list per column in the sheet's order
    base_rows: list[str]             # the `layout.BASE_FIELDS` cell of each record

    @property
    def rows(self) -> list[tuple]:
        """The cells, one tuple per record."""
        return list(zip(*self.columns))


NUMBER_TYPES = {"decimal", "integer", "position"}


def _fetch(conn, form, commune: str | None, **options) -> tuple[list[str], list[tuple]]:
    """The rows of `select_sql` (`options` as there)."""
    names, sql, params = select_sql(dialect_of(conn), form, commune, **options)
    return names, conn.execute(sql, params).fetchall()


def select_sql(dialect: str, form, commune: str | None, *, live_only: bool = False, excel_times: bool = True,
               columns: list[str] | None = None, bare: bool = False, parent: bool = True
               ) -> tuple[list[str], str, tuple]:
    """(column names, SELECT, parameters) reading a record type's rows in id order.
    `columns`: only these of the form's table columns (default: all of them). `bare` (with
    `live_only`): those columns alone, of live records whatever their parent (no join).
    `parent=False` (with `live_only`): no parent code, live records whatever their parent."""
    cols = columns if columns is not None else db_columns(form)
    join, parent = ("", "NULL") if bare or not parent else parent_code_join(form.record)
    where, params = scope_where(form.record, commune)
    if live_only:
        # A GIS file holds live records only, and a child only under a live parent.
        live = "t.deleted = 0" + (" AND p.deleted = 0" if join else "")
        where = f"{where} AND {live}" if where else f" WHERE {live}"
    # "Updated at" leaves the database ready for the cell: an Excel serial (days since 1899-12-30) and
    # the ISO text the fingerprint wants, both to the second (a cell shows minutes; microseconds
    # would not come back exactly through a day fraction). Per value in Python, this one column
    # cost a seventh of the export. Without `excel_times`: the stored text (updated_at).
    times = ([(excel_serial(dialect, "t.updated_at"), "updated_serial"),
              (iso_seconds(dialect, "t.updated_at"), "updated_iso")] if excel_times else [("t.updated_at", "updated_at")])
    # Live records only: no "deleted" column, and no parent code where there is no parent (a
    # value per row each, fetched for nothing).
    selected = [("t.uuid", "uuid"), ("t.version", "version")] + ([] if live_only else [("t.deleted", "deleted")])
    selected += times + ([(parent, "parent_code")] if join or not live_only else [])
    selected = ([] if bare and live_only else selected) + [(f"t.{c}", c) for c in cols]
    sql = (f"SELECT {', '.join(e if e == f't.{n}' else f'{e} AS {n}' for e, n in selected)} "
           f"FROM {form.record} t{join}{where} ORDER BY t.id")
    return [n for _e, n in selected], sql, params


def read_columns(conn, form, commune: str | None, **options) -> dict[str, tuple]:
    """A record type's table as columns (name -> values in row order), in one query: the
    columns of `_fetch` (`options` as there)."""
    names, fetched = _fetch(conn, form, commune, **options)
    return dict(zip(names, list(zip(*fetched)) or [()] * len(names)))


def _wkt_column(blobs: tuple) -> list:
    """WKB blobs to WKT as `to_wkt(from_wkb(...))` gives, vectorised over the column."""
    present = [i for i, b in enumerate(blobs) if b is not None]
    out: list = [None] * len(blobs)
    if present:
        geoms = shapely.from_wkb([blobs[i] for i in present])
        for i, w in zip(present, shapely.to_wkt(geoms, rounding_precision=WKT_DECIMALS, trim=True)):
            out[i] = str(w)
    return out


def _stored_values(form, by_name: dict[str, tuple]) -> dict[str, list]:
    """Field key -> values as `records.from_db` returns them."""
    values: dict[str, list] = {}
    for f in form.fields:
        if f.type == "position":
            values["lat"], values["lon"] = list(by_name["lat"]), list(by_name["lon"])
        elif f.type == "technologies":
            flags = [by_name[c] for c in TECH_COLUMNS.values()]
            techs = tuple(TECH_COLUMNS)
            values[f.key] = [tuple(t for t, on in zip(techs, row) if on) for row in zip(*flags)]
        elif f.type == "geometry":
            values[f.key] = _wkt_column(by_name[f.key])
        elif f.type == "boolean":
            values[f.key] = [None if v is None else bool(v) for v in by_name[f.key]]
        elif f.type == "date":
            values[f.key] = [dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v for v in by_name[f.key]]
        else:
            values[f.key] = list(by_name[f.key])
    return values


def _display_column(c, stored: list, forms: Forms, communes: dict[str, str], lang: str = "vi") -> list:
    """`layout.display_value` over a whole column of a field (in `lang`)."""
    f = c.field
    kind = f.type
    if kind == "choice":
        vl = forms.lists[f.values]
        labels = {ch.code: ch.label(lang) for ch in reversed(vl.choices)}  # the first choice of a code wins
        return _by_value(stored, lambda v: labels.get(v, v))
    if kind == "operator":
        return _by_value(stored, operator_label)
    if kind == "boolean":
        yes, no = schema.yes_no(True, lang), schema.yes_no(False, lang)
        return _by_value(stored, lambda v: yes if v else no)
    if kind == "commune":
        return _by_value(stored, lambda v: commune_label(v, communes))
    if kind == "technologies":
        return [None if v is None else "/".join(v) for v in stored]
    if kind == "geometry":
        return [None if v is None else (v.wkt if hasattr(v, "wkt") else v) for v in stored]
    if kind == "date":
        return [None if v is None else (dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v)
                for v in stored]
    return stored


def _by_value(stored: list, label) -> list:
    """[label(v) for v in stored], None kept, with one call per distinct value: a column of
    codes holds a handful of them. (A column mixing types, where 1, 1.0 and True would meet in
    one key, is labelled cell by cell.)"""
    types = set(map(type, stored))
    types.discard(type(None))
    if len(types) > 1:
        return [None if v is None else label(v) for v in stored]
    table = {v: label(v) for v in set(stored) if v is not None}
    table[None] = None
    return list(map(table.__getitem__, stored))


def _number_column(stored: list) -> tuple[list, list] | None:
    """For a column holding floats: the cells (`layout.excel_float`: 15 significant digits) and
    their fingerprint keys, from one formatting of each value (the 15-digit text is both the
    float's source and its key: coordinates make this the export's most frequent conversion)."""
    types = set(map(type, stored))
    if float not in types or not types <= {float, int, type(None)}:
        return None
    if types == {float}:   # no blank: formatted and keyed in C, no bytecode per value
        texts = list(map("%.15g".__mod__, stored))
        return list(map(float, texts)), list(map(_TAG.__add__, texts))
    texts = [None if v is None else f"{v:.15g}" for v in stored]
    return ([None if t is None else float(t) if type(v) is float else v for v, t in zip(stored, texts)],
            [None if t is None else _TAG + t for t in texts])


_TIMES_PER_QUERY = 400   # distinct stamps converted by one query (two parameters each, under SQLite's 999)


def _excel_times(conn, stamps: tuple) -> tuple[list, list]:
    """(Excel serials, ISO texts) of stored times, as `excel_serial` and `iso_seconds` give them in
    the SELECT, but computed once per distinct value by SQLite itself: an import stamps
    thousands of records with one time, and SQLite's date functions, run twice per row, were a
    twentieth of the export."""
    distinct = [v for v in set(stamps) if v is not None]
    found: dict = {None: (None, None)}
    for i in range(0, len(distinct), _TIMES_PER_QUERY):
        chunk = distinct[i:i + _TIMES_PER_QUERY]
        values = ", ".join(["(?)"] * len(chunk))
        found.update((r[0], (r[1], r[2])) for r in conn.execute(
            f"SELECT column1, {excel_serial(SQLITE, 'column1')}, {iso_seconds(SQLITE, 'column1')} "
            f"FROM (VALUES {values})", chunk).fetchall())
    pairs = list(map(found.__getitem__, stamps))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def export_sheet(conn, spec: SheetSpec, forms: Forms, communes: dict[str, str], commune: str | None,
                 received: dict[str, int]) -> SheetRows:
    if dialect_of(conn) == SQLITE:
        by_name = read_columns(conn, spec.form, commune, excel_times=False)
        by_name["updated_serial"], by_name["updated_iso"] = _excel_times(conn, by_name["updated_at"])
    else:
        by_name = read_columns(conn, spec.form, commune)
    uuids = by_name["uuid"]
    deleted = list(map(bool, by_name["deleted"]))
    stored = _stored_values(spec.form, by_name)
    columns: list[list] = []
    long_text = set()
    given_keys: dict[int, list] = {}
    for k, c in enumerate(spec.columns):
        if c.kind == "field":
            number = _number_column(stored[c.key]) if c.field.type in NUMBER_TYPES else None
            if number is not None:
                columns.append(number[0])
                given_keys[k] = number[1]
            else:
                columns.append(_display_column(c, stored[c.key], forms, communes, spec.lang))
            if c.field.type in ("geometry", "text"):
                long_text.add(k)
        elif c.kind == "deleted":
            columns.append(["x" if d else None for d in deleted])
        elif c.kind == "parent_code":
            columns.append(list(by_name["parent_code"]))
        elif c.key == "updated_at":
            given_keys[k] = _time_keys(by_name["updated_iso"])
            columns.append(list(by_name["updated_serial"]))
        else:
            columns.append(list(by_name[c.key]))
    for k in long_text:
        col = columns[k]
        # Text columns hold text and None: their longest value found without a call per cell.
        if set(map(type, col)) <= {str, type(None)}:
            too_long = max(map(len, filter(None, col)), default=0) > MAX_CELL_CHARS
        else:
            too_long = any(isinstance(v, str) and len(v) > MAX_CELL_CHARS for v in col)
        if too_long:
            columns[k] = [TOO_LONG_MARKER if isinstance(v, str) and len(v) > MAX_CELL_CHARS else v for v in col]
    row_hashes = fingerprints(columns, exported=True, keys=given_keys)
    state_hashes = StateHasher(list(stored)).hash_columns(stored, deleted)
    # uuid|version|received version|state hash|row fingerprint, formatted in C (`received` holds
    # no None: history.received_versions).
    base_rows = list(map("%s|%s|%s|%s|%s".__mod__,
                         zip(uuids, by_name["version"], map(received.get, uuids, repeat("")), state_hashes,
                             row_hashes)))
    return SheetRows(columns, base_rows)


_MIDNIGHT = "T00:00:00"


def _time_keys(iso: tuple) -> list:
    """The fingerprint keys of the "updated at" cells from their ISO text (to the second): the
    serial reads back as a datetime (its column has a date format), and one at midnight as a
    date. Midnight is rare: one search of the joined text finds whether any value needs a look."""
    if None not in iso and _MIDNIGHT not in "\n".join(iso):
        return list(map(_TAG.__add__, iso))
    return [None if v is None else _TAG + (v[:10] if v.endswith(_MIDNIGHT) else v) for v in iso]


def local_state_hashes(conn, form, uuids: list[str]) -> dict[str, str]:
    """`state_hash` of these records as this database holds them (uuid -> hash), computed a column
    at a time as the export does; a whole-table read when many are asked for."""
    cols = db_columns(form)
    select = ", ".join(f"t.{c}" for c in cols)
    sql = f"SELECT t.uuid, t.deleted, {select} FROM {form.record} t"
    fetched: list[tuple] = []
    if len(uuids) > WHOLE_TABLE_ABOVE:
        wanted = set(uuids)
        fetched = [r for r in conn.execute(sql).fetchall() if r[0] in wanted]
    else:
        for i in range(0, len(uuids), 900):   # SQLite's bound-parameter limit
            chunk = uuids[i:i + 900]
            fetched += conn.execute(f"{sql} WHERE t.uuid IN ({', '.join('?' * len(chunk))})", chunk).fetchall()
    if not fetched:
        return {}
    names = ["uuid", "deleted", *cols]
    by_name = dict(zip(names, zip(*fetched)))
    stored = _stored_values(form, by_name)
    hashes = StateHasher(list(stored)).hash_columns(stored, [bool(d) for d in by_name["deleted"]])
    return dict(zip(by_name["uuid"], hashes))
