"""Map layers as plain numpy arrays in Web Mercator metres, ready for any canvas to draw.

Headless (no Qt): the UI turns these arrays into one graphics item per layer, and benchmarks and
exports can use them too. Each layer is read with ONE SQL query straight from the DBAPI cursor:
building an ORM object per row would cost more than drawing the row.

Projection is EPSG:3857 (spherical Web Mercator) done with numpy formulas, because pyproj per
point is orders of magnitude slower and the sphere is exact for this projection by definition.
"""

from __future__ import annotations

import gc
import math
import struct
from dataclasses import dataclass, field

import numpy as np
import shapely

from .domain import TECHNOLOGIES
from .geo.projection import lonlat_to_mercator, mercator_to_lonlat
from .operators import OPERATORS
from .storage.database import Database
from .storage.dialect import SQLITE, bbox_filter, bbox_params, dialect_of, in_values, raw


# Findings that still need someone's attention: the map flags these, not the closed ones.
UNRESOLVED_FINDING_STATUSES = ("open", "confirmed")

# Operator and technology filters work on bit sets, so filtering 500k poles is one numpy AND.
# Operator i of OPERATORS is bit i of `op_bits`; (operator i, technology j) is bit 4*i + j of
# `tech_bits` (TECHNOLOGIES order: 2G, 3G, 4G, 5G).
OPERATOR_BIT = {op.code: i for i, op in enumerate(OPERATORS)}


def operator_mask(codes) -> int:
    """The op_bits value of a set of operator codes (unknown codes count as "OTHER")."""
    bits = 0
    for code in codes:
        bits |= 1 << OPERATOR_BIT.get(code, OPERATOR_BIT["OTHER"])
    return bits


def technology_mask(operator_codes, technologies) -> int:
    """The tech_bits value meaning "one of these operators broadcasts one of these technologies"."""
    bits = 0
    for code in operator_codes:
        i = OPERATOR_BIT.get(code, OPERATOR_BIT["OTHER"])
        for tech in technologies:
            bits |= 1 << (4 * i + TECHNOLOGIES.index(tech))
    return bits


def _operator_index_sql(column: str) -> str:
    """SQL for the OPERATOR_BIT index of the operator code in `column`."""
    cases = " ".join(f"WHEN '{code}' THEN {i}" for code, i in OPERATOR_BIT.items())
    return f"(CASE {column} {cases} ELSE {OPERATOR_BIT['OTHER']} END)"


def _operator_bit_sql(column: str) -> str:
    return f"(1 << {_operator_index_sql(column)})"


def _project_geometries(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(lonlat_to_mercator(xy[:, 0], xy[:, 1])))


# --------------------------------------------------------------------------- layer containers


@dataclass
class PointLayer:
    """One row per feature; `attrs` holds extra per-feature columns (numpy arrays)."""

    uuid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    attrs: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.uuid)


@dataclass
class PathLayer:
    """Lines or polygon rings as one vertex array, the form `pg.arrayToQPath` takes.

    `connect[i]` is 0 where vertex i ends a part (the next vertex starts a new one).
    `part_feature[k]` is the feature index of part k; `vertex_part` maps each vertex to its part.
    """

    uuid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    connect: np.ndarray
    vertex_feature: np.ndarray
    attrs: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.uuid)

    def subset(self, feature_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, y, connect of the features where `feature_mask` is true (one path per group)."""
        keep = np.asarray(feature_mask, dtype=bool)[self.vertex_feature]
        return self.x[keep], self.y[keep], self.connect[keep]

    def feature_bounds(self) -> np.ndarray:
        """(n, 4) min_x, min_y, max_x, max_y per feature (vertices of a feature are contiguous)."""
        cached = getattr(self, "_bounds", None)
        if cached is not None:
            return cached
        out = np.full((len(self), 4), np.nan)
        if len(self.x):
            starts = np.flatnonzero(np.r_[True, np.diff(self.vertex_feature) != 0])
            feats = self.vertex_feature[starts]
            out[feats, 0] = np.minimum.reduceat(self.x, starts)
            out[feats, 1] = np.minimum.reduceat(self.y, starts)
            out[feats, 2] = np.maximum.reduceat(self.x, starts)
            out[feats, 3] = np.maximum.reduceat(self.y, starts)
        self._bounds = out
        return out

    def simplified(self, tolerance: float) -> PathLayer:
        """The same features with every part simplified (Douglas-Peucker, `tolerance` map
        units), for drawing at small scales: at 1.3 km per pixel the country's million route
        vertices become ~90k and look the same. Cached per tolerance; parts keep their ends and
        at least two vertices, so no feature disappears. Safe to call from a worker thread
        before the layer is handed to the GUI (see `prepare_levels`)."""
        cache = self.__dict__.setdefault("_simplified", {})
        if tolerance in cache:
            return cache[tolerance]
        if len(self.x) == 0 or tolerance <= 0:
            cache[tolerance] = self
            return self
        part = np.cumsum(np.r_[0, self.connect[:-1] == 0])
        part_feature = self.vertex_feature[np.r_[True, np.diff(part) != 0]]
        counts = np.bincount(part)
        # A one-vertex part cannot be a linestring: repeat its vertex (it draws as a dot).
        single = np.flatnonzero(counts == 1)
        x, y, p = self.x, self.y, part
        if len(single):
            at = np.searchsorted(part, single)
            x, y, p = np.insert(x, at, x[at]), np.insert(y, at, y[at]), np.insert(p, at, single)
        # In slices of about GIL_VERTICES vertices: shapely holds the GIL through a call, and a
        # worker simplifying the country's routes in one call (or 4096 lines at a time: ~100k
        # vertices) stalled the GUI thread for 100-200 ms at a time.
        xy, ends = np.column_stack([x, y]), np.searchsorted(p, np.arange(len(counts)), side="right")
        pieces, indices = [], []
        for part_slice in _slices(np.diff(np.r_[0, ends]), GIL_VERTICES):
            v0 = ends[part_slice.start - 1] if part_slice.start else 0
            v1 = ends[part_slice.stop - 1]
            lines = shapely.linestrings(xy[v0:v1], indices=p[v0:v1] - part_slice.start)
            piece, index = shapely.get_coordinates(shapely.simplify(lines, tolerance, preserve_topology=False),
                                                   return_index=True)
            pieces.append(piece)
            indices.append(index + part_slice.start)
        coords = np.concatenate(pieces) if pieces else np.zeros((0, 2))
        index = np.concatenate(indices) if indices else np.zeros(0, np.int64)
        connect = np.ones(len(coords), dtype=np.ubyte)
        if len(coords):
            connect[np.flatnonzero(np.diff(index))] = 0
            connect[-1] = 0
        out = PathLayer(self.uuid, coords[:, 0].copy(), coords[:, 1].copy(), connect,
                        np.asarray(part_feature, dtype=np.int64)[index], self.attrs)
        cache[tolerance] = out
        return out


# Level of detail for drawing lines at small scales: level L serves views of up to 2**L map
# metres per pixel with the lines simplified to half of that (under a pixel of error). Below
# LOD_MIN_LEVEL (~32 m/px, a district on screen) lines are drawn with every vertex.
LOD_MIN_LEVEL, LOD_MAX_LEVEL = 5, 12
# Vertices per shapely call on a worker thread: shapely holds the GIL through a call (~1 ms
# per 10k vertices), and the GUI thread waits for it meanwhile.
GIL_VERTICES = 32_768


def _slices(sizes: np.ndarray, limit: float) -> list[slice]:
    """Consecutive slices of items whose `sizes` add up to about `limit` at most (one item at
    least per slice), to cut one long call over all items into several short ones."""
    ends = np.cumsum(np.asarray(sizes, dtype=np.float64))
    out, start = [], 0
    while start < len(ends):
        base = ends[start - 1] if start else 0.0
        stop = max(int(np.searchsorted(ends, base + limit, side="right")), start + 1)
        out.append(slice(start, stop))
        start = stop
    return out


def _sliced(fn, geoms: np.ndarray, sizes: np.ndarray, limit: float = GIL_VERTICES) -> np.ndarray:
    """An element-wise shapely function over `geoms`, called on slices of about `limit` in
    `sizes` (vertices, or WKB bytes / 16) so no single call holds the GIL for long."""
    if not len(geoms):
        return fn(geoms)
    return np.concatenate([fn(geoms[sl]) for sl in _slices(sizes, limit)])


def _sliced_with_index(fn, geoms: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`fn(geoms, return_index=True)` (get_rings, get_coordinates) in slices, the index being
    into the whole of `geoms`."""
    if not len(geoms):
        return fn(geoms, return_index=True)
    outs, indices = [], []
    for sl in _slices(sizes, GIL_VERTICES):
        out, index = fn(geoms[sl], return_index=True)
        outs.append(out)
        indices.append(index + sl.start)
    return np.concatenate(outs), np.concatenate(indices)


def lod_level(units_per_px: float) -> int | None:
    """The level of detail for a view of `units_per_px` map metres per pixel, None for full detail."""
    if not units_per_px > 0:
        return None
    level = math.ceil(math.log2(units_per_px))
    return None if level < LOD_MIN_LEVEL else min(level, LOD_MAX_LEVEL)


def lod_tolerance(level: int) -> float:
    return 2.0 ** level / 2


ALL_LEVELS = range(LOD_MIN_LEVEL, LOD_MAX_LEVEL + 1)


def first_view_levels(extent: Extent, widest_px: float = 2500.0) -> range:
    """The levels of detail a view of all of `extent` draws in a map up to `widest_px` wide: a
    database opens at its full extent, and each level costs about as much to make (~150 ms for
    the country's routes); the finer ones can come after the map is shown."""
    span = max(extent.max_x - extent.min_x, extent.max_y - extent.min_y)
    return range(lod_level(span / widest_px) or LOD_MIN_LEVEL, LOD_MAX_LEVEL + 1)


def prepare_levels(layer: PathLayer, levels=ALL_LEVELS) -> None:
    """Simplify `layer` for these levels of detail now (~1 s for the country's routes, all of
    them), so a worker thread pays it rather than the first zoom-out on the GUI thread. Safe
    while the GUI thread draws the layer: a level is made whole, then stored (a dict item)."""
    for level in levels:
        layer.simplified(lod_tolerance(level))


@dataclass
class Extent:
    min_x: float
    min_y: float
    max_x: float
    max_y: float

    @property
    def empty(self) -> bool:
        return not (self.max_x > self.min_x and self.max_y > self.min_y)

    def padded(self, metres: float) -> Extent:
        return Extent(self.min_x - metres, self.min_y - metres, self.max_x + metres, self.max_y + metres)


# --------------------------------------------------------------------------- selection


def points_in_box(layer: PointLayer, box: Extent, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the points inside `box` (edges included), among `mask` if given."""
    inside = (layer.x >= box.min_x) & (layer.x <= box.max_x) & (layer.y >= box.min_y) & (layer.y <= box.max_y)
    if mask is not None:
        inside &= mask
    return np.flatnonzero(inside)


def paths_in_box(layer: PathLayer, box: Extent, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the lines or rings that cross or lie in `box`: bounding boxes first, then exact."""
    b = layer.feature_bounds()
    cand = (b[:, 2] >= box.min_x) & (b[:, 0] <= box.max_x) & (b[:, 3] >= box.min_y) & (b[:, 1] <= box.max_y)
    if mask is not None:
        cand &= mask
    cand_idx = np.flatnonzero(cand)
    if not len(cand_idx):
        return cand_idx
    keep = np.isin(layer.vertex_feature, cand_idx)
    coords = np.column_stack([layer.x[keep], layer.y[keep]])
    # One geometry per part: a polygon's holes and a multi-line's pieces are parts of one feature.
    part = np.cumsum(np.r_[0, layer.connect[keep][:-1] == 0])
    counts = np.bincount(part)
    ok = counts[part] >= 2
    lines = shapely.linestrings(coords[ok], indices=part[ok])
    part_feature = layer.vertex_feature[keep][np.r_[True, np.diff(part) != 0]]
    part_feature = part_feature[counts >= 2]
    hit = shapely.intersects(lines, shapely.box(box.min_x, box.min_y, box.max_x, box.max_y))
    return np.unique(part_feature[hit])


# --------------------------------------------------------------------------- reading


def _rows(db: Database, sql: str, params: tuple | dict = ()) -> list[tuple]:
    # The raw driver cursor: SQLAlchemy Row objects cost more than the rows' drawing at 500k.
    with db.session() as s:
        return raw(s).execute(sql, params).fetchall()


def _columns(rows: list[tuple], n: int) -> list[np.ndarray]:
    # Object arrays: a plain np.array of bytes would be dtype 'S', which drops the trailing
    # NUL bytes a WKB blob can end with.
    if not rows:
        return [np.empty(0, dtype=object) for _ in range(n)]
    return [np.fromiter(col, dtype=object, count=len(rows)) for col in zip(*rows)]


# Rows converted to numpy per step. A worker converting the country's 504k poles in one numpy
# call (zip(*rows), astype(str)) held the GIL for ~150 ms at a time and the GUI thread froze
# meanwhile; so did 16,384 rows' five columns under load (60-200 ms): in steps of this size each
# call takes a millisecond or two.
FETCH_ROWS = 4096
_KINDS = {"U": str, "f": float, "?": bool, "i": np.int64}


def _typed_columns(db: Database, sql: str, params: tuple | dict, kinds: str) -> list[np.ndarray]:
    """A query's columns as numpy arrays, one letter of `kinds` per column ("U" text, "f"
    float, "?" 0/1 flag, "i" integer, "O" as the driver gives it, e.g. WKB), fetched and
    converted FETCH_ROWS at a time."""
    parts: list[list[np.ndarray]] = [[] for _ in kinds]
    with db.session() as s:
        cursor = raw(s).execute(sql, params)
        while True:
            rows = cursor.fetchmany(FETCH_ROWS)
            if not rows:
                break
            for k, (kind, col) in enumerate(zip(kinds, zip(*rows))):
                if kind in "f?i":  # straight into numbers: no object array in between
                    parts[k].append(np.fromiter(col, dtype=_KINDS[kind], count=len(rows)))
                    continue
                a = np.fromiter(col, dtype=object, count=len(rows))
                parts[k].append(a if kind == "O" else a.astype(_KINDS[kind]))
    return [_joined(p) if p else np.empty(0, dtype=object if kind == "O" else _KINDS[kind])
            for kind, p in zip(kinds, parts)]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """np.concatenate(parts) one part at a time: joining the country's 504k pole uuids (73 MB of
    text) in one call held the GIL for ~100-400 ms, the GUI thread waiting."""
    out = np.empty(sum(len(p) for p in parts), dtype=np.result_type(*parts))
    at = 0
    for p in parts:
        out[at:at + len(p)] = p
        at += len(p)
    return out


def _attrs(names: tuple[str, ...], cols: list[np.ndarray], flags: tuple[str, ...],
           ints: tuple[str, ...] = ()) -> dict:
    """Attribute columns as str arrays, bool for the 0/1 flags the queries compute, int64 for bit sets."""
    return {k: v.astype(bool if k in flags else np.int64 if k in ints else str, copy=False)
            for k, v in zip(names, cols)}


def _point_layer(cols: list[np.ndarray], names: tuple[str, ...], flags: tuple[str, ...] = (),
                 ints: tuple[str, ...] = ()) -> PointLayer:
    """Columns (uuid, lon, lat, *names) to a PointLayer."""
    x, y = lonlat_to_mercator(cols[1].astype(float, copy=False), cols[2].astype(float, copy=False))
    return PointLayer(cols[0].astype(str, copy=False), x, y, _attrs(names, cols[3:], flags, ints))


def _point_kinds(names: tuple[str, ...], flags: tuple[str, ...] = (), ints: tuple[str, ...] = ()) -> str:
    """The _typed_columns kinds of a (uuid, lon, lat, *names) query."""
    return "Uff" + "".join("?" if n in flags else "i" if n in ints else "U" for n in names)


def _point_read(db: Database, sql: str, params: tuple | dict, names: tuple[str, ...], flags: tuple[str, ...] = (),
                ints: tuple[str, ...] = ()) -> PointLayer:
    return _point_layer(_typed_columns(db, sql, params, _point_kinds(names, flags, ints)), names, flags, ints)


def _path_layer(rows: list[tuple], names: tuple[str, ...], rings: bool,
                ints: tuple[str, ...] = ()) -> PathLayer:
    """Rows of (uuid, wkb, *names) to a PathLayer; polygons become their rings, exteriors
    counter-clockwise and holes clockwise, so a non-zero (winding) fill shows holes as holes
    and areas that overlap as filled (an even-odd fill would punch them out)."""
    cols = _columns(rows, 2 + len(names))
    # WKB: 16 bytes a vertex.
    wkb_size = np.fromiter((len(b) / 16 for b in cols[1]), dtype=np.float64, count=len(cols[1]))
    geoms = _sliced(shapely.from_wkb, cols[1], wkb_size) if rows else np.empty(0, dtype=object)
    if rings:
        geoms = _sliced(shapely.orient_polygons, geoms, wkb_size)
        parts, part_feature = _sliced_with_index(shapely.get_rings, geoms, wkb_size)
    else:
        parts, part_feature = geoms, np.arange(len(geoms))
    x, y, connect, vertex_feature = path_arrays(parts, part_feature)
    return PathLayer(cols[0].astype(str), x, y, connect, vertex_feature,
                     _attrs(names, cols[2:], (), ints))


def path_arrays(parts: np.ndarray, part_feature: np.ndarray):
    """Lines or rings in lon/lat to PathLayer's x, y (Web Mercator), connect and vertex_feature."""
    coords, vertex_part = _sliced_with_index(shapely.get_coordinates, parts, shapely.get_num_coordinates(parts))
    if not len(parts):
        coords = coords.reshape(-1, 2)
    x, y = lonlat_to_mercator(coords[:, 0], coords[:, 1]) if len(coords) else (np.zeros(0), np.zeros(0))
    connect = np.ones(len(x), dtype=np.ubyte)
    if len(x):
        connect[np.flatnonzero(np.diff(vertex_part))] = 0
        connect[-1] = 0
    return x, y, connect, np.asarray(part_feature, dtype=np.int64)[vertex_part]


def _only(db: Database, column: str, uuids) -> tuple[str, tuple]:
    """SQL (" AND column IN ...") and its parameter restricting a read to `uuids`; none for None."""
    if uuids is None:
        return "", ()
    sql, param = in_values(dialect_of(db), column, uuids)
    return f" AND {sql}", (param,)


# A box (west, south, east, north) in degrees: a read of the layer's rows in it only (the server
# reads the view, not the province); None reads the whole table.
LonLatBox = tuple[float, float, float, float]


def _in_box(db: Database, table: str, alias: str, box: LonLatBox | None) -> tuple[str, tuple]:
    """SQL (" AND <the table's bbox filter>") and its parameters, in `?` form; none for None."""
    if box is None:
        return "", ()
    sql = bbox_filter(dialect_of(db), table, alias)
    names = ("west", "south", "east", "north")
    params = bbox_params(*box)
    order = sorted(names, key=lambda n: sql.index(f":{n}"))  # the order they appear in
    for n in names:
        sql = sql.replace(f":{n}", "?")
    return f" AND {sql}", tuple(params[n] for n in order)


def read_sites(db: Database, uuids=None, box: LonLatBox | None = None) -> PointLayer:
    """Live sites; `shared` = two or more distinct live tenant operators, `has_5g` any tenant.

    `op_bits`: the owner and every tenant operator; `tech_bits`: each tenant's technologies
    (see OPERATOR_BIT). A tenant appears once per site (unique index), so sums are bit ORs.
    The tenants are summed per site by one correlated lookup in their (site, operator) index,
    the three figures packed in one number (_SITE_PACK): a grouped subquery joined to the sites
    made SQLite materialise and index all of it first (~1.5 s of the country's opening)."""
    bit, index = _operator_bit_sql("a.operator_code"), _operator_index_sql("a.operator_code")
    (only_t, p), (only_s, _) = _only(db, "a.site_uuid", uuids), _only(db, "s.uuid", uuids)
    where_box, b = _in_box(db, "sites", "s", box)
    tech = " + ".join(f"(CAST(a.has_{t.lower()} AS bigint) << (4 * {index} + {j}))"
                      for j, t in enumerate(TECHNOLOGIES))
    layer = _point_read(db, f"""
        SELECT s.uuid, s.lon, s.lat, s.operator_code, coalesce(s.tower_type, ''), s.status, coalesce(s.site_code, ''),
               {_operator_bit_sql("s.operator_code")},
               (SELECT CAST(coalesce(sum({tech}), 0) + coalesce(sum(DISTINCT {bit}), 0) * {_OPS_AT}
                            + count(DISTINCT a.operator_code) * {_COUNT_AT} AS bigint)
                FROM site_tenants a WHERE a.site_uuid = s.uuid AND a.deleted = 0{only_t})
        FROM sites s WHERE s.deleted = 0{only_s}{where_box} ORDER BY s.id""", p + p + b,
        ("operator", "tower_type", "status", "code", "owner_bit", "packed"), ints=("owner_bit", "packed"))
    packed, owner = layer.attrs.pop("packed"), layer.attrs.pop("owner_bit")
    techs = packed % _OPS_AT
    layer.attrs["shared"] = packed // _COUNT_AT >= 2
    layer.attrs["has_5g"] = (techs & _ANY_5G) != 0
    layer.attrs["op_bits"] = (packed // _OPS_AT) % (_COUNT_AT // _OPS_AT) | owner
    layer.attrs["tech_bits"] = techs
    return layer


# A site's tenants in one number: their technology bits below _OPS_AT, their operator bits from
# there, how many operators from _COUNT_AT (4 technology bits and 1 operator bit per operator).
_OPS_AT = 1 << (4 * len(OPERATOR_BIT))
_COUNT_AT = _OPS_AT << len(OPERATOR_BIT)
_ANY_5G = sum(1 << (4 * i + TECHNOLOGIES.index("5G")) for i in OPERATOR_BIT.values())
assert _COUNT_AT < 1 << 52  # room for the count in a signed 64-bit integer


# A pole's attachments summed in one number: the count of operators above this, their bits below.
_PACK = 1 << 32


def read_poles(db: Database, uuids=None, box: LonLatBox | None = None) -> PointLayer:
    """Live poles; `shared` = cables of two or more distinct operators attached.

    The attachments are summed per pole by one correlated lookup in their (pole, operator)
    index, both figures packed in one number: a grouped subquery joined to the poles made SQLite
    materialise and index all of it first (~25% slower for the country's 504k poles)."""
    (only_a, p), (only_p, _) = _only(db, "a.pole_uuid", uuids), _only(db, "p.uuid", uuids)
    where_box, b = _in_box(db, "poles", "p", box)
    layer = _point_read(db, f"""
        SELECT p.uuid, p.lon, p.lat, coalesce(p.code, ''),
               (SELECT CAST(count(DISTINCT a.operator_code) * {_PACK}
                            + coalesce(sum(DISTINCT {_operator_bit_sql("a.operator_code")}), 0) AS bigint)
                FROM pole_attachments a WHERE a.pole_uuid = p.uuid AND a.deleted = 0{only_a})
        FROM poles p WHERE p.deleted = 0{only_p}{where_box} ORDER BY p.id""", p + p + b,
        ("code", "packed"), ints=("packed",))
    packed = layer.attrs.pop("packed")
    layer.attrs["shared"] = (packed // _PACK) >= 2
    layer.attrs["op_bits"] = packed % _PACK
    return layer


def read_villages(db: Database) -> PointLayer:
    return _point_read(db, """SELECT uuid, centre_lon, centre_lat, name FROM admin_units
                              WHERE deleted = 0 AND level = 'village' AND centre_lat IS NOT NULL
                              ORDER BY id""", (), ("name",))


def read_findings(db: Database, uuids=None, box: LonLatBox | None = None) -> PointLayer:
    """Unresolved findings that have a position."""
    marks = ",".join("?" * len(UNRESOLVED_FINDING_STATUSES))
    only, p = _only(db, "uuid", uuids)
    where_box, b = _in_box(db, "findings", "findings", box)
    return _point_read(db, f"""SELECT uuid, lon, lat, severity, status FROM findings
                               WHERE deleted = 0 AND lat IS NOT NULL AND status IN ({marks}){only}{where_box}
                               ORDER BY id""", UNRESOLVED_FINDING_STATUSES + p + b, ("severity", "status"))


def read_routes(db: Database, uuids=None, box: LonLatBox | None = None) -> PathLayer:
    """Live routes; `op_bits` holds the operator and its co-operators (comma-separated codes)."""
    only, p = _only(db, "uuid", uuids)
    where_box, b = _in_box(db, "fibre_routes", "fibre_routes", box)
    rows = _rows(db, f"""SELECT uuid, geom, operator_code, method, coalesce(code, ''),
                                operator_code || ',' || co_operators
                         FROM fibre_routes WHERE deleted = 0{only}{where_box} ORDER BY id""", p + b)
    rows = [(*r[:5], operator_mask(c.strip() for c in r[5].split(",") if c.strip())) for r in rows]
    return _path_layer(rows, ("operator", "method", "code", "op_bits"), rings=False, ints=("op_bits",))


def read_zones(db: Database, uuids=None, box: LonLatBox | None = None) -> PathLayer:
    only, p = _only(db, "uuid", uuids)
    where_box, b = _in_box(db, "zones", "zones", box)
    rows = _rows(db, f"""SELECT uuid, geom, kind, name FROM zones WHERE deleted = 0{only}{where_box} ORDER BY id""",
                 p + b)
    return _path_layer(rows, ("kind", "name"), rings=True)


def read_boundaries(db: Database) -> PathLayer:
    """Province and commune boundaries; `level` tells them apart."""
    rows = _rows(db, """SELECT uuid, boundary, level, name FROM admin_units
                        WHERE deleted = 0 AND boundary IS NOT NULL
                          AND level IN ('province', 'commune') ORDER BY id""")
    return _path_layer(rows, ("level", "name"), rings=True)


def read_commune_labels(db: Database) -> PointLayer:
    """Commune names at their centres (the official centre, not the polygon's centroid)."""
    return _point_read(db, """SELECT uuid, centre_lon, centre_lat, name, unit_type FROM admin_units
                              WHERE deleted = 0 AND level = 'commune' AND centre_lat IS NOT NULL
                              ORDER BY id""", (), ("name", "unit_type"))


# Tables whose boxes make the full extent, with (min x, max x, min y, max y) over a live row.
_EXTENT_TABLES = {
    "admin_units": ("coalesce(min_lon, centre_lon)", "coalesce(max_lon, centre_lon)",
                    "coalesce(min_lat, centre_lat)", "coalesce(max_lat, centre_lat)"),
    "sites": ("lon", "lon", "lat", "lat"),
    "poles": ("lon", "lon", "lat", "lat"),
    "fibre_routes": ("min_lon", "max_lon", "min_lat", "max_lat"),
}


def _rtree_root_bounds(db: Database) -> tuple | None:
    """(min x, min y, max x, max y) of the R*Trees of _EXTENT_TABLES from their root nodes: the
    boxes of the root's children bound every entry (SQLite keeps them tight on delete) in the
    same float32 the entries are stored in, so this is what min()/max() over the entries give,
    read from 4 small blobs instead of every entry (~0.6 s for the country's 504k poles).
    None when a root is not as expected (the caller scans then)."""
    boxes = []
    for table in _EXTENT_TABLES:
        rows = _rows(db, f"SELECT data FROM rtree_{table}_node WHERE nodeno = 1")
        data = rows[0][0] if rows else None
        if not isinstance(data, bytes) or len(data) < 4:
            return None
        count = struct.unpack_from(">H", data, 2)[0]
        if len(data) < 4 + 24 * count:
            return None
        # A cell: the child's id (8 bytes), then min x, max x, min y, max y (float32, big-endian).
        boxes += [struct.unpack_from(">4f", data, 4 + 24 * i + 8) for i in range(count)]
    if not boxes:
        return (None, None, None, None)
    return (min(b[0] for b in boxes), min(b[2] for b in boxes), max(b[1] for b in boxes), max(b[3] for b in boxes))


def full_extent(db: Database, scan: bool = False) -> Extent:
    """The box around everything mapped: admin boundaries and centres, sites, poles, routes.
    `scan` reads every R*Tree entry instead of the roots (what the roots are tested against)."""
    bounds = _rtree_root_bounds(db) if dialect_of(db) == SQLITE and not scan else None
    if bounds is not None:
        return _extent_of(*bounds)
    if dialect_of(db) == SQLITE:  # the R*Tree's own bounds: no table scan
        parts = [f"SELECT min(min_x) AS x0, min(min_y) AS y0, max(max_x) AS x1, max(max_y) AS y1 FROM rtree_{t}"
                 for t in _EXTENT_TABLES]
    else:  # the live rows' portable columns, boxed as the R*Tree boxes them
        parts = [f"SELECT min({x0}) AS x0, min({y0}) AS y0, max({x1}) AS x1, max({y1}) AS y1 FROM {t} WHERE deleted = 0"
                 for t, (x0, x1, y0, y1) in _EXTENT_TABLES.items()]
    rows = _rows(db, f"SELECT min(x0), min(y0), max(x1), max(y1) FROM ({' UNION ALL '.join(parts)}) AS e")
    return _extent_of(*rows[0])


def _extent_of(x0, y0, x1, y1) -> Extent:
    """Degrees (None: nothing mapped) to an Extent in map metres."""
    if x0 is None:
        return Extent(0.0, 0.0, 0.0, 0.0)
    (mx0, mx1), (my0, my1) = lonlat_to_mercator([x0, x1], [y0, y1])
    return Extent(float(mx0), float(my0), float(mx1), float(my1))


# --------------------------------------------------------------------------- identify


@dataclass
class Feature:
    table: str
    uuid: str
    attributes: dict
    distance_m: float
    geometry: shapely.Geometry | None = None  # in EPSG:3857 metres, for highlighting it


# Tables searched by identify, most specific first: at equal distance a site beats a pole.
_POINT_TABLES = ("findings", "sites", "poles")
# "shape": the server's PostGIS copy of the geometry (storage follows the portable columns).
_SKIPPED_COLUMNS = {"id", "geom", "boundary", "min_lon", "min_lat", "max_lon", "max_lat", "deleted", "shape"}


_GEOMETRY_COLUMNS = ("geom", "boundary")


def _record(db: Database, table: str, uuid: str) -> tuple[dict, shapely.Geometry | None]:
    with db.session() as s:
        conn = raw(s)
        cursor = conn.execute(f"SELECT * FROM {table} WHERE uuid = ?", (uuid,))
        names = [d[0] for d in cursor.description]
        row = dict(zip(names, cursor.fetchone()))
        attrs = {k: v for k, v in row.items() if k not in _SKIPPED_COLUMNS}
        wkb = next((row[c] for c in _GEOMETRY_COLUMNS if row.get(c)), None)
        if wkb is not None:
            geometry = _project_geometries(np.array([shapely.from_wkb(wkb)]))[0]
        elif row.get("lon") is not None:
            geometry = shapely.Point(*(float(v) for v in lonlat_to_mercator(row["lon"], row["lat"])))
        else:
            geometry = None
        if attrs.get("commune_code"):
            found = conn.execute("SELECT name FROM admin_units WHERE code = ?", (attrs["commune_code"],)).fetchone()
            if found:
                attrs["commune_name"] = found[0]  # shown with the code: "Phường Thành Sen (18073)"
        if table == "sites":
            attrs["tenants"] = [dict(zip(("operator_code", "has_2g", "has_3g", "has_4g", "has_5g"), r))
                                for r in conn.execute(
                                    "SELECT operator_code, has_2g, has_3g, has_4g, has_5g FROM site_tenants "
                                    "WHERE deleted = 0 AND site_uuid = ? ORDER BY id", (uuid,))]
        elif table == "poles":
            attrs["attachments"] = [dict(zip(("operator_code", "cable_count", "lowest_height_m"), r))
                                    for r in conn.execute(
                                        "SELECT operator_code, cable_count, lowest_height_m FROM "
                                        "pole_attachments WHERE deleted = 0 AND pole_uuid = ? ORDER BY id",
                                        (uuid,))]
        elif table == "fibre_routes":  # the poles it hangs on, in order along it
            attrs["poles"] = [r[0] or "" for r in conn.execute(
                "SELECT p.code FROM fibre_route_poles l JOIN poles p ON p.uuid = l.pole_uuid "
                "WHERE l.route_uuid = ? AND p.deleted = 0 ORDER BY l.seq", (uuid,))]
    return attrs, geometry


def read_feature(db: Database, table: str, uuid: str) -> Feature:
    """One record with its attributes and map geometry, as identify returns it."""
    attributes, geometry = _record(db, table, uuid)
    return Feature(table, uuid, attributes, 0.0, geometry)


def _bbox_lonlat(x: float, y: float, tol: float) -> tuple[float, float, float, float]:
    (lon0, lon1), (lat0, lat1) = mercator_to_lonlat([x - tol, x + tol], [y - tol, y + tol])
    return float(lon0), float(lat0), float(lon1), float(lat1)


def identify(db: Database, x: float, y: float, tolerance_m: float, accept=None) -> Feature | None:
    """The feature nearest to map point (x, y), within `tolerance_m` map metres (EPSG:3857).

    Points and routes within the tolerance win, nearest first; failing those, the zone and then
    the commune that contains the point (a click inside an area means that area).
    `accept(table, uuid) -> bool`, if given, skips the records it refuses (a map passes what it
    hides: a layer switched off, features filtered out), so a click never finds what is not shown.
    """
    lon0, lat0, lon1, lat1 = _bbox_lonlat(x, y, tolerance_m)
    dialect = dialect_of(db)
    params = bbox_params(lon0, lat0, lon1, lat1)
    best: tuple[float, str, str] | None = None
    for table in _POINT_TABLES:
        for uuid, lon, lat in _rows(db, f"SELECT t.uuid, t.lon, t.lat FROM {table} t "
                                        f"WHERE {bbox_filter(dialect, table, 't')} AND t.deleted = 0", params):
            if accept is not None and not accept(table, uuid):
                continue
            px, py = lonlat_to_mercator(lon, lat)
            d = math.hypot(float(px) - x, float(py) - y)
            if d <= tolerance_m and (best is None or d < best[0]):
                best = (d, table, uuid)
    if best is None:
        rows = _rows(db, f"SELECT t.uuid, t.geom FROM fibre_routes t "
                         f"WHERE {bbox_filter(dialect, 'fibre_routes', 't')} AND t.deleted = 0", params)
        if accept is not None:
            rows = [r for r in rows if accept("fibre_routes", r[0])]
        if rows:
            geoms = _project_geometries(shapely.from_wkb([g for _, g in rows]))
            dist = shapely.distance(geoms, shapely.Point(x, y))
            i = int(np.argmin(dist))
            if dist[i] <= tolerance_m:
                best = (float(dist[i]), "fibre_routes", rows[i][0])
    if best is None:
        best = _containing(db, x, y, accept)
    if best is None:
        return None
    distance, table, uuid = best
    attributes, geometry = _record(db, table, uuid)
    return Feature(table, uuid, attributes, distance, geometry)


def _containing(db: Database, x: float, y: float, accept=None) -> tuple[float, str, str] | None:
    lon, lat = (float(v) for v in mercator_to_lonlat(x, y))
    here = shapely.Point(lon, lat)
    dialect = dialect_of(db)
    for table, column, extra in (("zones", "geom", ""),
                                 ("admin_units", "boundary", " AND t.level = 'commune'")):
        rows = _rows(db, f"SELECT t.uuid, t.{column} FROM {table} t WHERE {bbox_filter(dialect, table, 't')} "
                         f"AND t.deleted = 0 AND t.{column} IS NOT NULL{extra}", bbox_params(lon, lat, lon, lat))
        for uuid, wkb in rows:
            if accept is not None and not accept(table, uuid):
                continue
            if shapely.from_wkb(wkb).contains(here):
                return (0.0, table, uuid)
    return None


# --------------------------------------------------------------------------- communes and tables


COMMUNE_PAD_M = 3000.0  # a commune with only a centre is shown as its centre ± 3 km


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    bounds: Extent  # EPSG:3857 metres


def read_communes(db: Database) -> list[Commune]:
    """Communes (wards) by name without "Xã"/"Phường" (people look for "Kỳ Anh", not "Xã"),
    diacritics ignored first."""
    from .text import fold_place

    rows = _rows(db, """SELECT code, name, min_lon, min_lat, max_lon, max_lat, centre_lon, centre_lat
                        FROM admin_units WHERE deleted = 0 AND level = 'commune'""")
    out = []
    for code, name, x0, y0, x1, y1, cx, cy in rows:
        if x0 is not None and x1 is not None:
            (mx0, mx1), (my0, my1) = lonlat_to_mercator([x0, x1], [y0, y1])
            bounds = Extent(float(mx0), float(my0), float(mx1), float(my1))
        elif cx is not None:
            mx, my = (float(v) for v in lonlat_to_mercator(cx, cy))
            bounds = Extent(mx, my, mx, my).padded(COMMUNE_PAD_M)
        else:
            continue
        out.append(Commune(code, name, bounds))
    out.sort(key=lambda c: (fold_place(c.name), c.name))
    return out


# Columns of the attribute table per record type: (field name, SQL). Field names are the forms'
# (forms/*.yaml), so the table titles them as every other panel does; the commune is shown by name.
TABLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "sites": (("site_code", "t.site_code"), ("name", "t.name"), ("operator_code", "t.operator_code"),
              ("commune_code", "a.name"), ("tower_type", "t.tower_type"), ("height_m", "t.height_m"),
              ("status", "t.status")),
    "poles": (("code", "t.code"), ("road", "t.road"), ("commune_code", "a.name"), ("owner_kind", "t.owner_kind"),
              ("material", "t.material"), ("height_m", "t.height_m")),
    "fibre_routes": (("code", "t.code"), ("operator_code", "t.operator_code"), ("method", "t.method"),
                     ("core_count", "t.core_count"), ("length_m", "t.length_m"), ("commune_code", "a.name")),
}


def attribute_rows(db: Database, table: str, uuids) -> tuple[list[str], list[tuple]]:
    """(field names, rows) for the attribute table; each row is (uuid, *values), in `uuids` order."""
    columns = TABLE_COLUMNS[table]
    uuids = [str(u) for u in uuids]
    found: dict[str, tuple] = {}
    sql = (f"SELECT t.uuid, {', '.join(c for _, c in columns)} FROM {table} t "
           f"LEFT JOIN admin_units a ON a.code = t.commune_code WHERE t.uuid IN ")
    for start in range(0, len(uuids), 900):  # SQLite's bound-parameter limit is 999 on old builds
        chunk = uuids[start:start + 900]
        for row in _rows(db, sql + f"({','.join('?' * len(chunk))})", tuple(chunk)):
            found[row[0]] = row
    return [name for name, _ in columns], [found[u] for u in uuids if u in found]


# --------------------------------------------------------------------------- everything at once


@dataclass
class MapData:
    """All layers of one database, read in one go (safe to call off the GUI thread)."""

    boundaries: PathLayer
    commune_labels: PointLayer
    zones: PathLayer
    routes: PathLayer
    poles: PointLayer
    villages: PointLayer
    sites: PointLayer
    findings: PointLayer
    extent: Extent
    # Work a canvas does with the layers that needs no GUI thread (sorted point grids...), done
    # on the loading worker by the UI and keyed by layer; a canvas uses each once.
    prepared: dict = field(default_factory=dict)


# The layers a user surveys and edits: on a server they are read for the view's box only (the
# GiST index answers), the admin layers whole as on a file.
SURVEY_LAYERS = {"zones": read_zones, "routes": read_routes, "poles": read_poles, "sites": read_sites,
                 "findings": read_findings}


# Layers a window may read after the map is shown: the country's 504k poles take longer to read
# than everything else together, and at the scale a database opens at they are not drawn.
LATE_LAYERS = ("poles",)


def no_poles() -> PointLayer:
    """A pole layer with no poles, with the columns read_poles gives (for a map whose poles are
    still being read)."""
    return PointLayer(np.empty(0, dtype="<U36"), np.zeros(0), np.zeros(0),
                      {"code": np.empty(0, dtype="<U1"), "shared": np.zeros(0, bool),
                       "op_bits": np.zeros(0, np.int64)})


def read_map(db: Database, progress=None, box: LonLatBox | None = None, skip: tuple[str, ...] = ()) -> MapData:
    """Every layer; `progress(stage, fraction)` is called before each (safe from a worker thread).
    With `box` the survey layers hold only their rows in it (read_survey). Layers named in `skip`
    (LATE_LAYERS) are left empty, for the caller to read after; a skipped layer other than the
    poles is None until the caller puts it in (read_jobs reads the sites in a forked process)."""
    readers = (("boundaries", read_boundaries), ("commune_labels", read_commune_labels),
               ("zones", read_zones), ("routes", read_routes), ("poles", read_poles),
               ("villages", read_villages), ("sites", read_sites), ("findings", read_findings),
               ("extent", full_extent))
    # Rough share of the time each takes at national scale: routes and poles dominate.
    weights = (2, 1, 1, 30, 45, 2, 15, 1, 3)
    if skip:
        kept = [(r, w) for r, w in zip(readers, weights) if r[0] not in skip]
        readers, weights = tuple(r for r, _ in kept), tuple(w for _, w in kept)
    done, total, out = 0, sum(weights), {}
    # Half a million row tuples make Python's cyclic garbage collector run full passes over
    # millions of objects, holding the GIL for over a second at a time: the GUI thread froze
    # while a worker read the country. Rows hold no cycles, so collection can wait till the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for (name, reader), weight in zip(readers, weights):
            if progress is not None:
                progress(name, done / total)
            out[name] = reader(db, box=box) if box is not None and name in SURVEY_LAYERS else reader(db)
            done += weight
    finally:
        if collecting:
            gc.enable()
    if progress is not None:
        progress("done", 1.0)
    if "poles" in skip:
        out["poles"] = no_poles()
    for name in skip:
        out.setdefault(name, None)
    return MapData(**out)


def read_survey(db: Database, box: LonLatBox) -> dict[str, PointLayer | PathLayer]:
    """The survey layers' rows in `box` (MapData field -> layer): what a server map reads again
    when the view moves out of what it holds."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return {name: reader(db, box=box) for name, reader in SURVEY_LAYERS.items()}
    finally:
        if collecting:
            gc.enable()
