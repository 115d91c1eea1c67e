"""The sample database: a real province's communes with a synthetic telecom survey.

Deterministic for a seed (same seed, same rows, same UUIDs) and fast enough at national scale
(`sites=120000`) for the benchmarks: rows go in through plain executemany in one transaction,
where the triggers index and log them exactly as they would an edit.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from ..admin_units import communes as communes_of, find_province, provinces
from ..geo.geodesy import geodesic_area_m2, geodesic_length_m
from ..errors import InvalidInputError
from ..storage.database import Database, _connect
from . import geography, network

DEFAULT_SITES = 3600  # Hà Tĩnh's plan counts 3,600 BTS (50 with 5G, 26 in zones)
DEFAULT_SEED = 2025
DEFAULT_PROVINCE = "42"
SAMPLE_USER = "Dữ liệu mẫu"
SAMPLE_TIME = "2025-10-01 08:00:00.000000"
SYNTHETIC_NOTE = ("Dữ liệu mẫu: mã, tên và tâm xã là thật (danh mục 2025); vị trí trạm, cột, tuyến "
                  "cáp, thôn, ranh giới và khu công nghiệp là giả lập / Sample data: commune codes, "
                  "names and centres are real; all positions, villages, boundaries and zone "
                  "outlines are synthetic")

Progress = Callable[[str, float], None]


@dataclass
class SampleCounts:
    sites: int
    site_tenants: int
    poles: int
    pole_attachments: int
    fibre_routes: int
    route_vertices: int
    zones: int
    villages: int
    findings: int


def generate_sample(path: str | Path, *, sites: int = DEFAULT_SITES, seed: int = DEFAULT_SEED,
                    province: str = DEFAULT_PROVINCE, overwrite: bool = False,
                    progress: Progress | None = None) -> SampleCounts:
    """Create a sample database at `path`. `province` is a code, a name, or "all" (national)."""
    if sites < 1:
        raise InvalidInputError(f"số trạm phải ít nhất là 1 (nhận {sites}) / --sites must be >= 1")
    report = progress or (lambda _stage, _fraction: None)
    chosen = list(provinces()) if province == "all" else [find_province(province)]
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    ids = network.Ids(random.Random(seed ^ 0x5EED))

    report("geography", 0.05)
    geos = [geography.commune_cells(p, communes_of(p.code), rng) for p in chosen]
    villages = [v for g in geos for v in geography.villages(g, rng, nrng)]
    zones = [z for g in geos for z in geography.zones(g, rng)]
    report("sites", 0.2)
    site_recs = network.sites(geos, zones, sites, rng, nrng, ids)
    report("routes", 0.4)
    routes, poles = network.routes_and_poles(geos, villages, site_recs, sites, rng, ids)

    report("writing", 0.6)
    target = Path(path)
    if target.exists() and not overwrite:
        Database.create(target)  # raises the standard "file exists, use --force" error
    # Build beside the target and move it into place at the end: durability of each page does
    # not matter until the whole file is complete, so fsyncs are off and the page cache is large
    # (random UUID keys make index inserts cache-bound).
    building = target.with_name(f".{target.name}.building")
    Database.create(building, overwrite=True).close()
    conn = _connect(building, readonly=False)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    try:
        conn.execute("BEGIN IMMEDIATE")
        source = f"sample:seed={seed}"
        conn.execute('INSERT INTO operations(started_at, "user", source, description) VALUES (?, ?, ?, ?)',
                     (SAMPLE_TIME, SAMPLE_USER, source, "Tạo cơ sở dữ liệu mẫu / sample database"))
        w = _Writer(conn, ids, source)
        w.admin_units(geos, villages)
        w.sites(site_recs)
        w.poles(poles)
        w.routes(routes)
        w.zones(zones)
        findings = w.findings(poles, rng)
        scope = "national" if province == "all" else "province"
        meta = {
            "database_id": str(uuidlib.UUID(int=random.Random(seed).getrandbits(128), version=4)),
            "created_at": "2025-10-01T08:00:00Z",  # fixed: same seed, same bytes of content
            "scope": scope,
            "province_code": "VN" if scope == "national" else chosen[0].code,
            "province_name": "Việt Nam (toàn quốc)" if scope == "national" else chosen[0].name,
            "sample": json.dumps({"seed": seed, "sites": sites, "province": province}),
            "sample_note": SYNTHETIC_NOTE,
        }
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                         "SET value = excluded.value", meta.items())
        conn.execute("COMMIT")
        conn.close()
        conn = sqlite3.connect(building)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        building.replace(target)
    except BaseException:
        conn.close()
        building.unlink(missing_ok=True)
        raise
    finally:
        for suffix in ("-wal", "-shm"):
            Path(str(building) + suffix).unlink(missing_ok=True)
    report("done", 1.0)
    return SampleCounts(
        sites=len(site_recs), site_tenants=sum(len(s.tenants) for s in site_recs), poles=len(poles),
        pole_attachments=sum(len(p.attachments) for p in poles), fibre_routes=len(routes),
        route_vertices=sum(len(r.line.coords) for r in routes), zones=len(zones),
        villages=len(villages), findings=findings)


class _Writer:
    SYNC = "uuid, version, updated_at, updated_by, source, deleted"

    def __init__(self, conn: sqlite3.Connection, ids: network.Ids, source: str):
        self.conn, self.ids, self.source = conn, ids, source

    def _sync(self, uuid: str) -> tuple:
        return (uuid, 1, SAMPLE_TIME, SAMPLE_USER, self.source, 0)

    def _insert(self, table: str, columns: str, rows: list[tuple]) -> None:
        n = len(self.SYNC.split(",")) + len(columns.split(","))
        self.conn.executemany(
            f"INSERT INTO {table}({self.SYNC}, {columns}) VALUES ({', '.join('?' * n)})", rows)

    def admin_units(self, geos: list[geography.ProvinceGeo], villages) -> None:
        cols = ("code, name, level, unit_type, parent_code, centre_lat, centre_lon, boundary, "
                "min_lon, min_lat, max_lon, max_lat, boundary_synthetic, area_type, population, "
                "households, has_power, mobile_broadband_surveyed, ftth_surveyed")
        rows = []
        pop_by_commune: dict[str, tuple[int, int]] = {}
        for v in villages:
            p, h = pop_by_commune.get(v.commune_code, (0, 0))
            pop_by_commune[v.commune_code] = (p + v.population, h + v.households)
        for g in geos:
            p = g.province
            rows.append(self._sync(self.ids()) + (
                p.code, p.name, "province", "Thành phố" if p.name.startswith("Thành phố") else "Tỉnh",
                None, p.centre_lat, p.centre_lon, shapely.to_wkb(g.boundary), *g.boundary.bounds, 1,
                None, sum(pop_by_commune.get(cg.commune.code, (0, 0))[0] for cg in g.communes),
                sum(pop_by_commune.get(cg.commune.code, (0, 0))[1] for cg in g.communes),
                None, None, None))
            for cg in g.communes:
                c = cg.commune
                pop, hh = pop_by_commune.get(c.code, (None, None))
                rows.append(self._sync(self.ids()) + (
                    c.code, c.name, "commune", c.unit_type, p.code, c.centre_lat, c.centre_lon,
                    shapely.to_wkb(cg.cell), *cg.cell.bounds, 1,
                    "urban" if c.unit_type == "Phường" else "rural", pop, hh, None, None, None))
        for v in villages:
            rows.append(self._sync(self.ids()) + (
                v.code, v.name, "village", v.unit_type, v.commune_code, v.lat, v.lon, None,
                None, None, None, None, 0, v.area_type, v.population, v.households, int(v.has_power),
                None if v.mobile_surveyed is None else int(v.mobile_surveyed),
                None if v.ftth_surveyed is None else int(v.ftth_surveyed)))
        self._insert("admin_units", cols, rows)

    def sites(self, recs: list[network.SiteRec]) -> None:
        self._insert("sites", "operator_code, site_code, name, address, commune_code, lat, lon, "
                     "tower_type, height_m, building_height_m, owner, permit_no, permit_date, "
                     "in_passive_plan, in_industrial_zone, status, note", [
                         self._sync(s.uuid) + (s.operator, s.code, s.name, s.address, s.commune,
                                               s.lat, s.lon, s.tower_type, s.height_m,
                                               s.building_height_m, s.owner, s.permit_no,
                                               s.permit_date, int(s.in_plan), int(s.in_zone),
                                               s.status, s.note) for s in recs])
        self._insert("site_tenants", "site_uuid, operator_code, has_2g, has_3g, has_4g, has_5g", [
            self._sync(tid) + (s.uuid, op, *map(int, techs))
            for s in recs for tid, op, techs in s.tenants])

    def poles(self, poles: list[network.PoleRec]) -> None:
        self._insert("poles", "code, owner_kind, owner_operator_code, material, height_m, lat, lon, "
                     "road, commune_code, carries_power", [
                         self._sync(p.uuid) + (p.code, p.owner_kind, p.owner_operator, p.material,
                                               p.height_m, p.lat, p.lon, p.road, p.commune,
                                               int(p.carries_power)) for p in poles])
        keys = ("operator", "cable_count", "cable_type", "lowest_height_m", "situation", "tagged",
                "condition", "in_insulating_tube", "has_height_sign", "wound_on_pole",
                "spare_cable_m", "box_count")
        self._insert("pole_attachments", "pole_uuid, operator_code, cable_count, cable_type, "
                     "lowest_height_m, situation, tagged, condition, in_insulating_tube, "
                     "has_height_sign, wound_on_pole, spare_cable_m, box_count", [
                         self._sync(a["uuid"]) + (p.uuid,) + tuple(
                             int(a[k]) if isinstance(a[k], bool) else a[k] for k in keys)
                         for p in poles for a in p.attachments])

    def routes(self, routes: list[network.RouteRec]) -> None:
        self._insert("fibre_routes", "code, operator_code, method, level, core_count, geom, "
                     "min_lon, min_lat, max_lon, max_lat, length_m, commune_code", [
                         self._sync(r.uuid) + (r.code, r.operator, r.method, r.level, r.cores,
                                               shapely.to_wkb(r.line), *r.line.bounds,
                                               geodesic_length_m(r.line), r.commune)
                         for r in routes])
        self.conn.executemany(
            "INSERT INTO fibre_route_poles(route_uuid, seq, pole_uuid) VALUES (?, ?, ?)",
            [(r.uuid, i, p) for r in routes for i, p in enumerate(r.pole_uuids)])

    def zones(self, zones: list[geography.ZoneGeo]) -> None:
        self._insert("zones", "code, name, kind, geom, min_lon, min_lat, max_lon, max_lat, area_m2, "
                     "commune_code, note", [
                         self._sync(self.ids()) + (z.code, z.name, z.kind, shapely.to_wkb(z.polygon),
                                                   *z.polygon.bounds, geodesic_area_m2(z.polygon),
                                                   z.commune_code, "Ranh giới giả lập (dữ liệu mẫu)")
                         for z in zones])

    def findings(self, poles: list[network.PoleRec], rng: random.Random) -> int:
        """A few manual findings an inspector recorded on the street."""
        tangled = [p for p in poles if any(a["condition"] == "tangled" for a in p.attachments)]
        picked = rng.sample(tangled, min(len(tangled), 8))
        statuses = ("open", "open", "open", "confirmed", "confirmed", "resolved", "dismissed", "open")
        rows = [self._sync(self.ids()) + (
            None, "poles", p.uuid, "violation", statuses[i % len(statuses)], "Thanh tra Sở (mẫu)",
            "2025-09-15", "Cáp treo rối, chưa bó gọn trên cột", p.lat, p.lon, p.commune)
            for i, p in enumerate(picked)]
        self._insert("findings", "rule_id, target_table, target_uuid, severity, status, inspector, "
                     "found_on, note, lat, lon, commune_code", rows)
        return len(rows)
