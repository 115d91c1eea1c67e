"""The GIS import's bulk path (storage/bulk.py: the insert triggers' work set-wise; the route
poles linked set-wise; unique keys checked by one scan) writes exactly what the careful path
writes row by row: the same rows in every table, the same change log, the same R*Tree boxes."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import sqlite3
import uuid as uuidlib
from pathlib import Path

import pytest

from hatang_desktop.core.editing import route_poles
from hatang_desktop.core.exchange import merge_checks, merge_write
from hatang_desktop.core.exchange.records import to_db, to_db_columns, to_db_many
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.gis import InvalidGisFileError, export_gis, import_gis
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage import bulk
from hatang_desktop.core.storage.database import Database

# Columns that legitimately differ between two runs: the time each write happened (a record's
# updated_at, the change log's time, which the triggers copy from it, an operation's times).
TIMES = {"updated_at", "time", "started_at", "finished_at", "ended_at", "created_at"}


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory) -> Path:
    from hatang_desktop.core.sample import generate_sample

    folder = tmp_path_factory.mktemp("bulk")
    generate_sample(folder / "source.db", sites=300, seed=7)
    with Database.open(folder / "source.db", readonly=True) as db:
        export_gis(db, folder / "source.gpkg")
    return folder / "source.gpkg"


class Paths:
    """Which way each step went, counted by wrapping the functions that decide it."""

    def __init__(self, monkeypatch):
        self.triggered = self.set_wise = self.linked = 0
        self.aside: set[str] = set()   # the tables whose indexes were built again after
        through, replay, link = bulk._through_triggers, bulk.insert_replay_sql, merge_write._only_new_routes
        outnumbered = bulk.outnumbered

        def counted_aside(*a, **k):
            tables = outnumbered(*a, **k)
            self.aside |= set(tables)
            return tables

        def counted_through(*a, **k):
            self.triggered += 1
            return through(*a, **k)

        def counted_replay(*a, **k):
            self.set_wise += 1
            return replay(*a, **k)

        def counted_link(*a, **k):
            found = link(*a, **k)
            self.linked += found
            return found

        monkeypatch.setattr(bulk, "_through_triggers", counted_through)
        monkeypatch.setattr(bulk, "insert_replay_sql", counted_replay)
        monkeypatch.setattr(merge_write, "_only_new_routes", counted_link)
        monkeypatch.setattr(merge_write, "outnumbered", counted_aside)
        monkeypatch.setattr(route_poles, "outnumbered", counted_aside)


@pytest.fixture
def empty_file(tmp_path) -> Path:
    """One new province database, copied for each run: the admin units' UUIDs, the database's
    id are made up at creation and must be the same on both sides."""
    init_province_database(tmp_path / "empty.db", "42", user="tester").close()
    return tmp_path / "empty.db"


def _import(empty: Path, gpkg: Path, name: str, monkeypatch, *, careful: bool, minimum: int = 3000,
            **how) -> tuple[Path, Paths]:
    target = empty.with_name(name)
    shutil.copyfile(empty, target)
    with monkeypatch.context() as m:
        paths = Paths(m)
        if careful:
            # The row-by-row path every import took before: triggers per row, a route's poles
            # looked up route by route, a query per unique key.
            m.setattr(bulk, "BULK_ROWS", 10**9)
            m.setattr(merge_write, "_only_new_routes", lambda *a, **k: False)
            m.setattr(merge_checks, "ONE_SCAN_ABOVE", 10**9)
        else:
            m.setattr(bulk, "BULK_ROWS", 1)
            m.setattr(merge_checks, "ONE_SCAN_ABOVE", 0)
        db = Database.open(target)
        try:
            result = import_gis(db, gpkg, user="tester", **how)
        finally:
            db.close()
    assert result.applied and result.total["inserted"] > minimum
    return target, paths


def _dump(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows in rowid order (R*Trees by id), without the columns that hold times."""
    conn = sqlite3.connect(path)
    try:
        tables = [n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'rtree_%' ORDER BY name")]
        rtrees = [n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%rtree%'")]
        out = {}
        for t in tables:
            cols = [c[1] for c in conn.execute(f"PRAGMA table_info({t})") if c[1] not in TIMES]
            out[t] = conn.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY rowid").fetchall()
        for t in rtrees:
            out[t] = conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
            out[f"(rtreecheck {t})"] = conn.execute(f"SELECT rtreecheck('{t}')").fetchall()
        out["(triggers)"] = conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
                                         "ORDER BY name").fetchall()
        # Indexes set aside during a bulk import are back, the same, with the same entries.
        out["(indexes)"] = conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' "
                                        "ORDER BY name").fetchall()
        out["(integrity)"] = conn.execute("PRAGMA integrity_check").fetchall()
        return out
    finally:
        conn.close()


def test_bulk_import_writes_what_the_careful_one_writes(gpkg, empty_file, monkeypatch):
    careful, slow = _import(empty_file, gpkg, "careful.db", monkeypatch, careful=True)
    fast, quick = _import(empty_file, gpkg, "bulk.db", monkeypatch, careful=False)
    # Each run took the path it was meant to.
    assert slow.set_wise == 0 and slow.triggered > 0
    assert quick.triggered == 0 and quick.set_wise >= 4 and quick.linked == 1
    assert not slow.aside and {"change_log", "poles", "pole_attachments", "fibre_route_poles"} <= quick.aside
    a, b = _dump(careful), _dump(fast)
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], table
    # What was compared is not empty: the log has a row per record, the R*Trees a box per point.
    assert len(a["change_log"]) > 3000 and len(a["rtree_poles"]) > 1000 and len(a["fibre_route_poles"]) > 100


def _office_poles(folder: Path) -> Path:
    """A list of power poles as an office hands it over (not written by us): its own headers,
    codes unpadded, blank, "NaN" and null notes, heights as numbers, text or nothing."""
    rnd = random.Random(3)
    features = [{"type": "Feature", "geometry": {"type": "Point",
                                                 "coordinates": [105.88 + rnd.random() * 0.05, 18.33 + rnd.random() * 0.05]},
                 "properties": {"SO_HIEU": str(i + 1), "CHU_SO_HUU": "Điện lực",
                                "GHI_CHU": rnd.choice([None, "NaN", "cột bê tông ly tâm", ""]),
                                "CAO_M": rnd.choice([8.5, "10", None])}} for i in range(650)]
    path = folder / "cot_dien.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    return path


def _overpass_masts(folder: Path) -> Path:
    """Masts as overpass-turbo exports them (`@id`, OSM tags): sites to verify."""
    rnd = random.Random(4)
    features = [{"type": "Feature", "geometry": {"type": "Point",
                                                 "coordinates": [105.6 + rnd.random() * 0.5, 18.2 + rnd.random() * 0.3]},
                 "properties": {"@id": f"node/{9_000_000 + i}", "man_made": "mast", "tower:type": "communication",
                                "operator": rnd.choice(["Viettel", "VNPT", "MobiFone", None]),
                                "height": rnd.choice(["30", "45 m", None])}} for i in range(620)]
    path = folder / "export.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "generator": "overpass-turbo", "features": features}),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("make, how", [(_office_poles, {"as_record": "poles", "mapping": {"SO_HIEU": "code", "GHI_CHU": None}}),
                                       (_overpass_masts, {})], ids=["office_poles", "overpass_masts"])
def test_bulk_import_of_files_from_elsewhere(make, how, empty_file, monkeypatch):
    """Files this project did not write, large enough for the bulk path, land as the careful path
    lands them. Their records have no UUIDs: each run draws its new ones from the same sequence."""
    source = make(empty_file.parent)

    def run(name: str, careful: bool):
        drawn = itertools.count(1)
        with monkeypatch.context() as m:
            m.setattr(uuidlib, "uuid4", lambda: uuidlib.UUID(int=next(drawn)))
            return _import(empty_file, source, name, monkeypatch, careful=careful, minimum=600, **how)

    careful, slow = run("careful.db", True)
    fast, quick = run("bulk.db", False)
    assert slow.set_wise == 0 and quick.triggered == 0 and quick.set_wise >= 1
    a, b = _dump(careful), _dump(fast)
    for table in a:
        assert a[table] == b[table], table
    assert len(a["change_log"]) > 600


def _refused(gpkg: Path, tmp_path: Path, monkeypatch, table: str, spoil) -> str:
    """Import `gpkg` into a new province file in bulk with `spoil(names, columns)` applied to
    the batches of `table` on their way to insert_many; the import must be refused and the
    file left exactly as it was. Returns the refusal's message."""
    monkeypatch.setattr(bulk, "BULK_ROWS", 1)
    db = init_province_database(tmp_path / "refused.db", "42", user="tester")
    before = _dump(tmp_path / "refused.db")
    real = bulk.insert_many

    def spoiled(s, name, batches, **how):
        if name == table:
            for names, columns in batches.items():
                spoil(names, columns)
        return real(s, name, batches, **how)

    monkeypatch.setattr(merge_write, "insert_many", spoiled)
    with pytest.raises(InvalidGisFileError) as info:
        import_gis(db, gpkg, user="tester")
    db.close()
    assert _dump(tmp_path / "refused.db") == before
    return str(info.value.problems[0].message)


def test_bulk_import_refused_writes_nothing(gpkg, tmp_path, monkeypatch):
    """A row the database refuses in the middle of a bulk insert (a constraint no check foresaw)
    rolls everything back, the insert triggers too, and the import is refused."""
    def same_uuid(names, columns):
        # Every pole under one UUID: the second row of the batch breaks the uuid's uniqueness.
        uuids = columns[names.index("uuid")]
        uuids[:] = ["00000000-0000-4000-8000-000000000000"] * len(uuids)

    assert "UNIQUE" in _refused(gpkg, tmp_path, monkeypatch, "poles", same_uuid)


def test_bulk_import_refused_by_an_index_built_again(gpkg, tmp_path, monkeypatch):
    """A duplicate that only a UNIQUE index set aside for the import catches (two attachments of
    one operator on one pole) is refused when the index is built again: everything rolls back,
    the indexes and triggers are as they were."""
    def doubled(names, columns):
        for key in ("pole_uuid", "operator_code"):
            column = columns[names.index(key)]
            column[-1] = column[0]

    message = _refused(gpkg, tmp_path, monkeypatch, "pole_attachments", doubled)
    assert "UNIQUE constraint failed: pole_attachments.pole_uuid" in message


def test_bulk_import_refused_by_a_replay_on_its_thread(gpkg, tmp_path, monkeypatch):
    """The poles' triggers replayed set-wise on the replay thread (bulk.Replays) while the next
    table's rows are put together: a statement of that replay the database refuses is raised
    before anything else is written, and everything rolls back, the triggers too."""
    monkeypatch.setattr(bulk, "BULK_ROWS", 1)
    db = init_province_database(tmp_path / "refused.db", "42", user="tester")
    before = _dump(tmp_path / "refused.db")
    real = bulk.insert_replay_sql
    threads = []

    def spoiled(conn, table):
        out = real(conn, table)
        if table == "poles":   # a pole without its columns: NOT NULL refuses it
            out.append("INSERT INTO poles(uuid) SELECT :after || 'x' WHERE :after >= 0")
        return out

    run = bulk.Replays.run

    def seen(self, work):
        threads.append(work)
        return run(self, work)

    monkeypatch.setattr(bulk, "insert_replay_sql", spoiled)
    monkeypatch.setattr(bulk.Replays, "run", seen)
    with pytest.raises(InvalidGisFileError) as info:
        import_gis(db, gpkg, user="tester")
    db.close()
    assert "NOT NULL constraint failed: poles" in str(info.value.problems[0].message)
    assert len(threads) >= 2   # sites, then poles: each replay handed to the thread
    assert _dump(tmp_path / "refused.db") == before


def test_bulk_import_cancelled_while_a_replay_runs(gpkg, tmp_path, monkeypatch):
    """A Cancel asked while the poles' replay is still running on its thread: the replay ends,
    then the whole transaction rolls back, and the file is as it was."""
    from hatang_desktop.core.cancel import Cancelled

    monkeypatch.setattr(bulk, "BULK_ROWS", 1)
    db = init_province_database(tmp_path / "cancelled.db", "42", user="tester")
    before = _dump(tmp_path / "cancelled.db")
    asked = []
    real = bulk.insert_many

    def then_cancel(s, name, batches, **how):
        real(s, name, batches, **how)
        if name == "poles":
            asked.append(name)   # the next checkpoint (before the routes) stops the import

    monkeypatch.setattr(merge_write, "insert_many", then_cancel)
    with pytest.raises(Cancelled):
        import_gis(db, gpkg, user="tester", cancel=lambda: bool(asked))
    db.close()
    assert asked == ["poles"]
    assert _dump(tmp_path / "cancelled.db") == before


def test_constant_columns_are_stored_as_bound(tmp_path):
    """insert_many writes a column with one value in every row into its statement: the stored
    values and their types are those of binding each row (ints, texts with quotes, NULLs; a
    column of 1, 1.0 and True, or of one float, stays bound)."""
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a, b TEXT, c REAL, d, e INTEGER, f, g)")
    rows = [{"a": 7, "b": "it's 'x'", "c": 2, "d": None, "e": "12", "f": 1.5, "g": [1, 1.0, True][k % 3]}
            for k in range(50)]
    names = tuple(rows[0])
    columns = [[r[c] for r in rows] for c in names]
    statements = []

    class Seen:   # the statement insert_many prepares
        def executemany(self, sql, params):
            statements.append(sql)
            return conn.executemany(sql, params)

    bulk._execute_batch(Seen(), "t", names, columns)
    # a, b, c, d and e written once into the statement; f (a float) and g (mixed) bound.
    assert statements == ["INSERT INTO t(a, b, c, d, e, f, g) VALUES (7, 'it''s ''x''', 2, NULL, '12', ?, ?)"]
    conn.executemany(f"INSERT INTO t({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                     [tuple(r.values()) for r in rows])
    typed = ", ".join(f"{c}, typeof({c})" for c in names)
    fast = conn.execute(f"SELECT {typed} FROM t WHERE id <= 50 ORDER BY id").fetchall()
    bound = conn.execute(f"SELECT {typed} FROM t WHERE id > 50 ORDER BY id").fetchall()
    assert fast == bound and len(fast) == 50
    assert {r[13] for r in fast} == {"integer", "real"}   # g: 1 and True are integers, 1.0 real


def test_to_db_many_is_to_db_row_by_row():
    forms = load_forms()
    rows = {
        "fibre_routes": [{"code": "T1", "geom": "LINESTRING (105.8 18.3, 105.81 18.31)", "operator_code": "VTL"},
                         {"code": "T2", "geom": None}, {"code": "T3", "geom": ""}],
        "zones": [{"code": "Z", "geom": "POLYGON ((105.8 18.3, 105.9 18.3, 105.9 18.4, 105.8 18.3))"}],
        "site_tenants": [{"technologies": ("4G", "5G"), "operator_code": "VNPT"}, {}],
        "sites": [{"lat": 18.3, "lon": 105.8, "site_code": "A", "install_date": __import__("datetime").date(2020, 1, 2)},
                  {"lat": None}],
    }
    for record, values in rows.items():
        form = forms[record]
        assert to_db_many(form, values) == [to_db(form, v) for v in values]
        assert [list(d) for d in to_db_many(form, values)] == [list(to_db(form, v)) for v in values]
        wide = to_db_columns(form, values)
        if record in ("fibre_routes", "zones"):
            assert wide is None   # a row without a geometry has fewer columns
        else:
            names, columns = wide
            assert [dict(zip(names, r)) for r in zip(*columns)] == [to_db(form, v) for v in values]
            assert all(list(names) == list(to_db(form, v)) for v in values)


def test_matching_without_uuids_joins_as_the_queries_match(sample_db_path, tmp_path, monkeypatch):
    """A file without UUIDs is matched by operator and code, a pole by its code, a site whose
    code changed by its position within 10 m: the same records whether asked row by row or
    joined in bulk (match_bulk)."""
    import geopandas as gpd
    import pyogrio

    from hatang_desktop.core.exchange import handtyped
    from hatang_desktop.core.gis import preview_gis

    with Database.open(sample_db_path, readonly=True) as db:
        export_gis(db, tmp_path / "ours.gpkg")
    out = tmp_path / "handtyped.gpkg"
    for layer in ("sites", "poles", "fibre_routes"):
        frame = pyogrio.read_dataframe(tmp_path / "ours.gpkg", layer=layer)
        frame = frame.drop(columns=[c for c in ("UUID", "Phiên bản", "Cập nhật lúc") if c in frame.columns])
        if layer == "sites":
            # Every third site renamed and moved ~3 m north: found by position, not by code.
            moved = frame.index % 3 == 0
            frame.loc[moved, "Mã trạm"] = "MOI-" + frame.loc[moved, "Mã trạm"].astype(str)
            frame.loc[moved, "geometry"] = gpd.GeoSeries(frame.loc[moved, "geometry"]).translate(0, 0.00003).values
        pyogrio.write_dataframe(gpd.GeoDataFrame(frame, crs=4326), out, layer=layer)

    def planned(limit):
        monkeypatch.setattr(handtyped, "MATCH_ONE_BY_ONE", limit)
        with Database.open(sample_db_path) as db:
            result = preview_gis(db, out)
        assert not result.problems, result.problems[:3]
        return sorted((p.row.record, p.row.row, p.row.matched_by, p.action,
                       p.row.uuid if p.row.matched_by != "new" else None) for p in result.plans)

    careful, joined = planned(10**9), planned(0)
    assert careful == joined
    how = {m for _r, _n, m, _a, _u in careful}
    assert {"operator+code", "code", "position"} <= how
