"""GIS files as people have them (issue 17): every export imports back to the same state, and
files that no one here wrote (shapefiles in VN-2000 and TCVN3, invalid polygons, odd property
values, mixed geometries, zipped shapefiles, KMZ, Google My Maps KML) import or are refused with
a message, never a crash. Each file is made by the test itself, in the shape the tools that make
such files give it; GDAL's own `ogrinfo` reads them back where that helps."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text

from hatang_desktop.core.editing import move_point
from hatang_desktop.core.gis import export_gis, import_gis
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
