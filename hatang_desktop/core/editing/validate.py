"""Checking a form's values before anything is written: each field parsed against the form
(forms/*.yaml), then the rules over the whole record, every problem at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..exchange.records import to_wkt
from ..field_values import FieldError, parse_value
from ..forms import FieldDef, FormDef, load_forms
from ..geo.errors import CoordinateError
from .writes import POSITION_DECIMALS


class _Communes(Mapping):
    """The communes, code -> name, read as asked. A form sends a code, and looking one code up
    is an index read, where loading every commune of the country (3,300 among 58,000 villages
    in admin_units) cost 15 ms of each save; a name typed instead loads them all once."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._all: dict[str, str] | None = None

    def __getitem__(self, code: str) -> str:
        if self._all is not None:
            return self._all[code]
        name = self.s.execute(text("SELECT name FROM admin_units WHERE code = :c AND level = 'commune' "
                                   "AND deleted = 0"), {"c": code}).scalar()
        if name is None:
            raise KeyError(code)
        return name

    def __contains__(self, code) -> bool:
        try:
            self[code]
        except KeyError:
            return False
        return True

    def _load(self) -> dict[str, str]:
        if self._all is None:
            self._all = dict(self.s.execute(text(
                "SELECT code, name FROM admin_units WHERE level = 'commune' AND deleted = 0")).all())
        return self._all

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def items(self):
        return self._load().items()


def _communes(session: Session) -> Mapping:
    return _Communes(session)


def _raw_for(f: FieldDef, raw):
    if f.type == "technologies" and isinstance(raw, (list, tuple, set)):
        return "/".join(sorted(raw))
    if f.type == "geometry" and isinstance(raw, shapely.Geometry):
        return to_wkt(raw)
    if f.type == "date" and isinstance(raw, str) and len(raw) >= 10 and raw[4] == "-":
        return dt.date.fromisoformat(raw[:10])
    return raw


def validate(form: FormDef, raw: dict[str, Any], *, lists=None, communes: dict[str, str] | None = None,
             prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Parse a record's raw values (as typed, or as stored) against its form.

    Returns (values keyed like the exchange's columns: lat/lon for a position, WKT for a
    geometry, codes for choices) and the problems as (field key, message)."""
    lists = lists if lists is not None else load_forms().lists
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    bad: set[str] = set()
    for f in form.fields:
        if f.type == "position":
            pos = raw.get(f.key)
            lat_raw, lon_raw = (pos if isinstance(pos, (tuple, list)) else (raw.get("lat"), raw.get("lon")))
            try:
                lat = parse_value(f, lat_raw, lists=lists, column="lat")
                lon = parse_value(f, lon_raw, lists=lists, column="lon")
                if (lat is None) != (lon is None):
                    raise FieldError("cần cả vĩ độ và kinh độ", "both latitude and longitude are needed")
                # Inside Vietnam: form.problems below, the rule every import applies too.
            except (FieldError, CoordinateError) as exc:
                problems.append((prefix + f.key, exc.text))
                bad.add(f.key)
                lat = lon = None
            values["lat"], values["lon"] = lat, lon
            continue
        try:
            value = parse_value(f, _raw_for(f, raw.get(f.key)), lists=lists, communes=communes)
        except FieldError as exc:
            problems.append((prefix + f.key, exc.text))
            bad.add(f.key)
            value = None
        if f.type == "geometry" and value is not None:
            value = to_wkt(value)
        values[f.key] = value
    for key, message in form.problems(values):
        if key not in bad:
            problems.append((prefix + key, message))
    return values, problems


def _keep_stored_position(start: dict[str, Any], parsed: dict[str, Any]) -> None:
    """A coordinate that reads the same at the form's 7 decimals (about 1 cm) as the stored one
    is the stored one: the form shows a rounded position and sends it back with every save, and
    that must not rewrite it, log "105,8889539 → 105,8889539" or send it in the next workbook."""
    for k in ("lat", "lon"):
        old, new = start.get(k), parsed.get(k)
        if old is not None and new is not None and \
                f"{float(old):.{POSITION_DECIMALS}f}" == f"{float(new):.{POSITION_DECIMALS}f}":
            parsed[k] = old


def defaults(form: FormDef) -> dict[str, Any]:
    """A new record's starting values: each field's default from the form (None elsewhere)."""
    out: dict[str, Any] = {}
    for f in form.fields:
        if f.type == "position":
            out["lat"] = out["lon"] = None
        else:
            out[f.key] = f.default
    return out
