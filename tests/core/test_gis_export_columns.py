"""The GIS export's columnar path (export_columns, Arrow writes) gives the files the careful path
gives: the same layers, columns, types, values and geometries read back, on the sample and on a
database with the awkward cases (empty columns, text that looks like a number or NaN, Vietnamese
text, deleted parents, odd update times, multi-part boundaries), and the rows the database holds."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import affinity

from hatang_desktop.core.gis import export_gis
from hatang_desktop.core.gis.export import build_tables, geojson_paths
from hatang_desktop.core.exchange.layout import workbook_layout
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.gis.layers import ATTACHMENTS_ATTR, BOUNDARY_ATTRS, BOUNDARY_SYNTHETIC_ATTR, GEOMETRY, LAYER_ORDER, \
    TENANTS_ATTR, declared_kind, layer_columns
from hatang_desktop.core.storage.database import Database

HAS_OGR = shutil.which("ogrinfo") is not None
# The kind of field behind a dtype pyogrio reads back (GeoJSON's reader sizes an integer field to
# its values: int32).
FIELD_TYPE = {"object": "text", "str": "text", "int32": "integer", "int64": "integer", "float64": "real"}


def declared_kinds() -> dict[str, dict[str, str]]:
    """Per layer, each attribute's kind as the forms declare it (the boundaries' are text)."""
    kinds = {spec.record: {lc.name: declared_kind(lc.spec) for lc in layer_columns(spec)}
             for spec in workbook_layout(load_forms(), {})}
    kinds["admin_boundaries"] = dict.fromkeys((*BOUNDARY_ATTRS, BOUNDARY_SYNTHETIC_ATTR), "text")
    return kinds


def _expected_kind(declared: str, values: pd.Series, fmt: str) -> str:
    """The declared kind, unless the column holds text where a number is declared (kept as text,
    not lost), or, in GeoJSON, holds no value at all (a file without a schema: GDAL's reader
    calls a column of nulls text)."""
    present = values.dropna()
    if declared != "text" and any(isinstance(v, str) for v in present):
        return "text"
    if declared == "integer" and any(isinstance(v, float) and not v.is_integer() for v in present):
        return "real"
    if fmt == "geojson" and present.empty:
        return "text"
    return declared


def _careful(path, commune=None) -> dict[str, pd.DataFrame]:
    """The careful path's frames (a RecordState per record, display_value per cell), in memory."""
    with Database.open(path, readonly=True) as db:
        tables, _meta = build_tables(db, commune=commune)
    return {t.name: t.frame() for t in tables}


def _files(out, fmt: str) -> dict[str, tuple]:
    """layer -> (file, layer name in it)."""
    if fmt == "gpkg":
        return {r: (out, r) for r in LAYER_ORDER}
    return {r: (p, None) for r, p in geojson_paths(out).items()}


def _same_geometries(expected, got, fmt: str) -> None:
    expected, got = np.asarray(expected, dtype=object), np.asarray(got, dtype=object)
    assert len(expected) == len(got)
    if fmt == "gpkg":  # stored as doubles: exactly the stored shapes
        assert list(shapely.to_wkb(expected)) == list(shapely.to_wkb(got))
    else:  # nine decimals, rings turned counter-clockwise (RFC 7946)
        assert shapely.equals_exact(shapely.normalize(expected), shapely.normalize(got), tolerance=1e-9).all()


def _check_against_careful(db_path, tmp_path, fmt: str, commune=None) -> dict[str, pd.DataFrame]:
    careful = _careful(db_path, commune)
    kinds = declared_kinds()
    out = tmp_path / f"new.{fmt}"
    with Database.open(db_path, readonly=True) as db:
        result = export_gis(db, out, commune=commune)
    assert result.counts == {r: len(careful[r]) for r in LAYER_ORDER}
    got = {}
    for record, (path, layer) in _files(out, fmt).items():
        expected = careful[record]
        # (GeoJSON's reader would guess "2025-10-01" texts to be dates: keep them as written.)
        read = {} if fmt == "gpkg" else {"DATE_AS_STRING": "YES"}
        info = pyogrio.read_info(path, layer=layer, **read)
        frame = pyogrio.read_dataframe(path, layer=layer, **read)
        attrs = [c for c in expected.columns if c != "geometry"]
        assert list(info["fields"]) == attrs, record
        # Types as the forms declare them, whatever the values (same schema in every export).
        extra = {TENANTS_ATTR: "text", ATTACHMENTS_ATTR: "text"}   # the children's summaries
        assert [FIELD_TYPE[str(t)] for t in info["dtypes"]] == \
            [_expected_kind({**kinds[record], **extra}[c], expected[c], fmt) for c in attrs], record
        pd.testing.assert_frame_equal(frame[attrs].reset_index(drop=True),
                                      pd.DataFrame(expected[attrs]).reset_index(drop=True).astype(frame[attrs].dtypes),
                                      check_dtype=True, obj=record)
        if "geometry" in expected:
            assert info["geometry_type"] == GEOMETRY[record], record
            _same_geometries(expected.geometry.values, frame.geometry.values, fmt)
        got[record] = frame
    if HAS_OGR:
        for path in {p for p, _layer in _files(out, fmt).values()}:
            done = subprocess.run(["ogrinfo", "-al", "-so", str(path)], capture_output=True, text=True)
            assert done.returncode == 0 and "Warning" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    return got


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_sample_export_matches_the_careful_path_and_the_database(sample_db_path, tmp_path, fmt):
    got = _check_against_careful(sample_db_path, tmp_path, fmt)
    # And the database's own rows, read independently: every live record once, in id order,
    # each site at its stored position.
    con = sqlite3.connect(sample_db_path)
    for record in ("sites", "poles", "fibre_routes", "zones", "site_tenants", "pole_attachments"):
        uuids = [u for (u,) in con.execute(f"SELECT uuid FROM {record} WHERE deleted = 0 ORDER BY id")]
        assert list(got[record]["UUID"]) == uuids
    lat, lon = map(np.array, zip(*con.execute("SELECT lat, lon FROM sites WHERE deleted = 0 ORDER BY id")))
    points = got["sites"].geometry.values
    tol = 0 if fmt == "gpkg" else 1e-9
    assert np.abs(shapely.get_x(points) - lon).max() <= tol and np.abs(shapely.get_y(points) - lat).max() <= tol
    con.close()


def _awkward(path) -> None:
    """The sample bent into the cases a real survey database has and the sample lacks."""
    con = sqlite3.connect(path)
    sites = [u for (u,) in con.execute("SELECT uuid FROM sites ORDER BY id LIMIT 6")]
    con.execute("UPDATE sites SET name = 'NaN', note = 'nan', address = NULL WHERE uuid = ?", (sites[0],))
    con.execute("UPDATE sites SET name = 'Trạm Ngã ba Đồng Lộc – “cũ”', note = '123', owner = ''"
                " WHERE uuid = ?", (sites[1],))
    con.execute("UPDATE sites SET gnss_accuracy_m = 2.5, gnss_satellites = 11, height_m = 0.1 + 0.2 WHERE uuid = ?",
                (sites[2],))
    con.execute("UPDATE sites SET height_m = NULL, tower_type = NULL, owner = NULL WHERE uuid = ?", (sites[3],))
    con.execute("UPDATE sites SET deleted = 1 WHERE uuid = ?", (sites[4],))   # its tenants stay live
    con.execute("UPDATE sites SET updated_at = '2025-10-01T08:00:00.123456' WHERE uuid = ?", (sites[0],))
    con.execute("UPDATE sites SET updated_at = '2025-10-02' WHERE uuid = ?", (sites[1],))
    con.execute("UPDATE sites SET updated_at = 'not a time' WHERE uuid = ?", (sites[2],))
    con.execute("UPDATE sites SET permit_date = '2024-02-29', permit_no = 'GP-01/2024' WHERE uuid = ?", (sites[5],))
    con.execute("UPDATE site_tenants SET tenant_site_code = 'VT-ĐL-01', has_2g = 0, has_3g = 0, has_4g = 0, has_5g = 0"
                " WHERE site_uuid = ?", (sites[1],))
    con.execute("UPDATE pole_attachments SET cable_count = 0, lowest_height_m = NULL, in_insulating_tube = NULL, note = 'Cáp treo tạm'"
                " WHERE id IN (SELECT id FROM pole_attachments ORDER BY id LIMIT 3)")
    con.execute("UPDATE poles SET deleted = 1 WHERE uuid = (SELECT pole_uuid FROM pole_attachments ORDER BY id DESC LIMIT 1)")
    # A commune of two parts (an island) and one stored as a plain polygon.
    two, one = con.execute("SELECT code, boundary FROM admin_units WHERE level = 'commune' AND boundary IS NOT NULL "
                           "ORDER BY code LIMIT 2").fetchall()
    shape = shapely.from_wkb(two[1])
    island = affinity.translate(shapely.box(*shape.bounds), 1.0, 0.0)
    parts = list(getattr(shape, "geoms", [shape])) + [island]
    con.execute("UPDATE admin_units SET boundary = ?, name = 'Xã Đảo Ngư' WHERE code = ?",
                (shapely.to_wkb(shapely.MultiPolygon(parts)), two[0]))
    single = shapely.from_wkb(one[1])
    single = single.geoms[0] if single.geom_type == "MultiPolygon" else single
    con.execute("UPDATE admin_units SET boundary = ? WHERE code = ?", (shapely.to_wkb(single), one[0]))
    con.commit()
    con.close()


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_awkward_database_matches_the_careful_path(sample_db_path, tmp_path, fmt):
    _awkward(sample_db_path)
    got = _check_against_careful(sample_db_path, tmp_path, fmt)
    sites = got["sites"]
    assert "NaN" in set(sites["Tên trạm"]) and "Trạm Ngã ba Đồng Lộc – “cũ”" in set(sites["Tên trạm"])
    assert pyogrio.read_info(*_files(tmp_path / f"new.{fmt}", fmt)["sites"])["dtypes"][
        list(sites.columns).index("Độ chính xác GPS (m)")] == "float64"   # one value: a real column
    boundaries = got["admin_boundaries"]
    assert set(boundaries.geometry.geom_type) == {"MultiPolygon"}
    assert (shapely.get_num_geometries(boundaries.geometry.values) >= 2).any()


@pytest.mark.parametrize("gdal", [False, True])
def test_commune_export_matches_the_careful_path(sample_db_path, tmp_path, monkeypatch, gdal):
    con = sqlite3.connect(sample_db_path)
    (commune,) = con.execute("SELECT commune_code FROM sites GROUP BY commune_code ORDER BY count(*) DESC").fetchone()
    con.close()
    calls = _gdal_reads(monkeypatch)
    if gdal:   # the commune's code inlined in GDAL's SELECT (no bound parameters there)
        monkeypatch.setattr("hatang_desktop.core.gis.export_columns.GDAL_MIN_ROWS", 0)
    got = _check_against_careful(sample_db_path, tmp_path, "gpkg", commune=commune)
    assert bool(calls) == gdal and all(taken for _record, taken in calls)
    assert len(got["sites"]) and set(got["sites"]["Xã/phường"]) == {got["sites"]["Xã/phường"].iloc[0]}
    assert len(got["admin_boundaries"]) == 1


@pytest.mark.parametrize("gdal", [False, True])
def test_forked_worker_reads_the_same_layers(sample_db_path, monkeypatch, gdal):
    """A national export reads poles and cables in a forked worker: the layers are the same as
    read in one process (here forced on the sample, whatever threads the test run has)."""
    from hatang_desktop.core.gis import export_columns

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    _awkward(sample_db_path)
    forks = []
    real_job = export_columns.ForkedJob

    def counted(job):
        forks.append(job)
        return real_job(job)

    with Database.open(sample_db_path, readonly=True) as db:
        alone, _meta = export_columns.read_layers(db, parallel=False, gdal_reads=False)
        monkeypatch.setattr(export_columns, "fork_allowed", lambda: True)
        monkeypatch.setattr(export_columns, "FORK_MIN_ROWS", 1)
        monkeypatch.setattr(export_columns, "GDAL_MIN_ROWS", 0 if gdal else 10**9)
        monkeypatch.setattr(export_columns, "ForkedJob", counted)
        forked, _meta = export_columns.read_layers(db)
    assert len(forks) == len(export_columns.FORKED)
    assert [t.record for t in forked] == [t.record for t in alone] == list(LAYER_ORDER)
    for a, b in zip(alone, forked):
        assert a.arrow().equals(b.arrow()), a.record


@pytest.fixture
def gdal_on_small(monkeypatch):
    """GDAL reads the sample's layers too (it reads only large databases' layers)."""
    from hatang_desktop.core.gis import export_columns

    monkeypatch.setattr(export_columns, "GDAL_MIN_ROWS", 0)


def _stored_unlike_their_types(path) -> None:
    """Values a hand-edited database may hold that GDAL would coerce to the column's declared
    type: text in a REAL column, a real in an INTEGER one, an integer beyond 32 bits."""
    con = sqlite3.connect(path)
    con.execute("UPDATE sites SET gnss_hdop = 'n/a' WHERE id = (SELECT min(id) FROM sites WHERE deleted = 0)")
    con.execute("UPDATE poles SET gnss_satellites = 2.5, gnss_fix_count = 5000000000"
                " WHERE id = (SELECT max(id) FROM poles WHERE deleted = 0)")
    con.commit()
    con.close()


def _gdal_reads(monkeypatch) -> list[tuple[str, bool]]:
    """(record, whether GDAL's columns were taken) per read through export_gdal."""
    from hatang_desktop.core.gis import export_columns

    calls = []
    real = export_columns.gdal_columns

    def spied(conn, path, form, *args, **options):
        got = real(conn, path, form, *args, **options)
        calls.append((form.record, got is not None))
        return got

    monkeypatch.setattr(export_columns, "gdal_columns", spied)
    return calls


def test_gdal_reads_give_the_layers_sqlite3_reads_give(sample_db_path, monkeypatch, gdal_on_small):
    """GDAL reads every layer of the sample and of the awkward database (NaN/'nan'/'123' text,
    curly quotes, a deleted parent), and the layers are exactly those read through sqlite3."""
    from hatang_desktop.core.gis import export_columns

    _awkward(sample_db_path)
    calls = _gdal_reads(monkeypatch)
    with Database.open(sample_db_path, readonly=True) as db:
        careful, _meta = export_columns.read_layers(db, parallel=False, gdal_reads=False)
        assert calls == []
        fast, _meta = export_columns.read_layers(db, parallel=False)
    assert {record for record, _taken in calls} == {r for r in LAYER_ORDER if r != "admin_boundaries"}
    assert all(taken for _record, taken in calls)
    for a, b in zip(careful, fast):
        assert a.arrow().equals(b.arrow()), a.record


def test_values_stored_unlike_their_types_are_read_through_sqlite3(sample_db_path, tmp_path, monkeypatch,
                                                                   gdal_on_small):
    """Where GDAL would coerce a value ('n/a' in a REAL column, 2.5 in an INTEGER one, a 64-bit
    integer), that layer is read through sqlite3, the others still by GDAL; the file is the
    careful path's."""
    _awkward(sample_db_path)
    _stored_unlike_their_types(sample_db_path)
    calls = _gdal_reads(monkeypatch)
    got = _check_against_careful(sample_db_path, tmp_path, "gpkg")
    taken = dict(calls)
    assert taken["sites"] is False and taken["poles"] is False
    assert taken["pole_attachments"] and taken["fibre_routes"] and taken["site_tenants"]
    assert "n/a" in set(got["sites"]["HDOP"])                        # a text column now, as sqlite3 read it
    assert 5000000000 in set(got["poles"]["Số lần đo GPS lấy trung bình"])
    assert 2.5 in set(got["poles"]["Số vệ tinh GPS"])


def test_gdal_read_of_a_changed_database_is_not_used(sample_db_path):
    """GDAL reads through its own connection: when the database has changed since the caller's
    mark, its columns are not taken (the caller's transaction may see other rows)."""
    from hatang_desktop.core.exchange.export import _mark, province_communes
    from hatang_desktop.core.exchange.layout import workbook_layout
    from hatang_desktop.core.forms import load_forms
    from hatang_desktop.core.gis.export_gdal import gdal_columns
    from hatang_desktop.core.storage.dialect import raw

    forms = load_forms()
    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        specs = {spec.record: spec for spec in workbook_layout(forms, province_communes(s))}
        mark = _mark(s)
        conn = raw(s)
        read = gdal_columns(conn, db.path, specs["poles"].form, None, mark)
        assert read is not None and len(read["uuid"]) == conn.execute(
            "SELECT count(*) FROM poles WHERE deleted = 0").fetchone()[0]
        assert gdal_columns(conn, db.path, specs["poles"].form, None, mark - 1) is None


def test_pole_layer_keeps_its_cable_summary_when_the_cable_worker_fails(sample_db_path, monkeypatch, gdal_on_small):
    """Poles and cables are read by two workers, the poles' cable summary made from what the
    cables' worker sends back; when that worker fails, this process reads both again and the
    layers are the same."""
    from hatang_desktop.core.exchange.export_parallel import WorkerFailed
    from hatang_desktop.core.gis import export_columns

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    _awkward(sample_db_path)
    real_job = export_columns.ForkedJob

    class CablesFail:
        def __init__(self, job):
            self.record = job.args[1]
            self.job = real_job(job)

        def result(self):
            if self.record == "pole_attachments":
                raise WorkerFailed("killed")
            return self.job.result()

        def cancel(self):
            self.job.cancel()

    with Database.open(sample_db_path, readonly=True) as db:
        alone, _meta = export_columns.read_layers(db, parallel=False)
        monkeypatch.setattr(export_columns, "fork_allowed", lambda: True)
        monkeypatch.setattr(export_columns, "FORK_MIN_ROWS", 1)
        monkeypatch.setattr(export_columns, "ForkedJob", CablesFail)
        forked, _meta = export_columns.read_layers(db)
    poles = next(t for t in forked if t.record == "poles")
    assert export_columns.ATTACHMENTS_ATTR in poles.columns
    for a, b in zip(alone, forked):
        assert a.arrow().equals(b.arrow()), a.record
