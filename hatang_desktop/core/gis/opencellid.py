"""Cell lists in the OpenCelliD CSV layout: one row per site x operator x technology.

Columns (https://wiki.opencellid.org/wiki/Menu_map_view#Database): radio, mcc, net, area, cell,
unit, lon, lat, range, samples, changeable, created, updated, averageSignal.

Mobile network codes under MCC 452 come from core/operators.py: 01 MobiFone, 02 VinaPhone (VNPT),
04 and 06 Viettel, 05 Vietnamobile, 07 Gmobile (Gtel), 08 I-Telecom, 09 Reddi. Checked against
public lists: the npm package "vietnam-mobile-providers" (VinaPhone mcc 452 mnc 02) and the
Wikipedia "Mobile country code" table that the "mcc-mnc-list" package is generated from.

A survey has no cell identities: `area` carries the commune code (as a LAC-like integer) and
`cell` the site's row number in the exporting database; `range` is a nominal radius per
technology, not a measurement; `changeable` is 0 because surveyed positions are exact.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyogrio
from sqlalchemy import text

from ..operators import BY_CODE, MCC_VIETNAM, operator_for_mnc

COLUMNS = ("radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range", "samples",
           "changeable", "created", "updated", "averageSignal")
RADIO = {"2G": "GSM", "3G": "UMTS", "4G": "LTE", "5G": "NR"}
TECH_OF_RADIO = {"GSM": "2G", "UMTS": "3G", "CDMA": "3G", "LTE": "4G", "NR": "5G"}
NOMINAL_RANGE_M = {"2G": 3000, "3G": 2000, "4G": 1500, "5G": 500}
TECHS = ("2G", "3G", "4G", "5G")


def is_opencellid(columns) -> bool:
    names = {str(c).strip().lower() for c in columns}
    return {"radio", "mcc", "net", "cell", "lon", "lat"} <= names


def rows(db, commune: str | None = None) -> list[dict]:
    sql = ("SELECT s.id, s.lat, s.lon, s.commune_code, s.operator_code AS owner, s.updated_at, "
           "t.operator_code, t.has_2g, t.has_3g, t.has_4g, t.has_5g "
           "FROM sites s JOIN site_tenants t ON t.site_uuid = s.uuid AND t.deleted = 0 "
           "WHERE s.deleted = 0" + (" AND s.commune_code = :c" if commune else "") +
           " ORDER BY s.id, t.operator_code != s.operator_code, t.id")
    out = []
    with db.session() as s:
        for r in s.execute(text(sql), {"c": commune}):
            op = BY_CODE.get(r.operator_code)
            if op is None or not op.mncs:
                continue  # no mobile network code: not a cell OpenCelliD can hold
            stamp = _epoch(r.updated_at)
            for tech, on in zip(TECHS, (r.has_2g, r.has_3g, r.has_4g, r.has_5g)):
                if on:
                    out.append({"radio": RADIO[tech], "mcc": MCC_VIETNAM, "net": op.mncs[0],
                                "area": int(r.commune_code) if (r.commune_code or "").isdigit() else 0,
                                "cell": int(r.id), "unit": None, "lon": float(r.lon), "lat": float(r.lat),
                                "range": NOMINAL_RANGE_M[tech], "samples": 1, "changeable": 0,
                                "created": stamp, "updated": stamp, "averageSignal": 0})
    return out


def _epoch(value) -> int:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return 0
    if not isinstance(value, dt.datetime):
        return 0
    return int(value.replace(tzinfo=dt.UTC).timestamp())


def export_csv(db, out: Path, *, commune: str | None = None, forms=None) -> int:
    if commune is not None:
        commune = commune.zfill(5) if commune.isdigit() else commune
        with db.session() as s:
            if s.execute(text("SELECT 1 FROM admin_units WHERE code = :c AND level = 'commune'"),
                         {"c": commune}).scalar() is None:
                from ..errors import InvalidInputError
                raise InvalidInputError(f"không có xã/phường mã '{commune}' trong cơ sở dữ liệu này / "
                                        f"no commune '{commune}' in this database")
    data = rows(db, commune)
    frame = pd.DataFrame(data, columns=list(COLUMNS))
    for c in ("mcc", "net", "area", "cell", "range", "samples", "changeable", "created", "updated",
              "averageSignal"):
        frame[c] = frame[c].astype("int64")
    frame["unit"] = frame["unit"].astype("Int64")
    out.unlink(missing_ok=True)
    # GDAL's CSV driver writes the file; 15 significant digits keep positions to ~1e-9 degrees.
    pyogrio.write_dataframe(frame, out, driver="CSV")
    return len(frame)


def sites_from_cells(frame: pd.DataFrame) -> tuple[list[dict], list[tuple[int, str]]]:
    """Group cell rows by position into sites with tenants (operator -> technologies).

    Returns the sites (lat, lon, operator, area, cell, tenants, rows) and (row number, message)
    problems for rows that cannot be read (another country's MCC, an unknown network code)."""
    cols = {str(c).strip().lower(): c for c in frame.columns}
    problems: list[tuple[int, str]] = []
    sites: dict[tuple[float, float], dict] = {}
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        get = lambda k: getattr(row, cols[k]) if k in cols else None  # noqa: E731
        try:
            mcc, net = int(float(get("mcc"))), int(float(get("net")))
            lat, lon = float(get("lat")), float(get("lon"))
        except (TypeError, ValueError):
            problems.append((i, "mcc, net, lat hoặc lon không phải số / mcc, net, lat or lon is not a number"))
            continue
        if mcc != MCC_VIETNAM:
            problems.append((i, f"MCC {mcc} không phải của Việt Nam ({MCC_VIETNAM}) / not Vietnam's MCC"))
            continue
        op = operator_for_mnc(net)
        if op is None:
            problems.append((i, f"mã mạng MNC {net:02d} không thuộc doanh nghiệp nào đã biết / unknown MNC"))
            continue
        tech = TECH_OF_RADIO.get(str(get("radio") or "").strip().upper())
        if tech is None:
            problems.append((i, f"radio '{get('radio')}' không phải GSM/UMTS/LTE/NR / unknown radio"))
            continue
        key = (round(lat, 7), round(lon, 7))
        site = sites.setdefault(key, {"lat": lat, "lon": lon, "operator": op, "net": net,
                                      "area": get("area"), "cell": get("cell"), "tenants": {}, "rows": []})
        site["tenants"].setdefault(op, set()).add(tech)
        site["rows"].append(i)
    return list(sites.values()), problems
