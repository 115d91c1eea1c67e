"""GIS exchange: GeoPackage, GeoJSON, KML and OpenCelliD CSV out and back in, checked by GDAL's own
command-line tools where they are installed (CI installs gdal-bin)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from sqlalchemy import text

from hatang_desktop.cli import main
from hatang_desktop.core.exchange.records import read_states
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.gis import InvalidGisFileError, export_gis, import_gis, preview_gis
from hatang_desktop.core.gis.export import geojson_paths
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.sample import generate_sample
from hatang_desktop.core.storage.database import Database

DATA = Path(__file__).parent.parent / "data" / "gis"
HAS_OGR = shutil.which("ogrinfo") is not None and shutil.which("ogr2ogr") is not None
TOL = 1e-7
RECORDS = ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gis") / "source.db"
    generate_sample(path, sites=60, seed=11)
    return path


@pytest.fixture(scope="module")
def exported(source, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("gis_out")
    with Database.open(source, readonly=True) as db:
        return {fmt: export_gis(db, out / f"hatang.{fmt}") for fmt in ("gpkg", "geojson", "kml", "csv")}


@pytest.fixture
def fresh(tmp_path):
    """An empty province database, as `hatang init` makes it."""
    db = init_province_database(tmp_path / "empty.db", "42", user="tester")
    yield db
    db.close()


def snapshot(db: Database) -> dict[str, dict]:
    forms = load_forms()
    with db.session() as s:
        out = {r: read_states(s, forms[r], include_deleted=False) for r in RECORDS}
    # Geometries as stored (full precision), not as the workbook's 7-decimal WKT.
    return {r: {u: st.values | ({"geom": shapely.from_wkb(st.extra["row"]["geom"]).wkt} if "geom" in st.values else {})
                for u, st in states.items()} for r, states in out.items()}


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= TOL
    if isinstance(a, str) and a.startswith(("LINESTRING", "POLYGON")):
        # GeoJSON (RFC 7946) turns outer rings counter-clockwise: the same shape, other order.
        ga, gb = shapely.normalize(shapely.from_wkt(a)), shapely.normalize(shapely.from_wkt(b))
        ca, cb = shapely.get_coordinates(ga), shapely.get_coordinates(gb)
        return ca.shape == cb.shape and abs(ca - cb).max() <= TOL
    return a == b


def assert_same_records(expected: dict, got: dict, records=RECORDS) -> None:
    for record in records:
        assert set(got[record]) == set(expected[record]), record
        for uuid, values in expected[record].items():
            diff = {k: (v, got[record][uuid].get(k)) for k, v in values.items() if not same(v, got[record][uuid].get(k))}
            assert not diff, f"{record} {uuid}: {diff}"


def tenants_by_site(snap: dict) -> dict:
    out: dict = {}
    for t in snap["site_tenants"].values():
        out.setdefault(t["site_uuid"], set()).add((t["operator_code"], t["tenant_site_code"], t["technologies"]))
    return out


# -- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_round_trip_keeps_every_record(fmt, source, exported, fresh):
    with Database.open(source, readonly=True) as db:
        expected = snapshot(db)
    path = exported[fmt].paths[0].with_name(f"hatang.{fmt}")  # the GeoJSON set by its common name
    result = import_gis(fresh, path, user="tester")
    assert result.applied and not result.problems
    assert_same_records(expected, snapshot(fresh))
    again = import_gis(fresh, path, dry_run=True)
    assert again.total["inserted"] == again.total["updated"] == 0
    # Administrative boundaries travel too, and the import is attributed to the file.
    with Database.open(source, readonly=True) as src, src.session() as a, fresh.session() as b:
        want = dict(a.execute(text("SELECT code, boundary FROM admin_units WHERE boundary IS NOT NULL")).all())
        # The sample's boundaries are drawn by the program: they come back marked as drawn.
        got = dict(b.execute(text("SELECT code, boundary FROM admin_units WHERE boundary IS NOT NULL "
                                  "AND boundary_synthetic = 1")).all())
        sources = {r[0] for r in b.execute(text("SELECT DISTINCT source FROM sites"))}
        op = b.execute(text("SELECT source, description FROM operations ORDER BY id DESC LIMIT 1")).one()
    assert set(got) == set(want)
    code = sorted(want)[1]
    assert shapely.normalize(shapely.from_wkb(got[code])).equals_exact(
        shapely.normalize(shapely.from_wkb(want[code])), TOL)
    assert sources == {f"gis:hatang.{fmt}"}
    assert op.source == f"gis:hatang.{fmt}" and f"hatang.{fmt}" in op.description


def test_kml_round_trip(source, exported, fresh):
    with Database.open(source, readonly=True) as db:
        expected = snapshot(db)
    import_gis(fresh, exported["kml"].paths[0])
    got = snapshot(fresh)
    # KML carries sites (with their tenants as a summary), poles, routes and zones; tenants come
    # back with new identities, pole attachments only as the balloon's summary.
    assert_same_records(expected, got, ("sites", "poles", "fibre_routes", "zones"))
    assert tenants_by_site(got) == tenants_by_site(expected)


def test_opencellid_csv_round_trip(source, exported, fresh):
    with Database.open(source, readonly=True) as db:
        expected = snapshot(db)
    import_gis(fresh, exported["csv"].paths[0])
    got = snapshot(fresh)
    mobile = {"VTL", "VNPT", "MBF", "VNM", "GTEL", "ITEL", "REDDI"}

    def cells(snap):
        sites = snap["sites"]
        out: dict = {}
        for t in snap["site_tenants"].values():
            if t["operator_code"] in mobile and t["technologies"]:
                s = sites[t["site_uuid"]]
                out.setdefault((round(s["lat"], 7), round(s["lon"], 7)), {})[t["operator_code"]] = t["technologies"]
        return out

    assert cells(got) and cells(got) == cells(expected)
    communes = {(round(s["lat"], 7), round(s["lon"], 7)): s["commune_code"] for s in expected["sites"].values()}
    assert all(communes[(round(s["lat"], 7), round(s["lon"], 7))] == s["commune_code"] for s in got["sites"].values())


def test_commune_scope(source, tmp_path):
    with Database.open(source, readonly=True) as db:
        with db.session() as s:
            commune = s.execute(text("SELECT commune_code FROM sites GROUP BY commune_code "
                                     "ORDER BY count(*) DESC LIMIT 1")).scalar()
            n = s.execute(text("SELECT count(*) FROM sites WHERE commune_code = :c"), {"c": commune}).scalar()
        result = export_gis(db, tmp_path / "one.gpkg", commune=commune)
    assert result.counts["sites"] == n
    assert result.counts["admin_boundaries"] == 1


# -- checked by GDAL itself -----------------------------------------------------------------

def _ogrinfo(path: Path) -> str:
    done = subprocess.run(["ogrinfo", "-al", "-so", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "warning" not in (done.stdout + done.stderr).lower(), done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    return done.stdout


def _counts(info: str) -> dict[str, int]:
    out, layer = {}, None
    for line in info.splitlines():
        if line.startswith("Layer name: "):
            layer = line.split(": ", 1)[1]
        elif line.startswith("Feature Count: "):
            out[layer] = int(line.split(": ", 1)[1])
    return out


@pytest.mark.skipif(not HAS_OGR, reason="GDAL command-line tools (gdal-bin) not installed")
def test_ogrinfo_reads_every_export(exported):
    assert _counts(_ogrinfo(exported["gpkg"].paths[0])) == exported["gpkg"].counts
    for record, path in geojson_paths(exported["geojson"].paths[0].with_name("hatang.geojson")).items():
        assert _counts(_ogrinfo(path)) == {path.stem: exported["geojson"].counts[record]}
    assert _counts(_ogrinfo(exported["kml"].paths[0])) == exported["kml"].counts
    assert _counts(_ogrinfo(exported["csv"].paths[0])) == {"hatang": exported["csv"].counts["cells"]}


@pytest.mark.skipif(not HAS_OGR, reason="GDAL command-line tools (gdal-bin) not installed")
def test_gpkg_is_version_1_3_in_wgs84(exported):
    import sqlite3

    conn = sqlite3.connect(exported["gpkg"].paths[0])
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 10300
        srs = {r[0] for r in conn.execute("SELECT srs_id FROM gpkg_geometry_columns")}
        titles = [r[0] for r in conn.execute("SELECT identifier FROM gpkg_contents ORDER BY rowid")]
    finally:
        conn.close()
    assert srs == {4326}
    assert titles[:4] == ["Trạm BTS", "Cột treo cáp", "Tuyến cáp quang", "Khu vực"]


@pytest.mark.skipif(not HAS_OGR, reason="GDAL command-line tools (gdal-bin) not installed")
@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("KML", ".kml")])
def test_file_converted_by_ogr2ogr_imports(driver, suffix, source, exported, fresh, tmp_path):
    geojson = geojson_paths(exported["geojson"].paths[0].with_name("hatang.geojson"))["sites"]
    converted = tmp_path / f"by_gdal{suffix}"
    done = subprocess.run(["ogr2ogr", "-f", driver, str(converted), str(geojson)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Database.open(source, readonly=True) as db:
        expected = snapshot(db)
    result = import_gis(fresh, converted)
    assert not result.problems
    got = snapshot(fresh)
    assert_same_records(expected, got, ("sites",))
    assert tenants_by_site(got) == tenants_by_site(expected)


# -- files from other people ----------------------------------------------------------------

def test_operator_kml_with_folders_and_balloons(fresh):
    result = import_gis(fresh, DATA / "operator_sites.kml")
    assert result.counts["sites"]["inserted"] == 3
    got = snapshot(fresh)
    sites = {s["site_code"]: s for s in got["sites"].values()}
    assert {c: s["operator_code"] for c, s in sites.items()} == {
        "HTH_VT_0101": "VTL", "HTH_VT_0102": "VTL", "HTI-VNP-0033": "VNPT"}
    first = sites["HTH_VT_0101"]
    assert (first["name"], first["tower_type"], first["height_m"], first["status"]) == (
        "Thạch Hà 1", "ground_tower", 42.0, "operating")
    assert abs(first["lat"] - 18.3654321) < TOL and abs(first["lon"] - 105.8123456) < TOL
    code_of = {u: s["site_code"] for u, s in got["sites"].items()}
    techs = {code_of[t["site_uuid"]]: t["technologies"] for t in got["site_tenants"].values()}
    assert techs == {"HTH_VT_0101": ("2G", "3G", "4G"), "HTH_VT_0102": ("4G", "5G"), "HTI-VNP-0033": ("3G", "4G")}
    understood = {g.layer: g for g in result.groups}
    assert understood["Viettel Hà Tĩnh"].mapping["Name"] == "site_code"
    assert understood["Viettel Hà Tĩnh"].mapping["Loại cột"] == "tower_type"


def test_opencellid_csv_imports_with_operators_by_mnc(fresh):
    import_gis(fresh, DATA / "opencellid_452.csv")
    got = snapshot(fresh)
    by_position = {}
    for t in got["site_tenants"].values():
        s = got["sites"][t["site_uuid"]]
        by_position.setdefault((round(s["lat"], 7), round(s["lon"], 7)), {})[t["operator_code"]] = t["technologies"]
    assert by_position == {
        (18.3412345, 105.9051234): {"VTL": ("2G", "4G"), "MBF": ("4G",)},
        (18.3356789, 105.8912345): {"VNPT": ("3G",)},
        (18.3298765, 105.8801234): {"VNM": ("4G",)},
        (18.3198765, 105.8701234): {"GTEL": ("2G",)},
        (18.3098765, 105.8601234): {"VTL": ("5G",)},
    }
    owner = {(round(s["lat"], 7), round(s["lon"], 7)): s["operator_code"] for s in got["sites"].values()}
    assert owner[(18.3412345, 105.9051234)] == "VTL"
    assert {s["commune_code"] for s in got["sites"].values()} == {"18073"}


def test_opencellid_other_country_is_refused(fresh, tmp_path):
    bad = tmp_path / "cells.csv"
    lines = (DATA / "opencellid_452.csv").read_text().splitlines()
    bad.write_text("\n".join(lines[:2] + [lines[2].replace(",452,", ",310,")]) + "\n")
    with pytest.raises(InvalidGisFileError) as info:
        import_gis(fresh, bad)
    assert "MCC 310" in str(info.value)
    assert snapshot(fresh)["sites"] == {}


def test_vn2000_file_is_reprojected(source, exported, fresh, tmp_path):
    with Database.open(source, readonly=True) as db:
        expected = snapshot(db)
    frame = pyogrio.read_dataframe(exported["gpkg"].paths[0], layer="sites").to_crs(9209)  # VN-2000 / TM-3 105-30
    pyogrio.write_dataframe(frame, tmp_path / "vn2000.gpkg", layer="sites", driver="GPKG")
    result = import_gis(fresh, tmp_path / "vn2000.gpkg")
    assert any("VN-2000" in n for g in result.groups for n in g.notes)
    got = snapshot(fresh)
    for uuid, s in expected["sites"].items():
        assert abs(got["sites"][uuid]["lat"] - s["lat"]) < TOL and abs(got["sites"][uuid]["lon"] - s["lon"]) < TOL


def test_admin_boundaries_from_a_department_file(source, fresh, tmp_path):
    with Database.open(source, readonly=True) as db, db.session() as s:
        rows = s.execute(text("SELECT code, name, boundary FROM admin_units WHERE level = 'commune' "
                              "ORDER BY code LIMIT 2")).all()
    frame = gpd.GeoDataFrame({"MA_XA": [int(r.code) for r in rows], "TEN_XA": [r.name for r in rows]},
                             geometry=[shapely.from_wkb(r.boundary) for r in rows], crs=4326)
    path = tmp_path / "ranh_gioi_xa.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    result = import_gis(fresh, path)
    assert result.groups[0].record == "boundaries"
    assert result.counts["boundaries"]["updated"] == 2
    with fresh.session() as s:
        got = s.execute(text("SELECT boundary, boundary_synthetic FROM admin_units WHERE code = :c"),
                        {"c": rows[0].code}).one()
    assert not got.boundary_synthetic
    assert shapely.from_wkb(got.boundary).equals_exact(shapely.from_wkb(rows[0].boundary), TOL)


def test_zones_with_a_number_column_are_not_boundaries(fresh, tmp_path):
    square = {"type": "Polygon", "coordinates": [[[105.8, 18.3], [105.9, 18.3], [105.9, 18.4], [105.8, 18.3]]]}
    path = _write(tmp_path / "khu.geojson", [
        _feature(square, ma_khu=f"KCN-{i}", ten_khu=f"Khu {i}", loai_khu="Khu công nghiệp", so_lo=42)
        for i in range(3)])
    result = preview_gis(fresh, path)
    assert result.groups[0].record == "zones" and result.counts["zones"]["inserted"] == 3


# -- invalid geometry: a message per feature, nothing written ----------------------------------

def _feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    return path


@pytest.mark.parametrize("geometry,message", [
    ({"type": "Polygon", "coordinates": [[[105.8, 18.3], [105.9, 18.4], [105.9, 18.3], [105.8, 18.4],
                                          [105.8, 18.3]]]}, "đa giác tự cắt"),
    ({"type": "Polygon", "coordinates": [[[2.35, 48.85], [2.36, 48.85], [2.36, 48.86], [2.35, 48.85]]]},
     "ngoài lãnh thổ Việt Nam"),
])
def test_invalid_polygons_named_per_feature(geometry, message, fresh, tmp_path):
    ok = {"type": "Polygon", "coordinates": [[[105.8, 18.3], [105.9, 18.3], [105.9, 18.4], [105.8, 18.3]]]}
    path = _write(tmp_path / "zones.geojson", [
        _feature(ok, ma_khu="KCN-1", ten_khu="Khu công nghiệp Một", loai_khu="Khu công nghiệp"),
        _feature(geometry, ma_khu="KCN-2", ten_khu="Khu công nghiệp Hai", loai_khu="Khu công nghiệp")])
    with pytest.raises(InvalidGisFileError) as info:
        import_gis(fresh, path)
    [problem] = info.value.problems
    assert problem.feature == 2 and problem.name == "KCN-2" and message in problem.message
    assert snapshot(fresh)["zones"] == {}


@pytest.mark.parametrize("coordinates", [[[105.8, 18.3]], [[105.8, 18.3], [105.8, 18.3]]])
def test_single_vertex_line_named(coordinates, fresh, tmp_path):
    path = _write(tmp_path / "routes.geojson", [
        _feature({"type": "LineString", "coordinates": [[105.8, 18.3], [105.81, 18.31]]},
                 ma_tuyen="T1", doanh_nghiep="Viettel", phuong_thuc="Treo trên cột"),
        _feature({"type": "LineString", "coordinates": coordinates},
                 ma_tuyen="T2", doanh_nghiep="Viettel", phuong_thuc="Treo trên cột")])
    with pytest.raises(InvalidGisFileError) as info:
        import_gis(fresh, path)
    messages = [(p.feature, p.name, p.message) for p in info.value.problems]
    assert len(messages) == 1 and messages[0][:2] == (2, "T2") and "một đỉnh" in messages[0][2]
    assert snapshot(fresh)["fibre_routes"] == {}


def test_point_outside_vietnam_and_empty_geometry(fresh, tmp_path):
    path = _write(tmp_path / "sites.geojson", [
        _feature({"type": "Point", "coordinates": [105.8, 18.3]}, ma_tram="A1", nha_mang="Viettel"),
        _feature({"type": "Point", "coordinates": [100.5, 13.75]}, ma_tram="A2", nha_mang="Viettel"),
        _feature(None, ma_tram="A3", nha_mang="Viettel"),
    ])
    result = preview_gis(fresh, path)
    found = {p.name: p.message for p in result.problems}
    assert set(found) == {"A2", "A3"}
    assert "ngoài lãnh thổ Việt Nam" in found["A2"] and "không có hình học" in found["A3"]


def test_cli_export_import_exit_codes_and_json(source, tmp_path, capsys):
    db = tmp_path / "cli.db"
    assert main(["init", str(db), "--province", "42"]) == 0
    assert main(["export", str(source), str(tmp_path / "one.gpkg"), "--commune", "18073", "--json"]) == 0
    capsys.readouterr()
    assert main(["import", str(db), str(tmp_path / "one.gpkg"), "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inserted"] > 0 and doc["applied"] is False
    bad = _write(tmp_path / "bad.geojson", [
        _feature({"type": "LineString", "coordinates": [[105.8, 18.3]]}, ma_tuyen="T9", doanh_nghiep="VNPT",
                 phuong_thuc="Treo trên cột")])
    assert main(["import", str(db), str(bad)]) == 2
    assert "T9" in capsys.readouterr().err
    assert main(["export", str(db), str(tmp_path / "x.shp")]) == 2


def test_cli_map_and_as(fresh, tmp_path, capsys):
    path = _write(tmp_path / "points.geojson", [
        _feature({"type": "Point", "coordinates": [105.8, 18.3]}, so_cot="C-01", chu="Điện lực", ghi="x")])
    result = preview_gis(fresh, path, as_record="poles", mapping={"chu": "owner_kind", "ghi": "-"})
    group = result.groups[0]
    assert group.record == "poles" and group.mapping["chu"] == "owner_kind" and group.mapping["ghi"] is None
    assert not result.problems and result.counts["poles"]["inserted"] == 1


def test_short_dbf_style_pole_headers_are_understood(fresh, tmp_path):
    """A power company's pole list with the 10-letter field names of a .dbf (SO_HIEU, CAO_M): the
    number and the height are understood without the user mapping them."""
    path = _write(tmp_path / "cot_dien.geojson", [
        _feature({"type": "Point", "coordinates": [105.88 + i * 0.001, 18.33]}, SO_HIEU=f"{i + 1}", CAO_M=8.5,
                 CHU_SO_HUU="Điện lực", VAT_LIEU="Bê tông") for i in range(5)])
    result = preview_gis(fresh, path, as_record="poles")
    [group] = result.groups
    assert group.mapping["SO_HIEU"] == "code" and group.mapping["CAO_M"] == "height_m"
    assert not result.problems and result.counts["poles"]["inserted"] == 5
