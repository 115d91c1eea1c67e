"""Synthetic geography for the sample: commune cells, villages, zones around real centres.

Only the commune codes, names and centres are real (resources/admin_units). Boundaries are
Voronoi cells of the real centres, villages and zone outlines are invented: all flagged synthetic.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from ..admin_units import Commune, Province

KM_PER_DEG = 111.32


@dataclass
class CommuneGeo:
    commune: Commune
    centre: tuple[float, float]  # lon, lat
    cell: Polygon
    weight: float


@dataclass
class VillageGeo:
    code: str
    name: str
    unit_type: str
    commune_code: str
    lon: float
    lat: float
    population: int
    households: int
    has_power: bool
    mobile_surveyed: bool | None
    ftth_surveyed: bool | None
    area_type: str


@dataclass
class ZoneGeo:
    code: str
    name: str
    kind: str
    commune_code: str
    polygon: Polygon


@dataclass
class ProvinceGeo:
    province: Province
    communes: list[CommuneGeo] = field(default_factory=list)
    boundary: Polygon | None = None


def _deg(km: float, lat: float) -> tuple[float, float]:
    """(dlon, dlat) in degrees for a distance in km at a latitude."""
    return km / (KM_PER_DEG * math.cos(math.radians(lat))), km / KM_PER_DEG


def commune_cells(province: Province, communes: tuple[Commune, ...],
                  rng: random.Random) -> ProvinceGeo:
    """Voronoi cells of the commune centres, clipped to a disc sized by the commune's area."""
    placed = []
    for c in communes:
        if c.centre_lat is None:
            # 9 communes nationally have no trustworthy centre: put them near the province centre
            # so the sample stays whole; the real app leaves them off the map until corrected.
            lon = (province.centre_lon or 106.0) + rng.uniform(-0.05, 0.05)
            lat = (province.centre_lat or 16.0) + rng.uniform(-0.05, 0.05)
        else:
            lon, lat = c.centre_lon, c.centre_lat
        placed.append((c, lon, lat))
    points = MultiPoint([(lon, lat) for _, lon, lat in placed])
    hull = points.convex_hull.buffer(0.06)
    cells = shapely.voronoi_polygons(points, extend_to=hull.envelope.buffer(0.5))
    geo = ProvinceGeo(province)
    cell_list = list(cells.geoms)
    tree = shapely.STRtree(cell_list)
    for c, lon, lat in placed:
        idx = tree.query(Point(lon, lat), predicate="intersects")
        cell = cell_list[int(idx[0])] if len(idx) else Point(lon, lat).buffer(0.02)
        area = c.area_km2 or 30.0
        radius_km = max(3.0, 2.2 * math.sqrt(area / math.pi))
        dlon, dlat = _deg(radius_km, lat)
        disc = shapely.affinity.scale(Point(lon, lat).buffer(1.0, quad_segs=16), dlon, dlat)
        shape = cell.intersection(hull).intersection(disc)
        if shape.geom_type != "Polygon":
            shape = max(getattr(shape, "geoms", [shape]), key=lambda g: g.area)
        shape = shapely.set_precision(shape, 1e-6)
        weight = math.sqrt(area) * (3.0 if c.unit_type == "Phường" else 1.0)
        geo.communes.append(CommuneGeo(c, (lon, lat), shape, weight))
    geo.boundary = shapely.union_all([cg.cell for cg in geo.communes]).buffer(0)
    return geo


def random_points_in(polygon: Polygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniformly inside a polygon (rejection sampling in its envelope): shape (n, 2)."""
    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        k = max(16, int((n - len(out)) * 2.5))
        cand = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        inside = shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[inside]])
    return out[:n]


def villages(geo: ProvinceGeo, rng: random.Random, nrng: np.random.Generator) -> list[VillageGeo]:
    out = []
    for cg in geo.communes:
        c = cg.commune
        ward = c.unit_type == "Phường"
        n = int(min(25, max(4, (c.area_km2 or 30) / (2.0 if ward else 4.0))))
        pts = random_points_in(cg.cell, n, nrng)
        kind = "Tổ dân phố" if ward else "Thôn"
        for i, (lon, lat) in enumerate(pts, start=1):
            pop = rng.randint(400, 3500) if ward else rng.randint(250, 2200)
            mobile = (rng.random() < 0.93) if rng.random() < 0.35 else None
            ftth = (rng.random() < 0.85) if rng.random() < 0.35 else None
            out.append(VillageGeo(
                code=f"{c.code}.{i:02d}", name=f"{kind} {i}", unit_type=kind,
                commune_code=c.code, lon=float(lon), lat=float(lat), population=pop,
                households=max(1, round(pop / rng.uniform(3.4, 4.2))),
                has_power=rng.random() < 0.97, mobile_surveyed=mobile, ftth_surveyed=ftth,
                area_type="urban" if ward else ("mountain" if c.area_km2 and c.area_km2 > 150 else "rural"),
            ))
    return out


# Real zone names of Hà Tĩnh (Quyết định on the province's industrial zones and the Vũng Áng and
# Cầu Treo economic zones), anchored at the commune they lie in; outlines are synthetic.
HA_TINH_ZONES = [
    ("KKT-VA", "Khu kinh tế Vũng Áng", "economic_zone", "18823", 4.0),
    ("KCN-VA1", "Khu công nghiệp Vũng Áng I", "industrial_park", "18832", 1.6),
    ("KKT-CT", "Khu kinh tế cửa khẩu quốc tế Cầu Treo", "economic_zone", "18196", 2.5),
    ("KCN-DK", "Khu công nghiệp Đại Kim", "industrial_park", "18133", 1.0),
    ("KCN-GL", "Khu công nghiệp Gia Lách", "industrial_park", "18352", 1.2),
    ("KCN-HV", "Khu công nghiệp Hạ Vàng", "industrial_park", "18406", 1.2),
    ("KCN-PV", "Khu công nghiệp Phú Vinh", "industrial_park", "18562", 1.0),
    ("CCN-TL", "Cụm công nghiệp Trung Lương", "industrial_cluster", "18118", 0.6),
    ("CCN-BCX", "Cụm công nghiệp Bắc Cẩm Xuyên", "industrial_cluster", "18673", 0.6),
    ("CCN-TY", "Cụm công nghiệp Thái Yên", "industrial_cluster", "18229", 0.5),
    ("NH-TS", "Khu vực ngầm hóa phường Thành Sen", "undergrounding", "18073", 1.3),
    ("NH-TP", "Khu vực ngầm hóa phường Trần Phú", "undergrounding", "18100", 1.0),
    ("NH-BHL", "Khu vực ngầm hóa phường Bắc Hồng Lĩnh", "undergrounding", "18115", 0.8),
]

_KIND_PREFIX = {"industrial_park": ("KCN", "Khu công nghiệp"),
                "industrial_cluster": ("CCN", "Cụm công nghiệp"),
                "economic_zone": ("KKT", "Khu kinh tế"),
                "undergrounding": ("NH", "Khu vực ngầm hóa")}


def _blob(lon: float, lat: float, radius_km: float, rng: random.Random) -> Polygon:
    """An irregular, valid outline around a point: what a surveyed zone plan looks like."""
    n = 10
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = radius_km * rng.uniform(0.65, 1.15)
        dlon, dlat = _deg(r, lat)
        pts.append((lon + dlon * math.cos(a), lat + dlat * math.sin(a)))
    return Polygon(pts).convex_hull


def zones(geo: ProvinceGeo, rng: random.Random) -> list[ZoneGeo]:
    by_code = {cg.commune.code: cg for cg in geo.communes}
    out = []
    if geo.province.code == "42":
        for code, name, kind, commune, radius in HA_TINH_ZONES:
            cg = by_code[commune]
            lon, lat = cg.centre
            dlon, dlat = _deg(radius * 0.3, lat)
            out.append(ZoneGeo(code, name, kind, commune,
                               _blob(lon + rng.uniform(-dlon, dlon), lat + rng.uniform(-dlat, dlat),
                                     radius, rng)))
        return out
    # Other provinces (national-scale runs): a few zones of each kind at random communes.
    wards = [cg for cg in geo.communes if cg.commune.unit_type == "Phường"] or geo.communes
    for kind, count, pool in (("industrial_park", 3, geo.communes), ("industrial_cluster", 3, geo.communes),
                              ("undergrounding", 2, wards)):
        prefix, label = _KIND_PREFIX[kind]
        for cg in rng.sample(pool, min(count, len(pool))):
            short = cg.commune.name.split(" ", 1)[1]
            out.append(ZoneGeo(f"{prefix}-{cg.commune.code}", f"{label} {short}", kind,
                               cg.commune.code, _blob(*cg.centre, rng.uniform(0.6, 1.6), rng)))
    return out
