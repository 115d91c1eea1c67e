"""The import preview says what an import will do (issue 20): per record the insert, the updates
with their fields old -> new, the deletion with what goes with it, what a new record arrives
without, and the commune filled from the position (inside a boundary, else the nearest centre,
said so). The workbook is exported, then edited with openpyxl as a person edits it."""

from __future__ import annotations

import sqlite3

import numpy as np
import shapely

from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.exchange.preview import describe_plan
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.geo.geodesy import geodesic_distance_m
from hatang_desktop.core.storage.database import Database

from ..edited_workbook import NEW_CODE, edit_exported
from .fault_env import hatang


def _brands(codes):
    from hatang_desktop.core.operators import BY_CODE
    return {BY_CODE[c].brand for c in codes}


def test_the_preview_lists_the_insert_the_updates_with_their_fields_and_the_delete_with_its_tenants(
        sample_db_path, tmp_path):
    edited = edit_exported(sample_db_path, tmp_path / "so.xlsx")
    forms = load_forms()
    with Database.open(sample_db_path) as db:
        result = import_workbook(db, edited.path, dry_run=True)
        entries = describe_plan(db, result.plans, forms, "vi")
        english = describe_plan(db, result.plans, forms, "en")
    by_action = {a: [e for e in entries if e.record == "sites" and e.action == a] for a in ("insert", "update", "delete")}
    assert [len(by_action[a]) for a in ("insert", "update", "delete")] == [1, 2, 1]
    assert {e.record for e in entries} == {"sites"}   # the tenants are told with their site

    updates = {e.uuid: e for e in by_action["update"]}
    renamed = updates[edited.renamed]
    assert [(c.label, c.old, c.new) for c in renamed.changes] == [
        ("Tên trạm", edited.old_name, "Trạm đổi tên ở Sở"), ("Chiều cao cột", "35", "57")]
    assert renamed.name == "Trạm đổi tên ở Sở"
    (retyped,) = updates[edited.retyped].changes
    assert (retyped.label, retyped.old, retyped.new) == ("Loại cột anten", edited.old_tower, "Cột dây co")
    english_retyped = next(e for e in english if e.uuid == edited.retyped).changes[0]
    assert (english_retyped.label, english_retyped.old, english_retyped.new) == ("Tower type", "Camouflaged",
                                                                                 "Guyed mast")

    (deleted,) = by_action["delete"]
    assert deleted.code == edited.deleted_code
    brands = _brands(edited.deleted_tenants)
    assert len(deleted.with_it) == len(edited.deleted_tenants) == 2
    assert {w.split(": ", 1)[1].split(" (")[0] for w in deleted.with_it} == brands
    assert all(w.startswith("Doanh nghiệp trên trạm: ") for w in deleted.with_it)

    (new,) = by_action["insert"]
    assert new.code == NEW_CODE
    assert new.warnings == ["thiếu: Loại cột anten, Công nghệ"]
    assert len(new.notes) == 1 and new.notes[0].startswith("gán xã theo vị trí: ")

    # The command line prints the same list.
    out = hatang("import-xlsx", sample_db_path, edited.path, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert f"Thêm {NEW_CODE}" in out.stdout and "! thiếu: Loại cột anten, Công nghệ" in out.stdout
    assert f"Tên trạm: {edited.old_name} → Trạm đổi tên ở Sở" in out.stdout
    assert f"Xóa {edited.deleted_code}" in out.stdout
    assert all(f"+ Doanh nghiệp trên trạm: {b}" in out.stdout for b in brands), out.stdout


def _communes(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT code, name, boundary, centre_lat, centre_lon FROM admin_units "
                            "WHERE level = 'commune' AND deleted = 0").fetchall()


def _import_at(sample_db_path, tmp_path, lat, lon):
    edited = edit_exported(sample_db_path, tmp_path / "so.xlsx", new_position=(lat, lon))
    forms = load_forms()
    with Database.open(sample_db_path) as db:
        preview = describe_plan(db, import_workbook(db, edited.path, dry_run=True).plans, forms, "vi")
        import_workbook(db, edited.path)
    with sqlite3.connect(sample_db_path) as conn:
        (commune,) = conn.execute("SELECT commune_code FROM sites WHERE site_code = ? AND deleted = 0",
                                  (NEW_CODE,)).fetchone()
    (new,) = [e for e in preview if e.action == "insert"]
    return commune, new.notes


def test_a_new_site_without_a_commune_gets_the_commune_whose_boundary_holds_it(sample_db_path, tmp_path):
    code, name, boundary, _lat, _lon = _communes(sample_db_path)[10]
    inside = shapely.from_wkb(boundary).representative_point()
    commune, notes = _import_at(sample_db_path, tmp_path, inside.y, inside.x)
    assert commune == code
    assert notes == [f"gán xã theo vị trí: {name} ({code}), điểm nằm trong ranh giới xã"]


def test_outside_every_boundary_the_nearest_commune_centre_is_taken_and_the_preview_says_so(sample_db_path, tmp_path):
    lat, lon = 18.30, 106.30   # off the coast: inside Vietnam, in no commune of the province
    communes = _communes(sample_db_path)
    assert not any(shapely.from_wkb(b).covers(shapely.Point(lon, lat)) for _c, _n, b, _y, _x in communes)
    d = [float(geodesic_distance_m(lat, lon, y, x)) for _c, _n, _b, y, x in communes]
    nearest = communes[int(np.argmin(d))]
    commune, notes = _import_at(sample_db_path, tmp_path, lat, lon)
    assert commune == nearest[0]
    km = f"{min(d) / 1000:.1f}".replace(".", ",")
    assert notes == [f"gán xã theo vị trí gần nhất: {nearest[1]} ({nearest[0]}), cách tâm xã {km} km "
                     "(điểm ngoài ranh giới các xã)"]


def test_a_gis_file_s_new_sites_get_their_commune_from_their_position_too(tmp_path):
    from pathlib import Path

    from hatang_desktop.core.gis import import_gis, preview_gis
    from hatang_desktop.core.geo.communes import CommuneLocator
    from hatang_desktop.core.provinces_db import init_province_database

    kml = Path(__file__).resolve().parents[1] / "data" / "gis" / "operator_sites.kml"
    db = init_province_database(tmp_path / "empty.db", "42", user="tester")
    try:
        entries = describe_plan(db, preview_gis(db, kml).plans, load_forms(), "en")
        import_gis(db, kml)
        with db.session() as s:
            locator = CommuneLocator(s)
    finally:
        db.close()
    with sqlite3.connect(tmp_path / "empty.db") as conn:
        sites = conn.execute("SELECT site_code, commune_code, lat, lon FROM sites").fetchall()
    assert len(sites) == 3
    for code, commune, lat, lon in sites:
        found = locator.find(lat, lon)
        assert commune == found.code
        (entry,) = [e for e in entries if e.code == code]
        assert entry.notes and found.code in entry.notes[0] and entry.notes[0].startswith("commune set from the")


def test_the_preview_and_the_commune_are_the_same_on_the_server(engine_target, sample_db_path, tmp_path):
    """The workbook is edited from the file's export; the server's copy holds the same records."""
    from sqlalchemy import text

    from hatang_desktop.core.storage.targets import open_database

    edited = edit_exported(sample_db_path, tmp_path / "so.xlsx")
    forms = load_forms()
    with open_database(engine_target) as db:
        entries = describe_plan(db, import_workbook(db, edited.path, dry_run=True).plans, forms, "vi")
        import_workbook(db, edited.path)
        with db.session() as s:
            commune = s.execute(text("SELECT commune_code FROM sites WHERE site_code = :c AND deleted = 0"),
                                {"c": NEW_CODE}).scalar()
    assert sorted((e.action, e.code) for e in entries)[:1] == [("delete", edited.deleted_code)]
    assert [len(e.with_it) for e in entries if e.action == "delete"] == [2]
    (new,) = [e for e in entries if e.action == "insert"]
    assert commune and len(new.notes) == 1 and f"({commune})" in new.notes[0]
