"""Reading what the indicators need from a database into numpy arrays, read-only.

Works on any schema version from 1 (the department's figures table appeared in 4; without it
there are simply no figures), through a plain sqlite3 connection opened with mode=ro so a
report never upgrades or locks the file it reads (`connect_readonly`), or through a server
session's `dialect.raw`. Aggregations that need no geometry (poles, fibre lengths) are done by
the database's GROUP BY and come back as a few rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from ..operators import OPERATORS
from ..storage.dialect import SQLITE, has_table, raw, schema_version
from ..storage.files import OpenFile, check_database_file, readonly_uri
from .catalogue import METHODS, TECHNOLOGIES

FIGURES_TABLE = "indicator_figures"


class _MarkedConnection(sqlite3.Connection):
    """A connection that keeps its file marked open in this process (storage/files.py) until it
    is closed, so nothing here reads the file's bytes meanwhile and drops its locks."""

    _open_mark: OpenFile | None = None

    def close(self) -> None:
        super().close()
        if self._open_mark is not None:
            self._open_mark.release()  # after the connection's own descriptors are closed

    def __del__(self) -> None:
        if self._open_mark is not None:  # set once connected: a failed connect has nothing to close
            self.close()


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    check_database_file(path)  # not found / not ours / too new: a clear message naming the file
    mark = OpenFile(path)
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True, check_same_thread=False,
                               factory=_MarkedConnection)
    except BaseException:
        mark.release()
        raise
    conn._open_mark = mark
    conn.execute("PRAGMA query_only = ON")  # sqlite-only: a connection to a SQLite file
    return conn


def _cols(rows: list[tuple], n: int) -> list[list]:
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(n)]


def _f(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _flag(values) -> np.ndarray:
    """0/1/None -> int8 0/1/-1 (unknown)."""
    return np.array([-1 if v is None else int(v) for v in values], dtype=np.int8)


@dataclass
class Communes:
    code: np.ndarray  # str objects; index n (one past the end) is "no commune"
    name: np.ndarray
    province: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    area_type: np.ndarray  # str or None
    population: np.ndarray  # float, nan unknown

    def __len__(self) -> int:
        return len(self.code)

    def index_of(self, codes) -> np.ndarray:
        lookup = {c: i for i, c in enumerate(self.code)}
        n = len(self.code)
        return np.fromiter((lookup.get(c, n) for c in codes), dtype=np.int64, count=len(codes))


@dataclass
class Villages:
    uuid: np.ndarray
    code: np.ndarray
    name: np.ndarray
    commune: np.ndarray  # commune index, len(communes) when unknown
    lat: np.ndarray
    lon: np.ndarray
    area_type: np.ndarray  # resolved: own, else commune's, else None (model default)
    population: np.ndarray
    has_power: np.ndarray  # int8 -1/0/1
    mobile_surveyed: np.ndarray
    ftth_surveyed: np.ndarray

    def __len__(self) -> int:
        return len(self.uuid)


@dataclass
class Sites:
    """Operating, live sites and their live tenants."""
    uuid: np.ndarray
    code: np.ndarray
    name: np.ndarray
    operator: np.ndarray  # owner operator code
    commune: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    n_operators: np.ndarray  # distinct operators among live tenants
    tech: np.ndarray  # bool [n, 4]: any tenant has 2G/3G/4G/5G
    tenant_site: np.ndarray  # per tenant: site index
    tenant_operator: np.ndarray  # per tenant: operator index into `operators`
    tenant_tech: np.ndarray  # bool [n_tenants, 4]

    def __len__(self) -> int:
        return len(self.uuid)


@dataclass
class Zones:
    code: np.ndarray
    name: np.ndarray
    kind: np.ndarray
    commune: np.ndarray
    geom: np.ndarray  # shapely polygons

    def __len__(self) -> int:
        return len(self.code)


@dataclass
class Dataset:
    province_code: str
    province_name: str
    provinces: dict[str, str]
    operators: list[str]
    operator_names: dict[str, str]
    communes: Communes
    villages: Villages
    sites: Sites
    zones: Zones
    # (commune index, distinct operators on the pole, number of poles): SQLite's GROUP BY
    pole_groups: np.ndarray
    # (commune index, operator index, method index, metres)
    fibre_groups: np.ndarray
    access_routes: np.ndarray  # shapely lines of live access routes (for FTTH)
    figures: list[tuple[str, int, str, float]]  # (unit code, year, indicator, value)
    schema_version: int


def _meta(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def _operator_codes(conn) -> list[str]:
    """The operators in the order they were added (SQLite's rowid); the server has no such order,
    so there the app's own list comes first, then the others by code."""
    if conn.dialect == SQLITE:
        return [r[0] for r in conn.execute("SELECT code FROM operators ORDER BY rowid")]
    known = {op.code: i for i, op in enumerate(OPERATORS)}
    codes = [r[0] for r in conn.execute("SELECT code FROM operators")]
    return sorted(codes, key=lambda c: (known.get(c, len(known)), c))


def load_dataset(conn) -> Dataset:
    """Everything the indicators read, from a sqlite3 connection (`connect_readonly`) or anything
    `dialect.raw` takes."""
    conn = raw(conn)
    meta = _meta(conn)
    operators = _operator_codes(conn)
    operator_names = dict(conn.execute("SELECT code, name FROM operators").fetchall())
    op_index = {c: i for i, c in enumerate(operators)}
    provinces = dict(conn.execute(
        "SELECT code, name FROM admin_units WHERE level = 'province' AND deleted = 0 ORDER BY code").fetchall())

    rows = conn.execute(
        "SELECT code, name, parent_code, centre_lat, centre_lon, area_type, population FROM admin_units "
        "WHERE level = 'commune' AND deleted = 0 ORDER BY code").fetchall()
    c = _cols(rows, 7)
    communes = Communes(np.array(c[0], dtype=object), np.array(c[1], dtype=object), np.array(c[2], dtype=object),
                        _f(c[3]), _f(c[4]), np.array(c[5], dtype=object), _f(c[6]))
    n = len(communes)

    rows = conn.execute(
        "SELECT uuid, code, name, parent_code, centre_lat, centre_lon, area_type, population, has_power, "
        "mobile_broadband_surveyed, ftth_surveyed FROM admin_units "
        "WHERE level = 'village' AND deleted = 0 AND centre_lat IS NOT NULL ORDER BY id").fetchall()
    v = _cols(rows, 11)
    v_commune = communes.index_of(v[3])
    area = np.array(v[6], dtype=object)
    commune_area = np.append(communes.area_type, None)[v_commune]
    area = np.where(area == None, commune_area, area)  # noqa: E711 (elementwise on objects)
    villages = Villages(np.array(v[0], dtype=object), np.array(v[1], dtype=object), np.array(v[2], dtype=object),
                        v_commune, _f(v[4]), _f(v[5]), area, _f(v[7]), _flag(v[8]), _flag(v[9]), _flag(v[10]))

    rows = conn.execute(
        "SELECT id, uuid, site_code, name, operator_code, commune_code, lat, lon FROM sites "
        "WHERE deleted = 0 AND status = 'operating' ORDER BY id").fetchall()
    s = _cols(rows, 8)
    site_ids = np.array(s[0], dtype=np.int64)
    # Joins on uuid cost a random B-tree search per row (2.5 s for the national poles); reading
    # both tables in their own order and matching through a dict is linear.
    site_of = {u: i for i, u in enumerate(s[1])}
    trows = conn.execute(
        "SELECT site_uuid, operator_code, has_2g, has_3g, has_4g, has_5g FROM site_tenants "
        "WHERE deleted = 0").fetchall()
    t = _cols(trows, 6)
    t_all = np.fromiter((site_of.get(u, -1) for u in t[0]), dtype=np.int64, count=len(t[0]))
    keep = t_all >= 0  # tenants of planned, dismantled or deleted sites drop out here
    t = [list(np.array(col, dtype=object)[keep]) for col in t]
    t_site = t_all[keep]
    t_op = np.fromiter((op_index[o] for o in t[1]), dtype=np.int64, count=len(t[1]))
    t_tech = np.array(t[2:6], dtype=bool).T.reshape(-1, 4)
    n_sites = len(site_ids)
    # Distinct operators per site: (site, operator) pairs are unique among live tenants (a partial
    # unique index), but count distinct pairs anyway so a duplicated row cannot inflate sharing.
    pairs = np.unique(t_site * max(len(operators), 1) + t_op)
    n_ops = np.bincount(pairs // max(len(operators), 1), minlength=n_sites) if n_sites else np.zeros(0, np.int64)
    tech = np.zeros((n_sites, 4), dtype=bool)
    for k in range(4):  # four technologies, not a loop over records
        tech[:, k] = np.bincount(t_site, weights=t_tech[:, k], minlength=n_sites) > 0 if n_sites else False
    sites = Sites(np.array(s[1], dtype=object), np.array(s[2], dtype=object), np.array(s[3], dtype=object),
                  np.array(s[4], dtype=object), communes.index_of(s[5]), _f(s[6]), _f(s[7]), n_ops, tech,
                  t_site, t_op, t_tech)

    rows = conn.execute(
        "SELECT code, name, kind, commune_code, geom FROM zones WHERE deleted = 0 "
        "AND kind IN ('economic_zone', 'industrial_park', 'industrial_cluster') ORDER BY id").fetchall()
    z = _cols(rows, 5)
    zones = Zones(np.array(z[0], dtype=object), np.array(z[1], dtype=object), np.array(z[2], dtype=object),
                  communes.index_of(z[3]), shapely.from_wkb(np.array(z[4], dtype=object)) if rows
                  else np.zeros(0, dtype=object))

    # Operators per pole: (pole, operator) is unique among live attachments (partial unique index).
    per_pole = dict(conn.execute(
        "SELECT pole_uuid, count(*) FROM pole_attachments WHERE deleted = 0 GROUP BY pole_uuid").fetchall())
    prow = conn.execute("SELECT uuid, commune_code FROM poles WHERE deleted = 0").fetchall()
    p_ops = np.fromiter((per_pole.get(r[0], 0) for r in prow), dtype=np.int64, count=len(prow))
    p_commune = communes.index_of([r[1] for r in prow])
    if len(prow):
        width = int(p_ops.max()) + 1
        counts = np.bincount(p_commune * width + p_ops)
        keys = np.flatnonzero(counts)
        pole_groups = np.column_stack([keys // width, keys % width, counts[keys]])
    else:
        pole_groups = np.zeros((0, 3), np.int64)

    rows = conn.execute(
        "SELECT commune_code, operator_code, method, sum(length_m) FROM fibre_routes WHERE deleted = 0 "
        "GROUP BY commune_code, operator_code, method").fetchall()
    fc = _cols(rows, 4)
    method_index = {m: i for i, m in enumerate(METHODS)}
    fibre_groups = np.column_stack([
        communes.index_of(fc[0]).astype(float),
        np.array([op_index[o] for o in fc[1]], dtype=float),
        np.array([method_index[m] for m in fc[2]], dtype=float),
        np.array(fc[3], dtype=float)]) if rows else np.zeros((0, 4))

    wkbs = [r[0] for r in conn.execute(
        "SELECT geom FROM fibre_routes WHERE deleted = 0 AND level = 'access'")]
    access_routes = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.zeros(0, dtype=object)

    figures = []
    if has_table(conn, FIGURES_TABLE):
        figures = [(r[0], int(r[1]), r[2], float(r[3])) for r in conn.execute(
            f"SELECT unit_code, year, indicator, value FROM {FIGURES_TABLE} WHERE deleted = 0")]

    province_code = meta.get("province_code") or (next(iter(provinces)) if len(provinces) == 1 else "")
    province_name = meta.get("province_name") or provinces.get(province_code, "")
    version = schema_version(conn)
    return Dataset(province_code, province_name, provinces, operators, operator_names, communes, villages,
                   sites, zones, pole_groups, fibre_groups, access_routes, figures, version)


__all__ = ["Dataset", "load_dataset", "connect_readonly", "TECHNOLOGIES"]
