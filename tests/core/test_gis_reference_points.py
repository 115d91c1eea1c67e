"""Reference points that are not yet survey records (issue 17): OpenStreetMap masts and lists of
coordinates without an operator or a code import as sites to verify, which the indicators and the
rules never count until an inspector verifies them. Every file here is written by the test, in
the shapes people have: overpass-turbo's GeoJSON, a CSV of names and coordinates."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from hatang_desktop.cli import main
from hatang_desktop.core import editing
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.gis import export_gis, import_gis, preview_gis
from hatang_desktop.core.indicators.evaluate import build_report
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage.database import Database

V1 = Path(__file__).parent.parent / "data" / "schema_v1.db"
# Around Hà Tĩnh city, away from each other (more than 10 m) and from the sample's sites.
MASTS = [(105.8612 + 0.0041 * k, 18.3021 + 0.0029 * (k % 5)) for k in range(16)]
VIETTEL = (105.9347, 18.3512)
LATTICE = (105.9418, 18.3391)   # tower:construction=lattice: a ground tower, which a rule would flag
LIGHTING = (105.9502, 18.3455)
UNTYPED = (105.9555, 18.3307)
LAOS = (101.9, 18.0)             # Sainyabuli, Laos: outside Vietnam's extent


def _node(nid: int, lon: float, lat: float, **tags) -> dict:
    """A feature as overpass-turbo exports it: the id at the top and as "@id", tags as properties."""
    return {"type": "Feature", "id": f"node/{nid}", "properties": {"@id": f"node/{nid}", **tags},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def osm_file(path: Path) -> Path:
    features = [_node(4_100_000 + k, lon, lat, man_made="mast" if k % 2 else "tower",
                      **{"tower:type": "communication"}) for k, (lon, lat) in enumerate(MASTS)]
    features += [
        _node(4_200_001, *VIETTEL, man_made="tower", operator="Viettel", ref="HTH0123", name="Trạm Thạch Trung",
              height="45 m", **{"tower:type": "communication", "communication:mobile_phone": "yes"}),
        _node(4_200_002, *LATTICE, man_made="tower",
              **{"tower:type": "communication", "tower:construction": "lattice"}),
        _node(4_200_003, *LIGHTING, man_made="mast", **{"tower:type": "lighting"}),
        _node(4_200_004, *UNTYPED, man_made="mast", height="20"),
        _node(4_200_005, *LAOS, man_made="tower", **{"tower:type": "communication"}),
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "generator": "overpass-turbo",
                                "copyright": "The data included in this document is from www.openstreetmap.org. "
                                             "The data is made available under ODbL.",
                                "timestamp": "2026-11-30T08:00:00Z", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def sites(db: Database, where: str = "1") -> dict[str, dict]:
    with db.session() as s:
        rows = s.execute(text(f"SELECT * FROM sites WHERE deleted = 0 AND {where}")).mappings().all()
    return {r["source_ref"] or r["uuid"]: dict(r) for r in rows}


def tenants(db: Database) -> list[tuple]:
    with db.session() as s:
        return s.execute(text("SELECT s.source_ref, t.operator_code FROM site_tenants t JOIN sites s "
                              "ON s.uuid = t.site_uuid WHERE t.deleted = 0 ORDER BY 1")).all()


@pytest.fixture
def osm(tmp_path) -> Path:
    return osm_file(tmp_path / "export.geojson")


# -- OpenStreetMap ----------------------------------------------------------------------------

def test_osm_masts_become_sites_to_verify(empty_db, osm):
    result = import_gis(empty_db, osm)
    assert result.applied and not result.problems
    assert result.groups[0].reference == "osm" and result.groups[0].record == "sites"
    assert result.counts["sites"]["inserted"] == 18           # 16 masts, the Viettel tower, the lattice tower
    got = sites(empty_db)
    assert set(got) == {f"osm:node/{4_100_000 + k}" for k in range(16)} | {"osm:node/4200001", "osm:node/4200002"}
    assert {r["status"] for r in got.values()} == {"to_verify"}
    mast = got["osm:node/4100003"]
    assert mast["operator_code"] == "UNKNOWN" and mast["site_code"] == "OSM-n4100003"
    assert json.loads(mast["source_tags"]) == {"@id": "node/4100003", "man_made": "mast",
                                               "tower:type": "communication"}
    assert mast["commune_code"] is not None                    # the commune the point lies in
    viettel = got["osm:node/4200001"]
    assert (viettel["operator_code"], viettel["site_code"], viettel["name"], viettel["height_m"]) == \
        ("VTL", "OSM-n4200001", "Trạm Thạch Trung", 45.0)      # `operator` through the operator names
    assert "ref HTH0123" in viettel["note"] and json.loads(viettel["source_tags"])["ref"] == "HTH0123"
    assert got["osm:node/4200002"]["tower_type"] == "ground_tower"
    # The named operator is on its mast; nobody is on a mast of unknown operator.
    assert tenants(empty_db) == [("osm:node/4200001", "VTL")]
    skipped = {k.feature: k.reason for k in result.skipped}
    assert set(skipped) == {19, 20, 21}
    assert "tower:type=lighting" in skipped[19]
    assert "tower:type" in skipped[20] and "--include-untyped" in skipped[20]
    assert "ngoài lãnh thổ" in skipped[21]


def test_include_untyped_takes_the_mast_without_a_type_never_the_lighting_one(empty_db, osm):
    result = import_gis(empty_db, osm, include_untyped=True)
    assert result.counts["sites"]["inserted"] == 19
    untyped = sites(empty_db)["osm:node/4200004"]
    assert untyped["status"] == "to_verify" and untyped["height_m"] == 20.0
    assert {k.feature for k in result.skipped} == {19, 21}


def test_quickosm_ids_are_read_too(empty_db, tmp_path):
    """QuickOSM (QGIS) writes "full_id", "osm_id" and "osm_type" instead of overpass-turbo's "@id"."""
    path = tmp_path / "quickosm.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"full_id": "n555", "osm_id": 555, "osm_type": "node", "man_made": "mast",
                                           "tower:type": "communication"},
         "geometry": {"type": "Point", "coordinates": [105.91, 18.35]}},
        {"type": "Feature", "properties": {"osm_id": 556, "osm_type": "node", "man_made": "tower",
                                           "communication:mobile_phone": "yes"},
         "geometry": {"type": "Point", "coordinates": [105.92, 18.36]}}]}), encoding="utf-8")
    result = import_gis(empty_db, path)
    assert result.groups[0].reference == "osm"
    got = sites(empty_db)
    assert {k: r["site_code"] for k, r in got.items()} == {"osm:node/555": "OSM-n555", "osm:node/556": "OSM-n556"}


def test_cli_import_counts_exit_codes_and_json(tmp_path, osm, capsys):
    db = tmp_path / "ht.db"
    assert main(["init", str(db), "--province", "42"]) == 0
    capsys.readouterr()
    assert main(["import", str(db), str(osm), "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["applied"] is False and doc["by_type"]["sites"]["inserted"] == 18
    assert doc["layers"][0]["reference"] == "osm" and len(doc["skipped"]) == 3
    assert {k["feature"] for k in doc["skipped"]} == {19, 20, 21}
    assert main(["import", str(db), str(osm)]) == 0
    out = capsys.readouterr().out
    assert "Bỏ qua / skipped 3" in out and "tower:type=lighting" in out
    assert main(["info", str(db), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert counts["sites"] == counts["sites_to_verify"] == 18
    assert main(["import", str(db), str(osm), "--include-untyped", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["inserted"], doc["by_type"]["sites"]["unchanged"], doc["applied"]) == (1, 18, True)
    assert main(["import", str(db), str(osm), "--include-untyped", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["inserted"], doc["updated"], doc["unchanged"], doc["applied"]) == (0, 0, 19, False)


def test_importing_again_changes_nothing_even_after_verifying_or_deleting(empty_db, osm):
    import_gis(empty_db, osm)
    got = sites(empty_db)
    verified, gone = got["osm:node/4100000"]["uuid"], got["osm:node/4100001"]["uuid"]
    editing.save_record(empty_db, "sites", {"operator_code": "MBF", "site_code": "HTH-MBF-77",
                                            "status": "operating"}, uuid=verified)
    editing.delete_record(empty_db, "sites", gone)
    # An inspector moved another one 30 m (the mast is across the road): the source id still finds it.
    moved = got["osm:node/4100002"]
    editing.move_point(empty_db, "sites", moved["uuid"], moved["lat"] + 0.00027, moved["lon"])
    with empty_db.session() as s:
        changes = s.execute(text("SELECT count(*) FROM change_log")).scalar()
    result = import_gis(empty_db, osm)
    assert not result.applied and result.total["inserted"] == 0 and result.total["updated"] == 0
    assert result.counts["sites"]["unchanged"] == 18   # the deleted one too: it stays deleted
    with empty_db.session() as s:
        assert s.execute(text("SELECT count(*) FROM change_log")).scalar() == changes
    row = sites(empty_db, f"uuid = '{verified}'")["osm:node/4100000"]
    assert (row["operator_code"], row["site_code"], row["status"]) == ("MBF", "HTH-MBF-77", "operating")
    assert "osm:node/4100001" not in sites(empty_db)


def test_a_mast_within_10_m_of_a_surveyed_site_is_that_site(empty_db, osm):
    lon, lat = MASTS[5]
    editing.save_record(empty_db, "sites", {"operator_code": "VNPT", "site_code": "HTI-0042", "status": "operating",
                                            "lat": lat + 0.00005, "lon": lon})   # 5.5 m north
    result = import_gis(empty_db, osm)
    assert result.counts["sites"]["inserted"] == 17 and result.counts["sites"]["unchanged"] == 1
    assert "osm:node/4100005" not in sites(empty_db)


def test_an_osm_ref_is_the_named_operators_own_code(empty_db, osm):
    editing.save_record(empty_db, "sites", {"operator_code": "VTL", "site_code": "HTH0123", "status": "operating",
                                            "lat": 18.2, "lon": 105.7})   # far from the mast: the code says it
    result = preview_gis(empty_db, osm)
    assert result.counts["sites"]["inserted"] == 17 and result.counts["sites"]["unchanged"] == 1


# -- lists of coordinates ---------------------------------------------------------------------

def test_a_csv_of_names_and_coordinates(empty_db, tmp_path):
    path = tmp_path / "tram_bo_tt.csv"
    path.write_text("id,ten tram,vi do,kinh do\n17,Trạm Cẩm Bình,18.3012,105.9399\n18,Trạm Thạch Hạ,18.3634,105.8712\n",
                    encoding="utf-8")
    result = import_gis(empty_db, path)
    assert result.groups[0].reference == "list" and result.counts["sites"]["inserted"] == 2
    got = sites(empty_db)
    row = got["tram_bo_tt.csv#17"]
    assert (row["site_code"], row["operator_code"], row["status"], row["name"]) == \
        ("tram_bo_tt-17", "UNKNOWN", "to_verify", "Trạm Cẩm Bình")
    assert json.loads(row["source_tags"])["ten tram"] == "Trạm Cẩm Bình"
    assert tenants(empty_db) == []
    again = import_gis(empty_db, path)
    assert not again.applied and again.counts["sites"]["unchanged"] == 2


def test_a_geojson_of_names_only_and_an_operators_list_without_codes(empty_db, tmp_path):
    names = tmp_path / "diem.geojson"
    names.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ten": f"Điểm {k}"},
         "geometry": {"type": "Point", "coordinates": [105.87 + 0.01 * k, 18.33]}} for k in range(3)]},
        ensure_ascii=False), encoding="utf-8")
    result = import_gis(empty_db, names)
    assert result.counts["sites"]["inserted"] == 3
    assert {r["site_code"] for r in sites(empty_db).values()} == {"diem-1", "diem-2", "diem-3"}
    ops = tmp_path / "ds_tram.csv"
    ops.write_text("nha mang,ten,lat,lon\nViettel,VT Hương Sơn,18.52,105.43\nVNPT Hà Tĩnh,VNP Kỳ Anh,18.07,106.29\n"
                   "Công ty ABC,Trạm lạ,18.10,106.20\n", encoding="utf-8")
    result = import_gis(empty_db, ops)
    assert result.counts["sites"]["inserted"] == 3
    got = {r["name"]: r for r in sites(empty_db).values()}
    assert [got[n]["operator_code"] for n in ("VT Hương Sơn", "VNP Kỳ Anh", "Trạm lạ")] == ["VTL", "VNPT", "UNKNOWN"]
    assert "Công ty ABC" in got["Trạm lạ"]["note"]
    assert {got[n]["status"] for n in got} == {"to_verify"}
    # An operator's own list, named after it, with neither codes nor an operator column.
    own = tmp_path / "Viettel_HaTinh.csv"
    own.write_text("ten,lat,lon\nVT Vũ Quang,18.40,105.45\n", encoding="utf-8")
    import_gis(empty_db, own)
    row = next(r for r in sites(empty_db).values() if r["name"] == "VT Vũ Quang")
    assert (row["operator_code"], row["site_code"], row["status"]) == ("VTL", "Viettel_HaTinh-1", "to_verify")


def test_a_list_of_poles_without_codes_is_not_taken_for_sites(empty_db, tmp_path):
    path = tmp_path / "cot.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"chu so huu": "Điện lực", "vat lieu": "Bê tông", "chieu cao": 8},
         "geometry": {"type": "Point", "coordinates": [105.9, 18.33]}}]}, ensure_ascii=False), encoding="utf-8")
    result = preview_gis(empty_db, path)
    assert result.groups[0].record == "poles" and result.groups[0].reference is None


# -- never counted until verified ---------------------------------------------------------------

def _indicators(path: Path) -> dict:
    doc = build_report(path).to_json()
    doc.pop("database", None)
    return doc


def _check(capsys, path: Path) -> dict[str, int]:
    capsys.readouterr()
    assert main(["check", str(path), "--json"]) == 0
    return {r["id"]: r["found"] for r in json.loads(capsys.readouterr().out)["rules"]}


def test_indicators_and_rules_ignore_sites_to_verify_until_verified(sample_db_path, tmp_path, capsys):
    before_check = _check(capsys, sample_db_path)
    before = _indicators(sample_db_path)
    with Database.open(sample_db_path) as db:
        result = import_gis(db, osm_file(tmp_path / "osm.geojson"))
        assert result.counts["sites"]["inserted"] == 18
    assert _indicators(sample_db_path) == before
    assert _check(capsys, sample_db_path) == before_check
    with Database.open(sample_db_path) as db:
        lattice = sites(db, "source_ref = 'osm:node/4200002'")["osm:node/4200002"]
        # Verified: an operator, its code, operating. It is a site like any other now.
        editing.save_record(db, "sites", {"operator_code": "VTL", "site_code": "HTH-0999", "status": "operating"},
                            uuid=lattice["uuid"])
    after = _indicators(sample_db_path)
    operating = {r["indicator"]: r["numerator"] for r in after["rows"]}["operating_sites"]
    assert operating == {r["indicator"]: r["numerator"] for r in before["rows"]}["operating_sites"] + 1
    found = _check(capsys, sample_db_path)
    assert found["site_unplanned_without_permit"] == before_check["site_unplanned_without_permit"] + 1


def test_the_workbook_summary_does_not_count_them(empty_db, osm, tmp_path):
    from python_calamine import CalamineWorkbook

    from hatang_desktop.core.exchange.export import export_workbook

    import_gis(empty_db, osm)
    export_workbook(empty_db, tmp_path / "so.xlsx")
    rows = CalamineWorkbook.from_path(str(tmp_path / "so.xlsx")).get_sheet_by_name("Tổng hợp").to_python()
    total = next(r for r in rows if r[0] == "Tổng cộng")
    assert total[1] == 0


# -- the rule in the form and in the database ---------------------------------------------------

def test_only_a_site_to_verify_may_have_an_unknown_operator():
    form = load_forms()["sites"]
    site = {"site_code": "OSM-n1", "operator_code": "UNKNOWN", "lat": 18.34, "lon": 105.9, "status": "to_verify"}
    assert form.problems(site) == []
    [(key, message)] = form.problems(site | {"status": "operating"})
    assert key == "operator_code" and "Cần xác minh" in message


def test_schema_5_upgrades_an_old_database_and_keeps_the_constraints(tmp_path):
    path = tmp_path / "old.db"
    shutil.copyfile(V1, path)
    with Database.open(path) as db:
        assert db.schema_version >= 5
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT site_code FROM sites").fetchall() == [("LSN0001",)]
        conn.execute("UPDATE sites SET status = 'to_verify', source_ref = 'osm:node/1'")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE sites SET operator_code = 'UNKNOWN', status = 'operating'")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute("UPDATE sites SET status = 'verified'")
        conn.execute("UPDATE sites SET operator_code = 'UNKNOWN'")
        conn.rollback()
        # The change log covers the new columns.
        assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                                           "sql LIKE '%source_tags%'")}
    finally:
        conn.close()


# -- they travel to the department and back -----------------------------------------------------

def test_exports_carry_them_and_the_department_imports_them_back(empty_db, osm, tmp_path):
    from hatang_desktop.core.exchange.export import export_workbook
    from hatang_desktop.core.exchange.importer import import_workbook

    import_gis(empty_db, osm)
    mine = sites(empty_db)
    keep = ("uuid", "site_code", "operator_code", "status", "source_ref", "source_tags", "name", "height_m", "note")

    def same(db):
        got = sites(db)
        assert set(got) == set(mine)
        for k, r in mine.items():
            assert {c: got[k][c] for c in keep} == {c: r[c] for c in keep}

    export_workbook(empty_db, tmp_path / "xa.xlsx")
    department = init_province_database(tmp_path / "so.db", "42", user="so")
    try:
        result = import_workbook(department, tmp_path / "xa.xlsx")
        assert result.applied and result.counts["sites"]["inserted"] == 18
        same(department)
        assert tenants(department) == tenants(empty_db)
        # The department's own import of the same OSM extract adds nothing.
        again = import_gis(department, osm)
        assert not again.applied and again.counts["sites"]["unchanged"] == 18
    finally:
        department.close()
    for fmt in ("gpkg", "geojson"):
        export_gis(empty_db, tmp_path / f"xa.{fmt}")
        other = init_province_database(tmp_path / f"gis_{fmt}.db", "42", user="so")
        try:
            result = import_gis(other, tmp_path / f"xa.{fmt}")
            assert result.counts["sites"]["inserted"] == 18
            same(other)
            assert not import_gis(empty_db, tmp_path / f"xa.{fmt}").applied   # and back: nothing changes
        finally:
            other.close()
