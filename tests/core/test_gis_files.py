"""GIS files as people have them (issue 17): every export imports back to the same state, and
files that no one here wrote (shapefiles in VN-2000 and TCVN3, invalid polygons, odd property
values, mixed geometries, zipped shapefiles, KMZ, Google My Maps KML) import or are refused with
a message, never a crash. Each file is made by the test itself, in the shape the tools that make
such files give it; GDAL's own `ogrinfo` reads them back where that helps."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text

from hatang_desktop.cli import main
from hatang_desktop.core.editing import move_point
from hatang_desktop.core.gis import InvalidGisFileError, export_gis, import_gis
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.sample import generate_sample
from hatang_desktop.core.storage.database import Database

from .test_gis_exchange import assert_same_records, snapshot

HAS_OGR = shutil.which("ogrinfo") is not None
CHANGES = ("inserted", "updated", "deleted", "conflicts")


# -- every export imports back to the same state -------------------------------------------------

@pytest.fixture(scope="module")
def tricky(tmp_path_factory) -> Path:
    """A sample with what a round trip finds hard: a shared site whose owner runs no technology
    of its own (its OpenCelliD cells name only the tenant), two sites of one operator 4 m apart,
    a tenant with its own site code, and the sample's drawn (synthetic) boundaries."""
    path = tmp_path_factory.mktemp("roundtrip") / "tricky.db"
    generate_sample(path, sites=60, seed=11)
    with Database.open(path) as db:
        with db.session() as s:
            shared = s.execute(text(
                "SELECT s.uuid, s.operator_code FROM sites s WHERE (SELECT count(*) FROM site_tenants t "
                "WHERE t.site_uuid = s.uuid AND t.deleted = 0) >= 2 ORDER BY s.id LIMIT 1")).one()
        with db.session() as s:
            row = s.execute(text(
                "SELECT a.uuid, a.lat, a.lon, b.uuid AS other FROM sites a JOIN sites b ON "
                "b.operator_code = a.operator_code AND b.id > a.id AND b.uuid != :u AND a.uuid != :u "
                "ORDER BY a.id, b.id LIMIT 1"), {"u": shared.uuid}).one()
        move_point(db, "sites", row.other, row.lat + 0.00004, row.lon)   # 4.4 m north of its neighbour
        with db.operation("test setup", user="tester") as s:
            s.execute(text("UPDATE site_tenants SET has_2g = 0, has_3g = 0, has_4g = 0, has_5g = 0 "
                           "WHERE site_uuid = :s AND operator_code = :o"),
                      {"s": shared.uuid, "o": shared.operator_code})
            s.execute(text("UPDATE site_tenants SET tenant_site_code = 'OWN-CODE-1' WHERE site_uuid = :s "
                           "AND operator_code != :o"), {"s": shared.uuid, "o": shared.operator_code})
    return path


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copyfile(path, target)
    return target


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "csv"])
def test_export_imports_back_into_its_database_unchanged(fmt, tricky, tmp_path):
    """Export, import into the same database: nothing to change (the OpenCelliD CSV had 172
    conflicts on in_passive_plan and status and a duplicate site; GeoJSON moved routes by one
    unit of the 7th decimal; every format rewrote the drawn boundaries as surveyed ones)."""
    path = _copy(tricky, tmp_path)
    with Database.open(path) as db:
        before = snapshot(db)
        out = export_gis(db, tmp_path / f"out.{fmt}").paths[0]
        if fmt == "geojson":
            out = out.with_name("out.geojson")  # the set by its common name
        result = import_gis(db, out, user="tester")
        assert not result.problems
        changed = {k: v for k, v in result.total.items() if k in CHANGES and v}
        assert not changed, (changed, result.counts)
        assert not result.applied and result.backup is None
        assert snapshot(db) == before
        with db.session() as s:
            synthetic = s.execute(text("SELECT count(*) FROM admin_units WHERE boundary_synthetic = 1")).scalar()
    assert synthetic == 70


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_export_into_an_empty_database_keeps_drawn_boundaries(fmt, tricky, tmp_path):
    """Into an empty database of the province: the same records, and the boundaries the sample
    drew stay marked as drawn (boundary_synthetic), not taken for surveyed ones."""
    with Database.open(tricky, readonly=True) as db:
        expected = snapshot(db)
        out = export_gis(db, tmp_path / f"out.{fmt}").paths[0]
    if fmt == "geojson":
        out = out.with_name("out.geojson")
    fresh = init_province_database(tmp_path / "empty.db", "42", user="tester")
    try:
        import_gis(fresh, out, user="tester")
        assert_same_records(expected, snapshot(fresh))
        again = import_gis(fresh, out, user="tester")
        assert not {k: v for k, v in again.total.items() if k in CHANGES and v}
    finally:
        fresh.close()
    flags = {}
    for db_path in (tricky, tmp_path / "empty.db"):
        conn = sqlite3.connect(db_path)
        flags[db_path] = dict(conn.execute("SELECT code, boundary_synthetic FROM admin_units "
                                           "WHERE boundary IS NOT NULL").fetchall())
        conn.close()
    assert flags[tmp_path / "empty.db"] == flags[tricky] and set(flags[tricky].values()) == {1}


def test_opencellid_round_trip_into_an_empty_database_is_stable(tricky, tmp_path):
    """The cell list into an empty database, then the same list again: nothing changes the second
    time, and the two sites 4 m apart stay two sites."""
    with Database.open(tricky, readonly=True) as db:
        out = export_gis(db, tmp_path / "cells.csv").paths[0]
        with db.session() as s:
            sites = s.execute(text("SELECT count(*) FROM sites WHERE deleted = 0")).scalar()
    fresh = init_province_database(tmp_path / "empty.db", "42", user="tester")
    try:
        first = import_gis(fresh, out, user="tester")
        assert first.counts["sites"]["inserted"] == sites
        again = import_gis(fresh, out, user="tester")
        assert not {k: v for k, v in again.total.items() if k in CHANGES and v}
    finally:
        fresh.close()


# -- repair, don't refuse, what GIS tools repair ------------------------------------------------

def _feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _write_geojson(path: Path, features: list[dict], **top) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", **top, "features": features}, ensure_ascii=False))
    return path


def _square(x: float, y: float, d: float = 0.01) -> list:
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


@pytest.fixture
def fresh(tmp_path):
    db = init_province_database(tmp_path / "empty.db", "42", user="tester")
    yield db
    db.close()


def _communes(db: Database, n: int) -> list[tuple[str, str]]:
    with db.session() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT code, name FROM admin_units WHERE level = 'commune' ORDER BY code LIMIT :n"), {"n": n})]


def test_invalid_commune_polygons_are_repaired_and_listed(fresh, tmp_path, capsys):
    """A bow-tie, a hole of three points, an unclosed ring and a doubled vertex are repaired as QGIS
    repairs them, each listed as a warning with its feature, name and place; the file imports."""
    (c1, n1), (c2, n2), (c3, n3), (c4, n4) = _communes(fresh, 4)
    x, y = 105.80, 18.30
    bowtie = [[x, y], [x + .01, y + .01], [x + .01, y], [x, y + .01], [x, y]]
    holed = [_square(x + .1, y), [[x + .103, y + .003], [x + .104, y + .003], [x + .103, y + .003]]]
    unclosed = [[x + .2, y], [x + .21, y], [x + .21, y + .01], [x + .2, y + .01]]
    doubled = [[x + .3, y], [x + .31, y], [x + .31, y], [x + .31, y + .01], [x + .3, y + .01], [x + .3, y]]
    path = _write_geojson(tmp_path / "ranh_gioi.geojson", [
        _feature({"type": "Polygon", "coordinates": [bowtie]}, ma_xa=c1, ten_xa=n1),
        _feature({"type": "Polygon", "coordinates": holed}, ma_xa=c2, ten_xa=n2),
        _feature({"type": "Polygon", "coordinates": [unclosed]}, ma_xa=c3, ten_xa=n3),
        _feature({"type": "Polygon", "coordinates": [doubled]}, ma_xa=c4, ten_xa=n4)])
    result = import_gis(fresh, path, as_record="boundaries", user="tester")
    assert result.applied and not result.problems
    text_of = "\n".join(result.warnings)
    assert f"đối tượng 1 '{n1}'" in text_of and "đa giác tự cắt tại (18.305000, 105.805000)" in text_of
    assert f"đối tượng 2 '{n2}'" in text_of and "vòng có quá ít đỉnh tại (18.303000, 105.903000)" in text_of
    assert f"đối tượng 3 '{n3}'" in text_of and "vòng không khép kín" in text_of
    assert f"đối tượng 4 '{n4}'" in text_of and "đỉnh trùng nhau" in text_of
    with fresh.session() as s:
        stored = dict(s.execute(text("SELECT code, boundary FROM admin_units WHERE boundary IS NOT NULL "
                                     "AND level = 'commune'")).all())
    assert set(stored) >= {c1, c2, c3, c4}
    shapes = {c: shapely.from_wkb(stored[c]) for c in (c1, c2, c3, c4)}
    assert all(g.is_valid for g in shapes.values())
    assert shapes[c1].geom_type == "MultiPolygon" and len(shapes[c1].geoms) == 2   # both lobes kept
    assert abs(shapes[c1].area - 0.00005) < 1e-9
    assert len(shapes[c2].interiors) == 0 and abs(shapes[c2].area - 0.0001) < 1e-9
    assert len(shapely.get_coordinates(shapes[c4])) == 5
    # The command says the same: exit 0, the repairs on its output.
    again = _write_geojson(tmp_path / "again.geojson", [
        _feature({"type": "Polygon", "coordinates": [bowtie]}, ma_xa=c1, ten_xa=n1)])
    code = main(["import", str(tmp_path / "empty.db"), str(again), "--as", "boundaries"])
    out = capsys.readouterr()
    assert code == 0 and "đa giác tự cắt" in out.out + out.err and "Traceback" not in out.err


def test_polygon_with_nothing_polygonal_left_is_refused(fresh, tmp_path, capsys):
    (c1, n1), (c2, n2) = _communes(fresh, 2)
    flat = [[105.8, 18.3], [105.81, 18.3], [105.8, 18.3]]     # a "ring" of three points: a line
    path = _write_geojson(tmp_path / "ranh_gioi.geojson", [
        _feature({"type": "Polygon", "coordinates": [_square(105.8, 18.3)]}, ma_xa=c1, ten_xa=n1),
        _feature({"type": "Polygon", "coordinates": [flat]}, ma_xa=c2, ten_xa=n2)])
    with pytest.raises(InvalidGisFileError) as info:
        import_gis(fresh, path, as_record="boundaries")
    [problem] = info.value.problems
    assert problem.feature == 2 and "không còn phần đa giác nào" in problem.message
    assert main(["import", str(tmp_path / "empty.db"), str(path), "--as", "boundaries"]) == 2
    assert "đối tượng 2" in capsys.readouterr().err


def test_lines_with_repeated_points_are_repaired(fresh, tmp_path, capsys):
    repeated = [[105.8, 18.3], [105.81, 18.31], [105.81, 18.31], [105.82, 18.3]]
    path = _write_geojson(tmp_path / "routes.geojson", [
        _feature({"type": "LineString", "coordinates": repeated}, ma_tuyen="T1", doanh_nghiep="Viettel",
                 phuong_thuc="Treo trên cột")])
    result = import_gis(fresh, path, user="tester")
    assert result.applied and result.counts["fibre_routes"]["inserted"] == 1
    assert any("đối tượng 1 'T1'" in w and "đỉnh lặp lại" in w and "(18.310000, 105.810000)" in w
               for w in result.warnings)
    with fresh.session() as s:
        geom = s.execute(text("SELECT geom FROM fibre_routes")).scalar()
    assert len(shapely.get_coordinates(shapely.from_wkb(geom))) == 3
    collapsed = _write_geojson(tmp_path / "collapsed.geojson", [
        _feature({"type": "LineString", "coordinates": [[105.8, 18.3], [105.8, 18.3], [105.8, 18.3]]},
                 ma_tuyen="T2", doanh_nghiep="Viettel", phuong_thuc="Treo trên cột")])
    assert main(["import", str(tmp_path / "empty.db"), str(collapsed)]) == 2
    assert "T2" in capsys.readouterr().err


# -- anything a file holds never crashes the reader ---------------------------------------------

def test_odd_property_values_become_values(fresh, tmp_path, capsys):
    """A list (`center`), a dict, nested lists, a boolean, a date, NaN, null: the reader makes each a
    value; the commune's polygon imports (it was exit 1, "truth value of an array is ambiguous")."""
    [(code, name)] = _communes(fresh, 1)
    path = _write_geojson(tmp_path / "xa.geojson", [
        _feature({"type": "Polygon", "coordinates": [_square(105.8, 18.3)]}, id=code, code=code, name=name,
                 center=[105.805, 18.305], bbox_hint={"w": 105.8, "s": 18.3, "tags": ["a", {"b": 1}]},
                 nested=[[1, 2], [3, 4]], official=True, updated="2024-05-01", empty=None)])
    from hatang_desktop.core.gis.reader import read_groups

    [g] = read_groups(path)
    row = dict(zip(g.columns, g.values[0]))
    assert json.loads(row["center"]) == [105.805, 18.305]
    assert json.loads(row["bbox_hint"]) == {"w": 105.8, "s": 18.3, "tags": ["a", {"b": 1}]}
    assert json.loads(row["nested"]) == [[1, 2], [3, 4]]
    result = import_gis(fresh, path, as_record="boundaries", user="tester")
    assert result.applied and not result.problems
    assert main(["import", str(tmp_path / "empty.db"), str(path), "--as", "boundaries", "--json"]) == 0
    json.loads(capsys.readouterr().out)


def test_odd_values_in_a_geopackage(fresh, tmp_path, capsys):
    """Bytes (a BLOB column), dates, datetimes, NaN, integer and float lists from a GeoPackage:
    values or listed problems, never a crash."""
    import datetime as dt
    import sqlite3 as sq

    import geopandas as gpd

    frame = gpd.GeoDataFrame({"ma_tram": ["A1", "A2"], "nha_mang": ["Viettel", "VNPT"],
                              "ngay": [dt.date(2024, 5, 1), None], "luc": [dt.datetime(2024, 5, 1, 8, 30), None],
                              "so": [float("nan"), 3.5]},
                             geometry=[shapely.Point(105.8, 18.3), shapely.Point(105.81, 18.31)], crs=4326)
    path = tmp_path / "odd.gpkg"
    import pyogrio

    pyogrio.write_dataframe(frame, path, layer="tram", driver="GPKG")
    conn = sq.connect(path)
    # A BLOB column as other programs add one. The R*Tree triggers name GeoPackage SQL functions
    # that only GDAL defines; these rows keep their geometry, so stand-ins do.
    for fn in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
        conn.create_function(fn, 1, lambda _g: 0)
    conn.execute("ALTER TABLE tram ADD COLUMN blob BLOB")
    conn.execute("UPDATE tram SET blob = ? WHERE ma_tram = 'A1'", (b"\x00\xffbinary",))
    conn.execute("UPDATE tram SET blob = ? WHERE ma_tram = 'A2'", ("Hà Tĩnh".encode(),))
    conn.commit()
    assert conn.execute("SELECT typeof(blob) FROM tram").fetchall() == [("blob",), ("blob",)]
    conn.close()
    from hatang_desktop.core.gis.reader import read_groups

    [g] = read_groups(path)
    row = {c: v for c, v in zip(g.columns, g.values[0])}
    assert row["blob"] == "00ff62696e617279" and row["ngay"] is not None
    assert dict(zip(g.columns, g.values[1]))["blob"] == "Hà Tĩnh"
    code = main(["import", str(tmp_path / "empty.db"), str(path), "--dry-run"])
    assert code in (0, 2) and "Traceback" not in capsys.readouterr().err


def test_mixed_geometries_collections_empty_and_zero_features(fresh, tmp_path, capsys):
    """One layer with points, a line, a nested GeometryCollection of points and an empty geometry:
    split by kind (a warning says so), the collection read as its point, the empty one a listed
    problem (exit 2, never 1). A layer of no features is a warning (exit 0)."""
    nested = {"type": "GeometryCollection", "geometries": [
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [105.82, 18.32]}]}]}
    mixed = _write_geojson(tmp_path / "mixed.geojson", [
        _feature({"type": "Point", "coordinates": [105.8, 18.3]}, ma_tram="A1", nha_mang="Viettel"),
        _feature({"type": "LineString", "coordinates": [[105.8, 18.3], [105.81, 18.31]]}, ma_tram="L1",
                 nha_mang="Viettel", phuong_thuc="Treo trên cột"),
        _feature(nested, ma_tram="A3", nha_mang="Viettel"),
        _feature({"type": "Point", "coordinates": [105.83, 18.33]}, ma_tram="A4", nha_mang="Viettel")])
    from hatang_desktop.core.gis.reader import read_groups

    groups = {g.kind: g for g in read_groups(mixed)}
    assert set(groups) == {"point", "line"}
    assert groups["point"].index == [1, 3, 4] and groups["point"].geometries[1].equals(shapely.Point(105.82, 18.32))
    assert any("nhiều loại hình học" in w for g in groups.values() for w in g.extra.get("warnings", []))
    code = main(["import", str(tmp_path / "empty.db"), str(mixed), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err     # the line has no route code: a listed problem
    empty = _write_geojson(tmp_path / "empty_geom.geojson", [
        _feature({"type": "Point", "coordinates": [105.8, 18.3]}, ma_tram="A1", nha_mang="Viettel"),
        _feature({"type": "Polygon", "coordinates": []}, ma_tram="A2", nha_mang="Viettel"),
        _feature({"type": "GeometryCollection", "geometries": []}, ma_tram="A3", nha_mang="Viettel")])
    assert main(["import", str(tmp_path / "empty.db"), str(empty)]) == 2
    err = capsys.readouterr().err
    assert "đối tượng 2" in err and "đối tượng 3" in err and "không có hình học" in err
    mixed_collection = _write_geojson(tmp_path / "gc.geojson", [
        _feature({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [105.8, 18.3]},
            {"type": "LineString", "coordinates": [[105.8, 18.3], [105.81, 18.31]]}]}, ma_tram="G1",
            nha_mang="Viettel")])
    assert main(["import", str(tmp_path / "empty.db"), str(mixed_collection)]) == 2
    assert "tập hình học gồm nhiều loại" in capsys.readouterr().err
    zero = _write_geojson(tmp_path / "zero.geojson", [])
    assert main(["import", str(tmp_path / "empty.db"), str(zero)]) == 0
    assert "không có đối tượng nào" in capsys.readouterr().out


def test_mixed_geometry_geopackage_layer_is_split(fresh, tmp_path):
    import geopandas as gpd
    import pyogrio

    frame = gpd.GeoDataFrame({"ma_tram": ["A1", "T1"], "nha_mang": ["Viettel", "Viettel"],
                              "ma_tuyen": [None, "T1"], "phuong_thuc": [None, "Treo trên cột"]},
                             geometry=[shapely.Point(105.8, 18.3), shapely.LineString([(105.8, 18.3), (105.81, 18.31)])],
                             crs=4326)
    path = tmp_path / "mixed.gpkg"
    pyogrio.write_dataframe(frame, path, layer="mixed", driver="GPKG", geometry_type="Unknown")
    result = import_gis(fresh, path, user="tester")
    assert result.counts["sites"]["inserted"] == 1 and result.counts["fibre_routes"]["inserted"] == 1
    assert any("nhiều loại hình học" in w for w in result.warnings)


# -- shapefiles as Vietnamese offices have them -------------------------------------------------

HA_TINH = 105.5   # VN-2000 central meridian of Hà Tĩnh (Thông tư 973/2001 and 24/2025)
ESRI_PRJ = ('PROJCS["VN_2000_TM3_{name}",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",'
            '6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
            'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
            'PARAMETER["Central_Meridian",{meridian}],PARAMETER["Scale_Factor",0.9999],'
            'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
# As MapInfo's and many web tools' VN-2000 definitions write it: the decision's rotations pasted
# into TOWGS84 with their own signs (PROJ reads them as Position Vector: 0.5-0.8 m off).
TOWGS84_PRJ = ('PROJCS["VN-2000 / TM-3 Ha Tinh",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",6378137,'
               '298.257223563],TOWGS84[-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,'
               '-0.00427372,0.252906278]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
               'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],'
               'PARAMETER["central_meridian",105.5],PARAMETER["scale_factor",0.9999],'
               'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1]]')
SITES = [("HT001", "Viettel", "Hà Tĩnh 1", "Xã Thạch Hạ", 18.3654321, 105.8123456),
         ("HT002", "VNPT", "Đồng Đăng", "Phường Thành Sen", 18.3401234, 105.9012345)]


def _tcvn3_bytes(text_: str) -> bytes:
    from hatang_desktop.core.legacy_encodings import TCVN3_TO_UNICODE

    back = {ch: b for b, ch in TCVN3_TO_UNICODE.items()}
    return bytes(back[ch] if ch in back else ord(ch) for ch in text_)


def _vni_bytes(text_: str) -> bytes:
    from hatang_desktop.core.legacy_encodings import VNI_PAIRS, _VNI_SINGLE

    back = {v: k for k, v in _VNI_SINGLE.items() if k != v} | {v: k for k, v in VNI_PAIRS.items()}
    return "".join(back.get(ch, ch) for ch in text_).encode("cp1252")


def _cp1258_bytes(text_: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letters precomposed (ă, ê, ơ...), the
    tone a combining mark after them when the letter with its tone has no code."""
    import unicodedata

    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = b""
    for ch in text_:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out += base.encode("cp1258") + "".join(c for c in parts if c in tones).encode("cp1258")
    return out


def _shapefile(folder: Path, name: str, *, encode=None, prj: str | None = None, cpg: str | None = None,
               meridian: float | None = HA_TINH, sites=SITES) -> Path:
    """A points shapefile of two sites as an office's tool leaves it: the .dbf text in the bytes
    `encode` gives (raw, no .cpg unless `cpg`), coordinates in VN-2000 on `meridian` (WGS84
    degrees when None), and the .prj `prj` or none."""
    import geopandas as gpd
    import pyogrio

    from hatang_desktop.core.geo.vn2000 import wgs84_to_vn2000

    folder.mkdir(parents=True, exist_ok=True)
    points = []
    for *_rest, lat, lon in sites:
        if meridian is None:
            points.append(shapely.Point(lon, lat))
        else:
            x, y = wgs84_to_vn2000(lat, lon, meridian=meridian)
            points.append(shapely.Point(y, x))
    texts = {"MA_TRAM": [s[0] for s in sites], "NHA_MANG": [s[1] for s in sites],
             "TEN_TRAM": [s[2] for s in sites], "DIA_CHI": [s[3] for s in sites]}
    if encode is not None:
        # The raw bytes, through GDAL's Latin-1 writer: one byte per character.
        texts = {k: [encode(v).decode("latin-1") for v in vs] for k, vs in texts.items()}
    frame = gpd.GeoDataFrame(texts, geometry=points, crs=None)
    path = folder / f"{name}.shp"
    with pytest.warns(UserWarning, match="crs"):
        pyogrio.write_dataframe(frame, path, encoding="latin1" if encode is not None else "UTF-8")
    for sidecar in (".cpg", ".prj"):
        path.with_suffix(sidecar).unlink(missing_ok=True)
    if cpg is not None:
        path.with_suffix(".cpg").write_text(cpg)
    if prj is not None:
        path.with_suffix(".prj").write_text(prj)
    return path


def _sites(db: Database) -> dict[str, dict]:
    with db.session() as s:
        return {r.site_code: dict(r._mapping) for r in s.execute(text(
            "SELECT site_code, operator_code, name, address, lat, lon FROM sites WHERE deleted = 0"))}


def _ogrinfo_values(path: Path, field: str) -> list[str]:
    import subprocess

    done = subprocess.run(["ogrinfo", "-al", "-q", str(path)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [line.split("=", 1)[1].strip() for line in done.stdout.decode("utf-8", "replace").splitlines()
            if line.strip().startswith(f"{field} (String) =")]


def test_tcvn3_and_vni_to_unicode_on_known_words():
    from hatang_desktop.core.legacy_encodings import detect_legacy, tcvn3_to_unicode, vni_to_unicode

    tcvn3 = {b"H\xb5 T\xdcnh": "Hà Tĩnh", b"\xa7\xe5ng \xa7\xa8ng": "Đồng Đăng",
             b"X\xb7 Th\xb9ch H\xb9": "Xã Thạch Hạ", b"M\xad\xeang Kh\xad\xacng": "Mường Khương"}
    for raw, word in tcvn3.items():
        assert tcvn3_to_unicode(raw) == word
        assert detect_legacy([raw.decode("cp1252")]) == "tcvn3"
    vni = {b"Ha\xf8 T\xf3nh": "Hà Tĩnh", b"\xd1o\xe0ng \xd1a\xeang": "Đồng Đăng",
           b"Xa\xf5 Tha\xefch Ha\xef": "Xã Thạch Hạ", b"Ph\xf6\xf4\xf8ng Nguye\xe3n Th\xf2": "Phường Nguyễn Thị"}
    for raw, word in vni.items():
        assert vni_to_unicode(raw) == word
        assert detect_legacy([raw.decode("cp1252")]) == "vni"
    # Text that reads well as it is stays: Unicode Vietnamese, French, German, plain ASCII.
    for fine in ("Hà Tĩnh", "Société Générale", "Müller Straße", "Ha Tinh", "Diện tích 25 m²"):
        assert detect_legacy([fine]) is None, fine


@pytest.mark.skipif(shutil.which("iconv") is None, reason="iconv not installed")
def test_tcvn3_table_agrees_with_glibc():
    """Every byte of our TCVN3 table reads the same through glibc's TCVN5712-1 converter."""
    import subprocess
    import unicodedata

    from hatang_desktop.core.legacy_encodings import TCVN3_TO_UNICODE

    raw = bytes(sorted(TCVN3_TO_UNICODE))
    done = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=raw, capture_output=True)
    if done.returncode != 0:
        pytest.skip("glibc has no TCVN5712-1 converter here")
    assert unicodedata.normalize("NFC", done.stdout.decode()) == "".join(TCVN3_TO_UNICODE[b] for b in raw)


@pytest.mark.parametrize("encoding,cpg", [("tcvn3", None), ("vni", None), ("tcvn3", "1252"), ("vni", "ANSI 1252")])
def test_shapefile_with_legacy_text_and_vn2000_prj(encoding, cpg, fresh, tmp_path, capsys):
    """A .dbf typed with TCVN3 or VNI fonts (no .cpg, or one saying Windows-1252 as ArcGIS writes)
    and an ESRI VN-2000 TM-3 .prj: Unicode names, positions to 1e-7 degrees, exit 0."""
    encode = _tcvn3_bytes if encoding == "tcvn3" else _vni_bytes
    path = _shapefile(tmp_path / "shp", "tram_bts", encode=encode, cpg=cpg,
                      prj=ESRI_PRJ.format(name="105_30", meridian=HA_TINH))
    if HAS_OGR:   # what every other program shows: the font's bytes as Windows-1252 / Latin-1
        shown = _ogrinfo_values(path, "TEN_TRAM")
        assert shown and shown[0] != "Hà Tĩnh 1" and shown[0].startswith("H")
    code = main(["import", str(tmp_path / "empty.db"), str(path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    label = "TCVN3" if encoding == "tcvn3" else "VNI"
    assert f"{label}" in out.out and "Unicode" in out.out
    got = _sites(fresh)
    assert {c: (s["name"], s["address"], s["operator_code"]) for c, s in got.items()} == {
        "HT001": ("Hà Tĩnh 1", "Xã Thạch Hạ", "VTL"), "HT002": ("Đồng Đăng", "Phường Thành Sen", "VNPT")}
    for code_, *_rest, lat, lon in SITES:
        assert abs(got[code_]["lat"] - lat) < 1e-7 and abs(got[code_]["lon"] - lon) < 1e-7


def test_cpg_is_honoured(fresh, tmp_path):
    """A .cpg naming UTF-8, or the Vietnamese Windows code page, is read as it says."""
    utf8 = _shapefile(tmp_path / "a", "utf8", cpg="UTF-8", meridian=None)
    assert import_gis(fresh, utf8, user="tester").applied
    assert _sites(fresh)["HT001"]["name"] == "Hà Tĩnh 1"
    cp1258 = _shapefile(tmp_path / "b", "cp1258", encode=_cp1258_bytes,
                        cpg="1258", meridian=None,
                        sites=[("HX001", "Viettel", "Hà Tĩnh 1", "Xã Thạch Hạ", 18.3, 105.8)])
    result = import_gis(fresh, cp1258, user="tester")
    assert result.applied
    assert _sites(fresh)["HX001"]["name"] == "Hà Tĩnh 1"   # NFC, though Windows-1258 writes ĩ as i + ~


def test_vn2000_prj_written_with_towgs84_uses_the_official_parameters(fresh, tmp_path):
    """A MapInfo-style .prj whose TOWGS84 has the rotations in the other convention lands where the
    ESRI one does (the official 7-parameter transformation), not 0.5 m away."""
    path = _shapefile(tmp_path / "shp", "tram", prj=TOWGS84_PRJ)
    import_gis(fresh, path, user="tester")
    got = _sites(fresh)
    for code_, *_rest, lat, lon in SITES:
        assert abs(got[code_]["lat"] - lat) < 1e-7 and abs(got[code_]["lon"] - lon) < 1e-7


def test_vn2000_prj_with_another_meridian(fresh, tmp_path):
    """A .prj on a meridian that is not the province's (a survey made on 106°15'): the .prj rules."""
    path = _shapefile(tmp_path / "shp", "tram", meridian=106.25, prj=ESRI_PRJ.format(name="106_15", meridian=106.25))
    result = import_gis(fresh, path, user="tester")
    assert any("106°15'" in n for g in result.groups for n in g.notes)
    got = _sites(fresh)
    for code_, *_rest, lat, lon in SITES:
        assert abs(got[code_]["lat"] - lat) < 1e-7 and abs(got[code_]["lon"] - lon) < 1e-7


def test_shapefile_without_prj_in_vn2000_coordinates(fresh, tmp_path, capsys):
    """No .prj, coordinates in VN-2000's range: read on the province's meridian (105°30' for Hà
    Tĩnh), with a warning that says so and how to correct it."""
    path = _shapefile(tmp_path / "shp", "tram")
    code = main(["import", str(tmp_path / "empty.db"), str(path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "VN-2000" in out and "105°30'" in out and ".prj" in out
    got = _sites(fresh)
    for code_, *_rest, lat, lon in SITES:
        assert abs(got[code_]["lat"] - lat) < 1e-7 and abs(got[code_]["lon"] - lon) < 1e-7


def test_coordinates_in_no_known_system_are_refused(fresh, tmp_path, capsys):
    """No .prj (or a GeoJSON without a crs) and numbers that are neither degrees nor VN-2000
    (Web Mercator metres here): refused with the reason, never imported somewhere else."""
    import pyogrio

    mercator = [(11_779_000.0, 2_081_000.0), (11_790_000.0, 2_078_000.0)]
    import geopandas as gpd

    frame = gpd.GeoDataFrame({"MA_TRAM": ["M1", "M2"], "NHA_MANG": ["Viettel", "Viettel"]},
                             geometry=[shapely.Point(*p) for p in mercator], crs=None)
    (tmp_path / "shp").mkdir()
    shp = tmp_path / "shp" / "mercator.shp"
    with pytest.warns(UserWarning, match="crs"):
        pyogrio.write_dataframe(frame, shp)
    geojson = _write_geojson(tmp_path / "mercator.geojson", [
        _feature({"type": "Point", "coordinates": list(p)}, ma_tram=f"M{i}", nha_mang="Viettel")
        for i, p in enumerate(mercator)])
    for path in (shp, geojson):
        assert main(["import", str(tmp_path / "empty.db"), str(path)]) == 2
        err = capsys.readouterr().err
        assert "không phải kinh độ/vĩ độ WGS84, cũng không phải VN-2000" in err and ".prj" in err
        assert "Traceback" not in err
    assert _sites(fresh) == {}


def test_zipped_shapefile(fresh, tmp_path, capsys):
    """A zip as people mail it: the shapefile in a folder, TCVN3 text, a VN-2000 .prj."""
    import zipfile

    path = _shapefile(tmp_path / "shp", "tram_bts", encode=_tcvn3_bytes,
                      prj=ESRI_PRJ.format(name="105_30", meridian=HA_TINH))
    archive = tmp_path / "tram_bts.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for sidecar in path.parent.iterdir():
            z.write(sidecar, f"Du lieu BTS/{sidecar.name}")
    assert main(["import", str(tmp_path / "empty.db"), str(archive), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inserted"] == 4 and any("TCVN3" in w for w in doc["warnings"])
    assert _sites(fresh)["HT001"]["name"] == "Hà Tĩnh 1"
    assert main(["import", str(tmp_path / "empty.db"), str(archive), "--dry-run", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["inserted"] == again["updated"] == again["conflicts"] == 0
    # A zip that is not one, and a zip holding no GIS file: refused with the reason.
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 truncated")
    assert main(["import", str(tmp_path / "empty.db"), str(tmp_path / "bad.zip")]) == 2
    assert "zip" in capsys.readouterr().err
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as z:
        z.writestr("notes.txt", "nothing here")
    assert main(["import", str(tmp_path / "empty.db"), str(tmp_path / "notes.zip")]) == 2
    assert "không chứa tệp GIS" in capsys.readouterr().err


MY_MAPS = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>Khảo sát hạ tầng Hà Tĩnh</name>
    <Style id="icon-1899-0288D1-normal"><IconStyle><color>ffd18802</color><scale>1</scale></IconStyle></Style>
    <StyleMap id="icon-1899-0288D1"><Pair><key>normal</key><styleUrl>#icon-1899-0288D1-normal</styleUrl></Pair></StyleMap>
    <Folder>
      <name>Viettel</name>
      <Placemark>
        <name>HTH_VT_0201</name>
        <description><![CDATA[Mã trạm: HTH_VT_0201<br>Loại cột: Cột tự đứng<br>Chiều cao: 36]]></description>
        <styleUrl>#icon-1899-0288D1</styleUrl>
        <ExtendedData>
          <Data name="Mã trạm"><value>HTH_VT_0201</value></Data>
          <Data name="Loại cột"><value>Cột tự đứng</value></Data>
          <Data name="Chiều cao"><value>36</value></Data>
        </ExtendedData>
        <Point><coordinates>105.8123456,18.3654321,0</coordinates></Point>
      </Placemark>
    </Folder>
    <Folder>
      <name>Tuyến cáp VNPT</name>
      <Placemark>
        <name>T-VNPT-01</name>
        <styleUrl>#line-000000-1200</styleUrl>
        <ExtendedData>
          <Data name="Mã tuyến"><value>T-VNPT-01</value></Data>
          <Data name="Phương thức"><value>Treo trên cột</value></Data>
        </ExtendedData>
        <LineString><tessellate>1</tessellate>
          <coordinates>105.80,18.30,0 105.81,18.31,0 105.81,18.31,0 105.82,18.30,0</coordinates>
        </LineString>
      </Placemark>
    </Folder>
  </Document>
</kml>
"""


@pytest.mark.parametrize("container", ["kml", "kmz"])
def test_google_my_maps_kml_and_kmz(container, fresh, tmp_path, capsys):
    """Google My Maps' export: a folder per layer, ExtendedData per placemark; as KML or KMZ."""
    import zipfile

    if container == "kml":
        path = tmp_path / "my_maps.kml"
        path.write_text(MY_MAPS, encoding="utf-8")
    else:
        path = tmp_path / "my_maps.kmz"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("doc.kml", MY_MAPS)
    if HAS_OGR:
        import subprocess

        done = subprocess.run(["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True, timeout=120)
        assert "Feature Count: 1" in done.stdout and "Tuyến cáp VNPT" in done.stdout
    assert main(["import", str(tmp_path / "empty.db"), str(path)]) == 0
    out = capsys.readouterr().out
    assert "đỉnh lặp lại" in out    # the route's doubled vertex, repaired and listed
    got = _sites(fresh)
    assert got["HTH_VT_0201"]["operator_code"] == "VTL"
    with fresh.session() as s:
        route = s.execute(text("SELECT code, operator_code, method FROM fibre_routes")).one()
        height = s.execute(text("SELECT height_m, tower_type FROM sites")).one()
    assert tuple(route) == ("T-VNPT-01", "VNPT", "aerial")
    assert tuple(height) == (36.0, "ground_tower")


def test_one_feature_out_of_degrees_is_named_not_the_layer(fresh, tmp_path, capsys):
    """Most features in degrees and one with its pair swapped or in metres: that feature is named;
    the layer's coordinate system is not put in doubt."""
    path = _write_geojson(tmp_path / "sites.geojson", [
        _feature({"type": "Point", "coordinates": [105.8 + i / 100, 18.3]}, ma_tram=f"S{i}", nha_mang="Viettel")
        for i in range(4)] + [
        _feature({"type": "Point", "coordinates": [18.3, 105.84]}, ma_tram="S9", nha_mang="Viettel")])
    assert main(["import", str(tmp_path / "empty.db"), str(path)]) == 2
    err = capsys.readouterr().err
    assert "đối tượng 5 'S9'" in err and "không phải kinh độ/vĩ độ" not in err


def test_dbf_without_cpg_in_utf8_or_western_text(fresh, tmp_path):
    """No .cpg: UTF-8 bytes read as UTF-8; Windows-1252 text that is not Vietnamese (a French
    owner's name) stays as it is, not turned into TCVN3 letters."""
    sites = [("HT001", "Viettel", "Hà Tĩnh 1", "Xã Thạch Hạ", 18.3654321, 105.8123456)]
    utf8 = _shapefile(tmp_path / "a", "utf8", encode=lambda t: t.encode("utf-8"), meridian=None, sites=sites)
    import_gis(fresh, utf8, user="tester")
    assert _sites(fresh)["HT001"]["name"] == "Hà Tĩnh 1"
    western = [("FR001", "Viettel", "Société Générale", "Rue de la Paix", 18.3, 105.8)]
    path = _shapefile(tmp_path / "b", "western", encode=lambda t: t.encode("cp1252"), meridian=None, sites=western)
    import_gis(fresh, path, user="tester")
    assert _sites(fresh)["FR001"]["name"] == "Société Générale"
