"""Synthetic telecom network for the sample: sites with tenants, fibre routes, poles.

Volumes follow the Hà Tĩnh plan (3,600 BTS, 50 with 5G, 26 of them in zones) and scale with the
number of sites; ratios per site hold at national scale (120k sites, ~500k poles, ~1M vertices).
A few records are made to break the inspection rules on purpose.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from .geography import ProvinceGeo, ZoneGeo, _deg, random_points_in

POLES_PER_SITE = 4.2
VERTICES_PER_SITE = 8.3
SHARED_SHARE = 0.20
FIVE_G_PER_SITE = 50 / 3600
FIVE_G_IN_ZONES = 26 / 50

OPERATOR_SHARE = (("VTL", 0.40), ("VNPT", 0.28), ("MBF", 0.25), ("VNM", 0.05), ("GTEL", 0.02))
SITE_PREFIX = {"VTL": "VT", "VNPT": "VNP", "MBF": "MBF", "VNM": "VNM", "GTEL": "GT"}
TOWER_MIX_RURAL = (("ground_tower", 0.62), ("guyed_mast", 0.25), ("rooftop_pole", 0.08),
                   ("camouflaged", 0.03), ("small_cell", 0.02))
TOWER_MIX_URBAN = (("ground_tower", 0.25), ("guyed_mast", 0.05), ("rooftop_pole", 0.50),
                   ("camouflaged", 0.10), ("small_cell", 0.10))


@dataclass
class SiteRec:
    uuid: str
    operator: str
    code: str
    name: str
    address: str
    commune: str
    lon: float
    lat: float
    tower_type: str
    height_m: float
    building_height_m: float | None
    owner: str
    permit_no: str | None
    permit_date: str | None
    in_plan: bool
    in_zone: bool
    status: str
    tenants: list[tuple[str, str, tuple[bool, bool, bool, bool]]] = field(default_factory=list)
    note: str | None = None


@dataclass
class RouteRec:
    uuid: str
    code: str
    operator: str
    method: str
    level: str
    cores: int
    line: LineString
    commune: str
    pole_uuids: list[str] = field(default_factory=list)


@dataclass
class PoleRec:
    uuid: str
    code: str
    owner_kind: str
    owner_operator: str | None
    material: str
    height_m: float
    lon: float
    lat: float
    road: str
    commune: str
    carries_power: bool
    attachments: list[dict] = field(default_factory=list)


def pick(rng: random.Random, mix) -> str:
    r, acc = rng.random(), 0.0
    for value, p in mix:
        acc += p
        if r < acc:
            return value
    return mix[-1][0]


class Ids:
    """Deterministic UUIDs from the seed, so the same seed makes the same database."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def __call__(self) -> str:
        import uuid

        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _techs(rng: random.Random, urban: bool) -> tuple[bool, bool, bool, bool]:
    return (rng.random() < 0.55, rng.random() < 0.50, rng.random() < (0.99 if urban else 0.95), False)


def _allocate(weights: list[float], total: int) -> list[int]:
    w = np.asarray(weights, dtype=float)
    raw = w / w.sum() * total
    out = np.floor(raw).astype(int)
    for i in np.argsort(raw - out)[::-1][: total - out.sum()]:
        out[i] += 1
    return out.tolist()


def sites(geos: list[ProvinceGeo], zones: list[ZoneGeo], n: int, rng: random.Random,
          nrng: np.random.Generator, ids: Ids) -> list[SiteRec]:
    communes = [cg for g in geos for cg in g.communes]
    counts = _allocate([cg.weight for cg in communes], n)
    industrial = [z for z in zones if z.kind != "undergrounding"]
    zone_union = shapely.union_all([z.polygon for z in industrial]) if industrial else None
    serial: dict[str, int] = {}
    out: list[SiteRec] = []
    for cg, k in zip(communes, counts):
        if k == 0:
            continue
        c = cg.commune
        urban = c.unit_type == "Phường"
        short = c.name.split(" ", 1)[1]
        pts = random_points_in(cg.cell, k, nrng)
        for i, (lon, lat) in enumerate(pts, start=1):
            op = pick(rng, OPERATOR_SHARE)
            serial[op] = serial.get(op, 0) + 1
            tower = pick(rng, TOWER_MIX_URBAN if urban else TOWER_MIX_RURAL)
            building = None
            if tower == "rooftop_pole":
                building = round(rng.uniform(9, 32), 1)
                height = round(rng.uniform(1.5, min(3.0, 0.2 * building)), 1)
            elif tower == "small_cell":
                height = round(rng.uniform(8, 12), 1)
            elif tower == "guyed_mast":
                height = round(rng.uniform(24, 42), 0)
            else:
                height = round(rng.uniform(30, 60), 0)
            needs_permit = tower in ("ground_tower", "guyed_mast", "camouflaged")
            permit_no = permit_date = None
            if needs_permit and rng.random() < 0.94:
                year = rng.randint(2012, 2025)
                permit_no = f"{rng.randint(1, 480)}/GPXD-SXD"
                permit_date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            status = pick(rng, (("operating", 0.93), ("planned", 0.05), ("dismantled", 0.02)))
            tenants = [(ids(), op, _techs(rng, urban))]
            out.append(SiteRec(
                uuid=ids(), operator=op, code=f"{SITE_PREFIX[op]}_{c.code}_{serial[op]:04d}",
                name=f"Trạm {short} {i}", address=f"Thôn {rng.randint(1, 12)}, {c.name}"
                if not urban else f"Tổ dân phố {rng.randint(1, 12)}, {c.name}",
                commune=c.code, lon=float(lon), lat=float(lat), tower_type=tower, height_m=height,
                building_height_m=building, owner=op if rng.random() < 0.85 else "Công ty hạ tầng",
                permit_no=permit_no, permit_date=permit_date,
                in_plan=tower in ("ground_tower", "guyed_mast") and rng.random() < 0.7,
                in_zone=False, status=status, tenants=tenants))
    _share(out, rng, ids)
    _move_into_zones(out, industrial, rng)
    _five_g(out, industrial, rng)
    _rule_breakers(out, rng, ids)
    if zone_union is not None:
        inside = shapely.contains_xy(zone_union, [s.lon for s in out], [s.lat for s in out])
        for s, flag in zip(out, inside):
            s.in_zone = bool(flag)
    return out


def _share(out: list[SiteRec], rng: random.Random, ids: Ids) -> None:
    operators = [op for op, _ in OPERATOR_SHARE]
    for s in rng.sample(out, round(len(out) * SHARED_SHARE)):
        others = [op for op in operators if op != s.operator]
        for op in rng.sample(others, 1 if rng.random() < 0.8 else 2):
            s.tenants.append((ids(), op, _techs(rng, s.address.startswith("Tổ dân phố"))))


def _move_into_zones(out: list[SiteRec], industrial: list[ZoneGeo], rng: random.Random) -> None:
    """Zones hold a few sites each, as real industrial parks do."""
    if not industrial:
        return
    per_zone = max(2, round(len(out) * 0.015 / len(industrial)))
    movable = [s for s in out if s.status == "operating"]
    rng.shuffle(movable)
    nrng = np.random.default_rng(rng.getrandbits(32))
    for z in industrial:
        take, movable = movable[:per_zone], movable[per_zone:]
        for s, (lon, lat) in zip(take, random_points_in(z.polygon, len(take), nrng)):
            s.lon, s.lat, s.commune = float(lon), float(lat), z.commune_code


def _five_g(out: list[SiteRec], industrial: list[ZoneGeo], rng: random.Random) -> None:
    total = max(1, round(len(out) * FIVE_G_PER_SITE))
    in_zone_target = round(total * FIVE_G_IN_ZONES)
    operating = [s for s in out if s.status == "operating"]
    zone_union = shapely.union_all([z.polygon for z in industrial]) if industrial else None
    in_zone = [s for s in operating if zone_union is not None and zone_union.contains(Point(s.lon, s.lat))]
    chosen = rng.sample(in_zone, min(in_zone_target, len(in_zone)))
    # The rest go to towns first: operators start 5G where the users are.
    zoned = {id(s) for s in in_zone}
    rest = [s for s in operating if id(s) not in zoned]
    rest.sort(key=lambda s: (not s.address.startswith("Tổ dân phố"), rng.random()))
    chosen += rest[: total - len(chosen)]
    for s in chosen:
        uid, op, (g2, g3, g4, _g5) = s.tenants[0]
        s.tenants[0] = (uid, op, (g2, g3, True, True))


def _rule_breakers(out: list[SiteRec], rng: random.Random, ids: Ids) -> None:
    """A handful of records the inspection rules must find (documented in sample_db/README)."""
    rooftops = [s for s in out if s.tower_type == "rooftop_pole"]
    for s in rng.sample(rooftops, min(len(rooftops), max(3, len(out) // 600))):
        s.height_m = round(max(3.5, 0.3 * (s.building_height_m or 10)), 1)  # not "non-bulky"
        s.permit_no = s.permit_date = None
        s.note = "Mẫu vi phạm: cột trên mái cao quá 3 m, chưa có giấy phép"
    # Two operators' towers a few tens of metres apart, not shared: should have been one site.
    singles = [s for s in out if len(s.tenants) == 1 and s.status == "operating"]
    rng.shuffle(singles)
    pairs = max(4, len(out) // 400)
    for s, t in zip(singles[0:2 * pairs:2], singles[1:2 * pairs:2]):
        if t.operator == s.operator:
            continue
        dlon, dlat = _deg(rng.uniform(0.02, 0.06), s.lat)
        t.lon, t.lat, t.commune, t.address = s.lon + dlon, s.lat + dlat, s.commune, s.address
        t.note = "Mẫu vi phạm: hai trạm gần nhau không dùng chung"


def _tree_chains(points: list[tuple[float, float]]) -> list[list[int]]:
    """A minimum spanning tree from point 0 (Prim), cut into chains: each chain follows one
    child onward and every other child starts a new chain at its parent."""
    n = len(points)
    if n < 2:
        return []
    arr = np.asarray(points)
    arr = arr * [math.cos(math.radians(arr[0, 1])), 1.0]
    best = np.hypot(*(arr - arr[0]).T)
    parent = np.zeros(n, dtype=int)
    done = np.zeros(n, dtype=bool)
    done[0] = True
    children: list[list[int]] = [[] for _ in range(n)]
    for _ in range(n - 1):
        k = int(np.argmin(np.where(done, np.inf, best)))
        done[k] = True
        children[int(parent[k])].append(k)
        d = np.hypot(*(arr - arr[k]).T)
        closer = (~done) & (d < best)
        best[closer], parent[closer] = d[closer], k
    chains, stack = [], [[0]]
    while stack:
        chain = stack.pop()
        node = chain[-1]
        while children[node]:
            first, *rest = children[node]
            stack.extend([node, r] for r in rest)
            chain.append(first)
            node = first
        if len(chain) > 1:
            chains.append(chain)
    return chains


def _road_through(way: list[tuple[float, float]], spacing_km: float, rng: random.Random) -> LineString:
    coords: list[tuple[float, float]] = []
    for a, b in zip(way, way[1:]):
        part = list(road_line(a, b, spacing_km, rng).coords)
        coords.extend(part if not coords else part[1:])
    return LineString(coords)


def road_line(a: tuple[float, float], b: tuple[float, float], spacing_km: float,
              rng: random.Random) -> LineString:
    """A road-like path from a to b: gentle bends from two sine waves plus small jitter."""
    lat0 = (a[1] + b[1]) / 2
    kx = 111.32 * math.cos(math.radians(lat0))
    dx, dy = (b[0] - a[0]) * kx, (b[1] - a[1]) * 111.32
    length = math.hypot(dx, dy)
    n = max(2, int(length / spacing_km) + 1)
    t = np.linspace(0.0, 1.0, n)
    amp1, amp2 = length * rng.uniform(0.03, 0.10), length * rng.uniform(0.0, 0.03)
    ph1, ph2 = rng.uniform(0, math.pi), rng.uniform(0, 2 * math.pi)
    offset = amp1 * np.sin(math.pi * t + ph1) * np.sin(math.pi * t) + amp2 * np.sin(6 * math.pi * t + ph2) * np.sin(math.pi * t)
    jitter = np.array([rng.gauss(0, spacing_km * 0.08) for _ in range(n)])
    jitter[0] = jitter[-1] = 0.0
    nx, ny = (-dy / length, dx / length) if length else (0.0, 0.0)
    xs = a[0] + t * (b[0] - a[0]) + (offset + jitter) * nx / kx
    ys = a[1] + t * (b[1] - a[1]) + (offset + jitter) * ny / 111.32
    return LineString(np.column_stack([xs, ys]))


def _nearest_pairs(points: list[tuple[float, float]], k: int) -> set[tuple[int, int]]:
    arr = np.asarray(points)
    pairs = set()
    for i, p in enumerate(arr):
        d = np.hypot(arr[:, 0] - p[0], arr[:, 1] - p[1])
        for j in np.argsort(d)[1: k + 1]:
            pairs.add((min(i, int(j)), max(i, int(j))))
    return pairs


def _approx_km(a, b) -> float:
    return math.hypot((b[0] - a[0]) * 111.32 * math.cos(math.radians(a[1])), (b[1] - a[1]) * 111.32)


def routes_and_poles(geos: list[ProvinceGeo], villages, site_recs: list[SiteRec], n_sites: int,
                     rng: random.Random, ids: Ids) -> tuple[list[RouteRec], list[PoleRec]]:
    # Where routes run: between neighbouring commune centres (backbone), and inside each commune
    # a tree from the centre through its villages and some sites (access), cut into chains the
    # way cable is laid along a road and then branches off it.
    plans: list[tuple[str, list[tuple[float, float]], str, bool]] = []  # level, waypoints, commune, urban
    nodes: dict[str, list[tuple[float, float]]] = {}
    urban_of: dict[str, bool] = {}
    for g in geos:
        pts = [cg.centre for cg in g.communes]
        for cg in g.communes:
            nodes[cg.commune.code] = [cg.centre]
            urban_of[cg.commune.code] = cg.commune.unit_type == "Phường"
        for i, j in sorted(_nearest_pairs(pts, 2)):
            a, b = g.communes[i], g.communes[j]
            plans.append(("backbone", [a.centre, b.centre], a.commune.code, False))
    for v in villages:
        nodes[v.commune_code].append((v.lon, v.lat))
    for s in site_recs:
        if rng.random() < 0.3 and s.commune in nodes:
            nodes[s.commune].append((s.lon, s.lat))
    for commune, pts in nodes.items():
        for chain in _tree_chains(pts):
            plans.append(("access", [pts[k] for k in chain], commune, urban_of[commune]))
    total_km = sum(_approx_km(a, b) for _, way, _, _ in plans for a, b in zip(way, way[1:])) * 1.05
    spacing = max(0.03, total_km / max(1, VERTICES_PER_SITE * n_sites))

    # Poles sit on aerial route vertices, every `pole_step`-th one so the pole count stays
    # proportional to the sites; the rest are filled in off the routes below.
    aerial_share = 0.7
    pole_step = max(1, math.ceil(VERTICES_PER_SITE * aerial_share / (POLES_PER_SITE * 0.8)))
    routes, poles = [], []
    serial: dict[str, int] = {}
    backbone_ops = ["VTL", "VNPT", "MBF"]
    for idx, (level, way, commune, urban) in enumerate(plans):
        if level == "backbone":
            op = backbone_ops[idx % 3]
            method = pick(rng, (("aerial", 0.55), ("duct", 0.25), ("buried", 0.20)))
        else:
            op = pick(rng, OPERATOR_SHARE)
            method = pick(rng, (("aerial", 0.6), ("duct", 0.35), ("buried", 0.05)) if urban
                          else (("aerial", 0.85), ("duct", 0.05), ("buried", 0.10)))
        way = [p for k, p in enumerate(way) if k == 0 or _approx_km(way[k - 1], p) >= 0.05]
        if len(way) < 2:
            continue
        serial[op] = serial.get(op, 0) + 1
        line = _road_through(way, spacing, rng)
        route = RouteRec(ids(), f"{SITE_PREFIX[op]}-{'TR' if level == 'backbone' else 'TN'}-"
                                f"{commune}-{serial[op]:04d}", op, method, level,
                         rng.choice((24, 48, 96, 144)) if level == "backbone" else rng.choice((4, 8, 12, 24)),
                         line, commune)
        if method == "aerial":
            for x, y in line.coords[:: pole_step]:
                poles.append(_pole(ids, rng, len(poles), float(x), float(y), commune, op, urban))
        routes.append(route)
    # Poles that carry only drop or copper cables, off the mapped routes.
    target = round(POLES_PER_SITE * n_sites)
    if len(poles) > target:
        poles = poles[:target]
    extra = target - len(poles)
    communes = [cg for g in geos for cg in g.communes]
    nrng = np.random.default_rng(rng.getrandbits(32))
    if extra > 0:
        counts = _allocate([cg.weight for cg in communes], extra)
        for cg, k in zip(communes, counts):
            for x, y in random_points_in(cg.cell, k, nrng) if k else []:
                poles.append(_pole(ids, rng, len(poles), float(x), float(y), cg.commune.code,
                                   pick(rng, OPERATOR_SHARE), cg.commune.unit_type == "Phường"))
    _hang(routes, poles)
    return routes, poles


def _hang(routes: list[RouteRec], poles: list[PoleRec]) -> None:
    """Each aerial route hangs on the poles standing on its vertices, by the rule the editing
    core keeps (core/editing/route_poles.py), so a copy that derives the lists again (an import,
    a sync) finds these: within VERTEX_ON_POLE_DEG of a vertex, the older pole (two routes that
    meet at a spot each put one there: both hang on the first)."""
    from ..editing.route_poles import HANGING, VERTEX_ON_POLE_DEG as TOL

    cell = 1e-6
    grid: dict[tuple[int, int], list[int]] = {}
    for i, p in enumerate(poles):
        grid.setdefault((math.floor(p.lon / cell), math.floor(p.lat / cell)), []).append(i)
    for r in routes:
        out = []
        for lon, lat in r.line.coords if r.method in HANGING else ():
            cx, cy = math.floor(lon / cell), math.floor(lat / cell)
            near = [i for dx in (-1, 0, 1) for dy in (-1, 0, 1) for i in grid.get((cx + dx, cy + dy), ())
                    if abs(poles[i].lon - lon) <= TOL and abs(poles[i].lat - lat) <= TOL]
            if near:
                out.append(poles[min(near)].uuid)
        r.pole_uuids = out


ROADS = ("Quốc lộ 1", "Quốc lộ 8", "Quốc lộ 12", "Đường tỉnh 547", "Đường tỉnh 549", "Đường Trần Phú",
         "Đường Hà Huy Tập", "Đường Nguyễn Du", "Đường liên xã", "Đường thôn", "Đường Hồ Chí Minh")


def _pole(ids: Ids, rng: random.Random, n: int, lon: float, lat: float, commune: str, op: str,
          urban: bool) -> PoleRec:
    owner = pick(rng, (("power", 0.55), ("operator", 0.30), ("lighting", 0.10 if urban else 0.02),
                       ("other", 0.05)))
    pole = PoleRec(
        uuid=ids(), code=f"C{commune}-{n + 1:06d}", owner_kind=owner,
        owner_operator=op if owner == "operator" else None,
        material=pick(rng, (("concrete", 0.8), ("steel", 0.12), ("wood", 0.05), ("other", 0.03))),
        height_m=rng.choice((7.5, 8.5, 10.0, 12.0)), lon=lon, lat=lat, road=rng.choice(ROADS),
        commune=commune, carries_power=owner == "power")
    operators = [op]
    if rng.random() < 0.28:
        operators.append(pick(rng, [(o, p) for o, p in OPERATOR_SHARE if o != op] + [(op, 0)]))
        if rng.random() < 0.25:
            operators.append(pick(rng, OPERATOR_SHARE))
    for o in dict.fromkeys(operators):
        situation = pick(rng, (("along_road", 0.80), ("crossing_road", 0.12), ("alley", 0.06),
                               ("crossing_water", 0.02)))
        low = round(rng.uniform(5.0, 7.5) if situation != "alley" else rng.uniform(4.0, 6.0), 1)
        if rng.random() < 0.04:  # sagging cable below the minimum: for the height rule to find
            low = round(rng.uniform(2.5, 4.0), 1)
        pole.attachments.append(dict(
            uuid=ids(), operator=o, cable_count=rng.randint(1, 6),
            cable_type=pick(rng, (("fibre", 0.8), ("copper", 0.15), ("coaxial", 0.05))),
            lowest_height_m=low, situation=situation, tagged=rng.random() < 0.92,
            condition=pick(rng, (("ok", 0.85), ("tangled", 0.07), ("sagging", 0.05), ("abandoned", 0.03))),
            in_insulating_tube=(rng.random() < 0.85) if pole.carries_power else None,
            has_height_sign=(rng.random() < 0.7) if situation in ("crossing_road", "crossing_water") else None,
            wound_on_pole=rng.random() < 0.02,
            spare_cable_m=round(rng.uniform(3, 15), 1) if rng.random() < 0.1 else None,
            box_count=pick(rng, ((0, 0.7), (1, 0.27), (2, 0.03)))))
    return pole
