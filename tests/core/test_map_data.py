"""Map layers as arrays: counts, projection, identify. Headless: no Qt."""

import sqlite3

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from hatang_desktop.core import map_data as md
from hatang_desktop.core.storage.database import Database


@pytest.fixture
def db(sample_db_path):
    with Database.open(sample_db_path, readonly=True) as database:
        yield database


def _count(path, sql):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchone()[0]


def test_projection_matches_pyproj():
    expected = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(105.9, 18.34)
    x, y = md.lonlat_to_mercator(105.9, 18.34)
    assert (float(x), float(y)) == pytest.approx(expected, abs=1e-6)
    lon, lat = md.mercator_to_lonlat(x, y)
    assert (float(lon), float(lat)) == pytest.approx((105.9, 18.34), abs=1e-10)


def test_layer_sizes_match_sql(db, sample_db_path):
    p = sample_db_path
    m = md.read_map(db)
    assert len(m.sites) == _count(p, "SELECT count(*) FROM sites WHERE deleted = 0")
    assert len(m.poles) == _count(p, "SELECT count(*) FROM poles WHERE deleted = 0")
    assert len(m.routes) == _count(p, "SELECT count(*) FROM fibre_routes WHERE deleted = 0")
    assert len(m.zones) == _count(p, "SELECT count(*) FROM zones WHERE deleted = 0")
    assert len(m.villages) == _count(p, "SELECT count(*) FROM admin_units WHERE deleted = 0 AND level = 'village'")
    assert len(m.commune_labels) == _count(p, "SELECT count(*) FROM admin_units WHERE deleted = 0 AND level = 'commune'")
    assert len(m.findings) == _count(p, "SELECT count(*) FROM findings WHERE deleted = 0 "
                                        "AND status IN ('open', 'confirmed') AND lat IS NOT NULL")
    assert m.sites.attrs["shared"].sum() == _count(p, """
        SELECT count(*) FROM (SELECT t.site_uuid FROM site_tenants t JOIN sites s ON s.uuid = t.site_uuid
        WHERE t.deleted = 0 AND s.deleted = 0 GROUP BY t.site_uuid HAVING count(DISTINCT t.operator_code) >= 2)""")
    assert m.sites.attrs["has_5g"].any()
    assert m.poles.attrs["shared"].any() and not m.poles.attrs["shared"].all()
    for layer in (m.sites, m.poles):
        assert len(layer.x) == len(layer.y) == len(layer.uuid)
        assert all(len(v) == len(layer) for v in layer.attrs.values())
    assert not m.extent.empty


def test_route_paths_break_between_routes(db):
    routes = md.read_routes(db)
    with db.session() as s:
        blobs = [r[0] for r in s.connection().exec_driver_sql(
            "SELECT geom FROM fibre_routes WHERE deleted = 0 ORDER BY id")]
    assert len(routes.x) == sum(len(shapely.from_wkb(b).coords) for b in blobs)
    assert (routes.connect == 0).sum() == len(routes)  # one break after each route's last vertex
    assert routes.connect[-1] == 0
    x, y, connect = routes.subset(routes.attrs["method"] == "aerial")
    assert 0 < len(x) < len(routes.x) and (connect == 0).sum() == (routes.attrs["method"] == "aerial").sum()


def test_polygon_rings_are_closed(db):
    b = md.read_boundaries(db)
    ends = np.flatnonzero(b.connect == 0)
    starts = np.concatenate([[0], ends[:-1] + 1])
    assert np.allclose(b.x[starts], b.x[ends]) and np.allclose(b.y[starts], b.y[ends])
    assert set(b.attrs["level"]) == {"province", "commune"}


def test_identify_returns_the_nearest_site(db):
    sites = md.read_sites(db)
    i = 3
    # Nudge towards site i by 5 m: it must win over every other feature within 200 m.
    f = md.identify(db, sites.x[i] + 5, sites.y[i], 200.0)
    assert f.table == "sites" and f.uuid == sites.uuid[i]
    assert f.distance_m == pytest.approx(5, abs=0.01)
    assert f.attributes["site_code"] and "tenants" in f.attributes and "geom" not in f.attributes


def test_identify_nothing_far_out_at_sea(db):
    x, y = md.lonlat_to_mercator(109.5, 17.0)  # the South China Sea, far from Hà Tĩnh
    assert md.identify(db, float(x), float(y), 100.0) is None


def test_identify_inside_a_commune(db):
    labels = md.read_commune_labels(db)
    # Beside the centre (a pole or a route often sits right on it), with a tolerance too small
    # to reach any point or line: only the area containing the point can answer.
    f = md.identify(db, float(labels.x[0]) + 123.4, float(labels.y[0]) + 56.7, 0.001)
    assert f is not None and f.table in ("admin_units", "zones") and f.distance_m == 0


def test_deleted_rows_are_skipped(sample_db_path):
    with Database.open(sample_db_path, readonly=True) as db:
        before = md.read_sites(db)
    victim = before.uuid[0]
    with Database.open(sample_db_path) as db:
        with db.operation("test: delete a site") as s:
            s.connection().exec_driver_sql("UPDATE sites SET deleted = 1, version = version + 1 "
                                           "WHERE uuid = ?", (victim,))
    with Database.open(sample_db_path, readonly=True) as db:
        after = md.read_sites(db)
        assert len(after) == len(before) - 1 and victim not in set(after.uuid)
        f = md.identify(db, float(before.x[0]), float(before.y[0]), 1.0)
        assert f is None or f.uuid != victim


# --------------------------------------------------------------------------- filters and selection


def test_operator_and_technology_bits_match_sql(db, sample_db_path):
    sites = md.read_sites(db)
    viettel = (sites.attrs["op_bits"] & md.operator_mask(["VTL"])) != 0
    expected = {r[0] for r in sqlite3.connect(sample_db_path).execute("""
        SELECT uuid FROM sites WHERE deleted = 0 AND (operator_code = 'VTL' OR uuid IN
            (SELECT site_uuid FROM site_tenants WHERE deleted = 0 AND operator_code = 'VTL'))""")}
    assert set(sites.uuid[viettel]) == expected and 0 < len(expected) < len(sites)
    g5 = (sites.attrs["tech_bits"] & md.technology_mask(["VTL", "VNPT", "MBF"], ["5G"])) != 0
    expected = {r[0] for r in sqlite3.connect(sample_db_path).execute("""
        SELECT site_uuid FROM site_tenants WHERE deleted = 0 AND has_5g = 1
          AND operator_code IN ('VTL', 'VNPT', 'MBF')""")}
    assert set(sites.uuid[g5]) == expected


def test_pole_and_route_operator_bits(db, sample_db_path):
    poles, routes = md.read_poles(db), md.read_routes(db)
    conn = sqlite3.connect(sample_db_path)
    expected = {r[0] for r in conn.execute(
        "SELECT DISTINCT pole_uuid FROM pole_attachments WHERE deleted = 0 AND operator_code = 'MBF'")}
    assert set(poles.uuid[(poles.attrs["op_bits"] & md.operator_mask(["MBF"])) != 0]) == expected
    expected = {r[0] for r in conn.execute(
        "SELECT uuid FROM fibre_routes WHERE deleted = 0 AND (operator_code = 'MBF' OR co_operators LIKE '%MBF%')")}
    assert set(routes.uuid[(routes.attrs["op_bits"] & md.operator_mask(["MBF"])) != 0]) == expected


def test_box_selection_matches_brute_force(db):
    m = md.read_map(db)
    cx, cy = float(np.median(m.sites.x)), float(np.median(m.sites.y))
    box = md.Extent(cx - 4000, cy - 3000, cx + 4000, cy + 3000)
    got = set(md.points_in_box(m.sites, box))
    want = {i for i, (x, y) in enumerate(zip(m.sites.x, m.sites.y))
            if box.min_x <= x <= box.max_x and box.min_y <= y <= box.max_y}
    assert got == want and want
    rect = shapely.box(box.min_x, box.min_y, box.max_x, box.max_y)
    with db.session() as s:
        rows = s.connection().exec_driver_sql("SELECT uuid, geom FROM fibre_routes WHERE deleted = 0").all()
    lines = md._project_geometries(shapely.from_wkb([g for _, g in rows]))
    want = {u for (u, _), line in zip(rows, lines) if line.intersects(rect)}
    assert set(m.routes.uuid[md.paths_in_box(m.routes, box)]) == want and want


def test_communes_sorted_without_unit_type(db, sample_db_path):
    from hatang_desktop.core.text import fold_place

    communes = md.read_communes(db)
    assert len(communes) == _count(sample_db_path, "SELECT count(*) FROM admin_units WHERE level = 'commune'")
    keys = [fold_place(c.name) for c in communes]
    assert keys == sorted(keys)
    assert all(not c.bounds.empty for c in communes)


def test_attribute_rows_in_order(db):
    sites = md.read_sites(db)
    fields, rows = md.attribute_rows(db, "sites", sites.uuid[[5, 2, 9]])
    assert fields[0] == "site_code" and "commune_code" in fields
    assert [r[0] for r in rows] == list(sites.uuid[[5, 2, 9]])
    # The commune column holds the commune's name, not its code.
    assert all(r[fields.index("commune_code") + 1] and not r[fields.index("commune_code") + 1].isdigit()
               for r in rows)


def test_read_map_reports_progress(db):
    seen = []
    md.read_map(db, progress=lambda stage, f: seen.append((stage, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1.0


def test_simplified_routes_keep_every_feature_within_tolerance(db):
    routes = md.read_routes(db)
    tolerance = 200.0
    simple = routes.simplified(tolerance)
    assert simple is routes.simplified(tolerance)  # cached
    assert len(simple.x) < len(routes.x) * 0.8
    # Every route is still there, from the same first to the same last vertex.
    assert set(np.unique(simple.vertex_feature)) == set(range(len(routes)))
    for k in (0, len(routes) // 2, len(routes) - 1):
        full = np.flatnonzero(routes.vertex_feature == k)
        cut = np.flatnonzero(simple.vertex_feature == k)
        assert len(cut) >= 2 and len(cut) <= len(full)
        assert (simple.x[cut[0]], simple.y[cut[-1]]) == (routes.x[full[0]], routes.y[full[-1]])
        a = shapely.LineString(np.column_stack([routes.x[full], routes.y[full]]))
        b = shapely.LineString(np.column_stack([simple.x[cut], simple.y[cut]]))
        assert shapely.hausdorff_distance(a, b) <= tolerance + 1e-6
    # Parts still end where a route ends: the path form pg.arrayToQPath takes.
    ends = np.flatnonzero(simple.connect == 0)
    assert len(ends) == len(routes) and ends[-1] == len(simple.x) - 1
    assert np.all(np.diff(simple.vertex_feature)[simple.connect[:-1] == 1] == 0)


def _same_paths(a: md.PathLayer, b: md.PathLayer) -> None:
    assert a.uuid.tolist() == b.uuid.tolist()
    for name in ("x", "y", "connect", "vertex_feature"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.attrs.keys() == b.attrs.keys() and all(np.array_equal(a.attrs[k], b.attrs[k]) for k in a.attrs)


def test_lines_read_and_simplified_in_slices_are_the_same_as_in_one_call(db, monkeypatch):
    """Shapely's calls are cut into slices of a few vertices (GIL_VERTICES) so a worker never
    holds the GIL long: the layers and their levels of detail come out the same as in one call."""
    monkeypatch.setattr(md, "GIL_VERTICES", 10**12)
    whole = {"routes": md.read_routes(db), "boundaries": md.read_boundaries(db), "zones": md.read_zones(db)}
    levels = {k: [layer.simplified(md.lod_tolerance(level)) for level in md.ALL_LEVELS] for k, layer in whole.items()}
    monkeypatch.setattr(md, "GIL_VERTICES", 37)  # many slices, parts and features cut anywhere
    for key, reader in (("routes", md.read_routes), ("boundaries", md.read_boundaries), ("zones", md.read_zones)):
        sliced = reader(db)
        _same_paths(sliced, whole[key])
        for level, expected in zip(md.ALL_LEVELS, levels[key]):
            _same_paths(sliced.simplified(md.lod_tolerance(level)), expected)
    assert len(md._slices(np.array([5, 50, 5, 5, 5]), 12)) == 4  # an item bigger than the limit alone


def test_points_read_in_small_batches_are_the_same_as_in_one(db, monkeypatch):
    """Rows are converted FETCH_ROWS at a time (numbers straight from the rows, text through
    objects) and joined part by part: the layers are those of one batch."""
    readers = (md.read_sites, md.read_poles, md.read_villages, md.read_commune_labels, md.read_findings)
    monkeypatch.setattr(md, "FETCH_ROWS", 10**9)
    whole = [reader(db) for reader in readers]
    monkeypatch.setattr(md, "FETCH_ROWS", 7)
    for reader, expected in zip(readers, whole):
        got = reader(db)
        assert len(got) == len(expected) > 0, reader.__name__
        assert got.uuid.tolist() == expected.uuid.tolist()
        assert np.array_equal(got.x, expected.x) and np.array_equal(got.y, expected.y)
        assert got.attrs.keys() == expected.attrs.keys()
        for key, values in got.attrs.items():
            assert values.dtype.kind == expected.attrs[key].dtype.kind and np.array_equal(values, expected.attrs[key])


def test_full_extent_from_the_rtree_roots_is_the_scan_of_every_entry(sample_db_path):
    """The extent is read from the R*Trees' root nodes; it is the min/max over every entry, also
    after the outermost records are deleted (the roots' boxes shrink with them)."""
    with Database.open(sample_db_path, readonly=True) as database:
        before = md.full_extent(database)
        assert before == md.full_extent(database, scan=True) and not before.empty
    with sqlite3.connect(sample_db_path) as conn:
        for table in ("poles", "sites"):
            conn.execute(f"UPDATE {table} SET deleted = 1 WHERE id IN "
                         f"(SELECT id FROM {table} WHERE deleted = 0 ORDER BY lon LIMIT 40)")
        conn.execute("UPDATE admin_units SET deleted = 1 WHERE level = 'province' OR id IN "
                     "(SELECT id FROM admin_units ORDER BY coalesce(min_lon, centre_lon) LIMIT 60)")
    with Database.open(sample_db_path, readonly=True) as database:
        after = md.full_extent(database)
        assert after == md.full_extent(database, scan=True)
        assert after.min_x > before.min_x  # the west went with what was deleted


def test_levels_of_detail_cover_small_scales_only():
    assert md.lod_level(5.0) is None  # a street on screen: every vertex
    assert md.lod_level(40.0) == md.LOD_MIN_LEVEL + 1
    assert md.lod_tolerance(md.lod_level(40.0)) <= 40.0  # under a pixel of error
    assert md.lod_level(1e6) == md.LOD_MAX_LEVEL


def test_identify_skips_what_accept_refuses(db):
    sites = md.read_sites(db)
    x, y = float(sites.x[5]), float(sites.y[5])
    assert md.identify(db, x, y, 20.0).uuid == sites.uuid[5]
    refused = []

    def accept(table, uuid):
        refused.append((table, uuid))
        return uuid != sites.uuid[5]

    feature = md.identify(db, x, y, 20.0, accept=accept)
    assert ("sites", sites.uuid[5]) in refused
    assert feature is None or feature.uuid != sites.uuid[5]
    # Refusing every table: a click finds nothing, not even the commune around the point.
    assert md.identify(db, x, y, 20.0, accept=lambda _t, _u: False) is None


def test_site_tenant_figures_are_the_tenants_folded_one_by_one(sample_db_path):
    """read_sites packs each site's tenants into one number from one correlated lookup: every
    figure equals the live tenants folded in Python, a deleted tenant and a new 5G one included,
    and a read of some sites gives their rows of the whole read."""
    with sqlite3.connect(sample_db_path) as conn:
        site, tenant = conn.execute("SELECT site_uuid, uuid FROM site_tenants WHERE deleted = 0 LIMIT 1").fetchone()
        conn.execute("UPDATE site_tenants SET deleted = 1 WHERE uuid = ?", (tenant,))
        conn.execute("UPDATE site_tenants SET has_5g = 1, has_2g = 1 WHERE id IN "
                     "(SELECT id FROM site_tenants WHERE deleted = 0 ORDER BY id DESC LIMIT 7)")
        tenants = conn.execute("SELECT site_uuid, operator_code, has_2g, has_3g, has_4g, has_5g FROM site_tenants "
                               "WHERE deleted = 0").fetchall()
        owners = dict(conn.execute("SELECT uuid, operator_code FROM sites WHERE deleted = 0").fetchall())
    ops: dict[str, set] = {}
    techs: dict[str, int] = {}
    for uuid, op, *flags in tenants:
        ops.setdefault(uuid, set()).add(op)
        for j, flag in enumerate(flags):
            techs[uuid] = techs.get(uuid, 0) | (flag << (4 * md.OPERATOR_BIT.get(op, md.OPERATOR_BIT["OTHER"]) + j))
    with Database.open(sample_db_path, readonly=True) as db:
        sites = md.read_sites(db)
        some = md.read_sites(db, uuids=list(sites.uuid[::7]))
    assert list(sites.attrs) == ["operator", "tower_type", "status", "code", "shared", "has_5g", "op_bits",
                                 "tech_bits"]
    for i, uuid in enumerate(sites.uuid):
        mine = ops.get(uuid, set())
        assert sites.attrs["shared"][i] == (len(mine) >= 2)
        assert sites.attrs["op_bits"][i] == md.operator_mask(mine | {owners[uuid]})
        assert sites.attrs["tech_bits"][i] == techs.get(uuid, 0)
        assert sites.attrs["has_5g"][i] == any(f[5] for f in tenants if f[0] == uuid)
    assert sites.attrs["has_5g"].sum() >= 7 and sites.attrs["shared"].any() and not sites.attrs["shared"].all()
    assert site in set(sites.uuid)
    at = np.searchsorted(sites.uuid, some.uuid, sorter=np.argsort(sites.uuid))
    rows = np.argsort(sites.uuid)[at]
    assert np.array_equal(sites.uuid[rows], some.uuid) and len(some) == len(sites.uuid[::7])
    for key in sites.attrs:
        assert some.attrs[key].dtype == sites.attrs[key].dtype and np.array_equal(sites.attrs[key][rows],
                                                                                  some.attrs[key]), key
