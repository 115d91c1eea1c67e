"""Every verb that takes DB, on the sample file and on the same sample on the server: the same
input gives the same result (engine_target runs each test on both; the file copy beside it is
what the verb gives on a file)."""

from __future__ import annotations

import json

import openpyxl
import pyogrio
import pytest

from hatang_desktop.core.exchange.conflicts import list_conflicts
from hatang_desktop.core.editing import save_record
from hatang_desktop.core.storage.targets import is_server_url, open_database
from tests.core.test_excel_sync import SITES, edit_cells

from .cli_helpers import file_copy, first_site, hatang, hatang_json, rows, scalar, sheets


def test_export_xlsx_writes_the_same_rows(engine_target, sample_db_path, tmp_path, capsys):
    expected = hatang_json(capsys, "export-xlsx", file_copy(sample_db_path, tmp_path), tmp_path / "file.xlsx")
    got = hatang_json(capsys, "export-xlsx", engine_target, tmp_path / "target.xlsx")
    assert got["rows"] == expected["rows"] and sum(got["rows"].values()) > 3000
    assert sheets(tmp_path / "target.xlsx") == sheets(tmp_path / "file.xlsx")


def test_export_xlsx_of_one_commune(engine_target, sample_db_path, tmp_path, capsys):
    commune = first_site(sample_db_path)[2]
    hatang_json(capsys, "export-xlsx", file_copy(sample_db_path, tmp_path), tmp_path / "file.xlsx", "--commune", commune)
    got = hatang_json(capsys, "export-xlsx", engine_target, tmp_path / "target.xlsx", "--commune", commune)
    assert 0 < got["rows"]["sites"] < 300
    assert sheets(tmp_path / "target.xlsx") == sheets(tmp_path / "file.xlsx")


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".kml", ".csv"])
def test_gis_export_writes_the_same_features(engine_target, sample_db_path, tmp_path, capsys, suffix):
    (tmp_path / "file").mkdir()
    (tmp_path / "target").mkdir()
    expected = hatang_json(capsys, "export", file_copy(sample_db_path, tmp_path), tmp_path / "file" / f"g{suffix}")
    got = hatang_json(capsys, "export", engine_target, tmp_path / "target" / f"g{suffix}")
    assert got["features"] == expected["features"] and sum(got["features"].values()) > 0
    for path in sorted((tmp_path / "file").iterdir()):
        other = tmp_path / "target" / path.name
        if suffix in (".csv", ".geojson"):
            assert other.read_bytes() == path.read_bytes() if suffix == ".csv" else \
                json.loads(other.read_text()) == json.loads(path.read_text())
            continue
        layers = [name for name, _kind in pyogrio.list_layers(path)]
        assert [name for name, _kind in pyogrio.list_layers(other)] == layers
        for layer in layers:
            a = pyogrio.read_dataframe(path, layer=layer)
            b = pyogrio.read_dataframe(other, layer=layer)
            assert len(a) == len(b) and list(a.columns) == list(b.columns)
            props = [c for c in a.columns if c != "geometry"]
            assert a[props].astype(str).equals(b[props].astype(str)), layer   # NaN, NaT alike on both
            if "geometry" in a.columns:
                assert [g.wkb if g is not None else None for g in a.geometry] == \
                       [g.wkb if g is not None else None for g in b.geometry], layer


def test_check_finds_the_same(engine_target, sample_db_path, tmp_path, capsys):
    expected = hatang_json(capsys, "check", file_copy(sample_db_path, tmp_path))
    got = hatang_json(capsys, "check", engine_target)
    assert got["counts"] == expected["counts"] and got["changes"] == expected["changes"]
    assert got["changes"]["new"] > 100
    key = ("rule_id", "target_uuid", "status", "severity", "note")
    assert [tuple(f[k] for k in key) for f in got["findings"]] == [tuple(f[k] for k in key) for f in expected["findings"]]
    # A second run: nothing new, nothing resolved, on either engine.
    again = hatang_json(capsys, "check", engine_target)
    assert again["changes"]["new"] == again["changes"]["resolved"] == 0


def test_check_resolves_with_a_note_line(engine_target, capsys):
    """An auto-resolved finding gets its dated line appended (the note's newline is engine-neutral)."""
    hatang_json(capsys, "check", engine_target)
    [(uuid, note)] = rows(engine_target, "SELECT target_uuid, note FROM findings WHERE rule_id = "
                                         "'site_unplanned_without_permit' AND status = 'open' AND deleted = 0 "
                                         "ORDER BY id LIMIT 1")
    with open_database(engine_target) as db:
        save_record(db, "sites", {"permit_no": "GP 01/2025"}, uuid=uuid, user="Cán bộ Sở")
    done = hatang_json(capsys, "check", engine_target)
    assert done["changes"]["resolved"] == 1
    [(after, status)] = rows(engine_target, "SELECT note, status FROM findings WHERE target_uuid = :u AND "
                                            "rule_id = 'site_unplanned_without_permit'", u=uuid)
    assert status == "resolved" and after.startswith(note + "\n") and "Tự động đóng" in after.splitlines()[-1]


def test_indicators_have_the_same_values(engine_target, sample_db_path, tmp_path, capsys):
    expected = hatang_json(capsys, "indicators", file_copy(sample_db_path, tmp_path))
    got = hatang_json(capsys, "indicators", engine_target)
    assert [r["indicator"] for r in got["rows"]] == [r["indicator"] for r in expected["rows"]]
    # Sums of fibre lengths are added in each engine's own order: equal but for the last bits.
    assert _close(got["rows"], expected["rows"]) and _close(got["communes"], expected["communes"])
    assert got["sites_by_technology"] == expected["sites_by_technology"]
    assert _close(got["fibre_km_by_operator_method"], expected["fibre_km_by_operator_method"])


def _close(a, b) -> bool:
    """Equal, floats to 12 significant digits, through lists and dicts."""
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def test_indicator_figures_set_on_either_engine(engine_target, capsys):
    commune = first_site(engine_target)[2]
    doc = hatang_json(capsys, "indicators", engine_target, "--commune", commune, "--year", "2025",
                      "--set-figure", "mobile_bb_subs_per_100=80.5")
    assert rows(engine_target, "SELECT unit_code, year, indicator, value FROM indicator_figures WHERE deleted = 0") \
        == [(commune, 2025, "mobile_bb_subs_per_100", 80.5)]
    [row] = [r for r in doc["rows"] if r["indicator"] == "mobile_bb_subs_per_100"]
    assert row["actual"] == 80.5


def test_reports_hold_the_same(engine_target, sample_db_path, tmp_path, capsys):
    expected_db = file_copy(sample_db_path, tmp_path)
    for kind, name in (("findings", "f.xlsx"), ("indicators", "i.xlsx")):
        expected = hatang_json(capsys, "report", kind, expected_db, tmp_path / f"file_{name}")
        got = hatang_json(capsys, "report", kind, engine_target, tmp_path / f"target_{name}")
        assert {k: v for k, v in got.items() if k != "out"} == {k: v for k, v in expected.items() if k != "out"}
    a, b = sheets(tmp_path / "target_f.xlsx"), sheets(tmp_path / "file_f.xlsx")
    assert a == b and sum(len(r) for r in a.values()) > 10
    # The indicators report's sheets, but the title line that names its source.
    a, b = sheets(tmp_path / "target_i.xlsx"), sheets(tmp_path / "file_i.xlsx")
    assert a.keys() == b.keys() and len(a) > 5
    assert all(_close(a[name][2:], b[name][2:]) for name in a)
    assert scalar(engine_target, "SELECT count(*) FROM findings WHERE deleted = 0") > 0


def _edited_workbook(sample_db_path, tmp_path, capsys):
    """A workbook exported from the file, with three site names and one height changed."""
    book = tmp_path / "so.xlsx"
    hatang_json(capsys, "export-xlsx", file_copy(sample_db_path, tmp_path, "source.db"), book)
    uuids = [u for (u,) in rows(sample_db_path, "SELECT uuid FROM sites WHERE deleted = 0 ORDER BY id LIMIT 4")]
    for i, u in enumerate(uuids[:3]):
        edit_cells(book, SITES, u, {"Tên trạm": f"Tên mới {i}"})
    edit_cells(book, SITES, uuids[3], {"Chiều cao cột (m)": 77})
    return book, uuids


def test_import_xlsx_applies_the_same_and_a_second_import_changes_nothing(engine_target, sample_db_path, tmp_path,
                                                                          capsys):
    book, uuids = _edited_workbook(sample_db_path, tmp_path, capsys)
    expected_db = file_copy(sample_db_path, tmp_path)
    expected = hatang_json(capsys, "import-xlsx", expected_db, book)
    got = hatang_json(capsys, "import-xlsx", engine_target, book)
    assert got["applied"] and got["updated"] == expected["updated"] == 4
    assert {k: got[k] for k in ("by_type", "errors", "matched_by")} == \
           {k: expected[k] for k in ("by_type", "errors", "matched_by")}
    assert (got["backup"] is None) == is_server_url(engine_target) and expected["backup"] is not None
    sql = "SELECT uuid, name, height_m, version, source FROM sites WHERE uuid IN (:a, :b, :c, :d) ORDER BY uuid"
    keys = dict(zip("abcd", uuids))
    assert rows(engine_target, sql, **keys) == rows(expected_db, sql, **keys)
    assert rows(engine_target, "SELECT field, new_value FROM change_log WHERE record_uuid = :u AND field = 'name'",
                u=uuids[0]) == [("name", "Tên mới 0")]
    again = hatang_json(capsys, "import-xlsx", engine_target, book)
    assert not again["applied"] and again["updated"] == again["inserted"] == again["conflicts"] == 0
    assert again["unchanged"] == got["unchanged"] + got["updated"]


def test_a_conflicting_edit_is_stored_alike_and_keep_theirs_settles_it(engine_target, sample_db_path, tmp_path,
                                                                       capsys):
    book, uuids = _edited_workbook(sample_db_path, tmp_path, capsys)
    expected_db = file_copy(sample_db_path, tmp_path)
    stored = []
    for target in (expected_db, engine_target):
        with open_database(target) as db:
            save_record(db, "sites", {"name": "Tên theo xã"}, uuid=uuids[0], user="Cán bộ xã")
        code, out, err = hatang(capsys, "import-xlsx", target, book, "--json")
        assert code == 3, err
        assert json.loads(out)["conflicts"] == 1
        with open_database(target, readonly=True) as db:
            stored.append([(c.table, c.record_uuid, c.field, c.base, c.local, c.theirs, c.workbook)
                           for c in list_conflicts(db)])
        listed = hatang_json(capsys, "conflicts", target)
        assert [(c["field"], c["local"], c["theirs"]) for c in listed] == [("name", "Tên theo xã", "Tên mới 0")]
    assert stored[0] == stored[1] and stored[1][0][3:6] == (stored[1][0][3], "Tên theo xã", "Tên mới 0")
    assert hatang_json(capsys, "conflicts", engine_target, "--keep", "theirs") == {"resolved": 1, "keep": "theirs"}
    assert rows(engine_target, "SELECT name FROM sites WHERE uuid = :u", u=uuids[0]) == [("Tên mới 0",)]
    assert hatang_json(capsys, "conflicts", engine_target) == []
    assert rows(engine_target, "SELECT status, resolution FROM conflicts") == [("resolved", "theirs")]


def test_gis_import_of_a_geopackage_from_the_file(engine_target, sample_db_path, tmp_path, capsys):
    expected_db = file_copy(sample_db_path, tmp_path)
    gpkg = tmp_path / "tu_tep.gpkg"
    hatang_json(capsys, "export", expected_db, gpkg)
    expected = hatang_json(capsys, "import", expected_db, gpkg)
    got = hatang_json(capsys, "import", engine_target, gpkg)
    assert got["by_type"] == expected["by_type"] and got["unchanged"] == expected["unchanged"] > 1000
    assert not got["applied"] and got["errors"] == []


def test_a_hand_typed_workbook_inserts_on_either_engine(engine_target, tmp_path, capsys):
    book = tmp_path / "danh_sach.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SITES
    ws.append(["Mã trạm", "Doanh nghiệp", "Tên trạm", "Vĩ độ", "Kinh độ"])
    ws.append(["NEW_0001", "Viettel", "Trạm mới gõ tay", 18.3433, 105.9051])
    wb.save(book)
    got = hatang_json(capsys, "import-xlsx", engine_target, book, expect=0)
    assert got["applied"] and got["by_type"]["sites"]["inserted"] == 1
    assert rows(engine_target, "SELECT name, version FROM sites WHERE site_code = 'NEW_0001'") == [("Trạm mới gõ tay", 1)]


def test_an_openstreetmap_export_imports_alike_on_either_engine(engine_target, sample_db_path, tmp_path, capsys):
    """A file no export of ours wrote: an Overpass/QuickOSM-shaped GeoJSON of masts (OSM ids and
    tags, no uuid) becomes the same sites to verify on a file and on the server, and a second
    import of it finds them again by their OSM ids."""
    from tests.core.test_gis_reference_points import osm_file

    osm = osm_file(tmp_path / "export.geojson")
    expected_db = file_copy(sample_db_path, tmp_path)
    expected = hatang_json(capsys, "import", expected_db, osm)
    got = hatang_json(capsys, "import", engine_target, osm)
    assert got["applied"] and got["by_type"] == expected["by_type"] and got["errors"] == []
    query = "SELECT source_ref, operator_code, site_code, status FROM sites WHERE source_ref LIKE 'osm:%' ORDER BY 1"
    assert rows(engine_target, query) == rows(expected_db, query) and len(rows(engine_target, query)) == 18
    again = hatang_json(capsys, "import", engine_target, osm)
    assert not again["applied"] and again["inserted"] == 0
