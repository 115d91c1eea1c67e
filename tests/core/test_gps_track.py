"""Issue 21, the GPS track: breadcrumbs thinned and stored in small all-or-nothing batches
(schema 6), the records made on the way found by their fix time, GPX and GeoPackage that GDAL's
own `ogrinfo` reads, and the `hatang track` command."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid as uuidlib
from pathlib import Path

import pytest
from sqlalchemy import text

from hatang_desktop.core import gps, gps_track
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.gps_track_export import export_tracks
from hatang_desktop.core.storage import migrations
from hatang_desktop.core.storage.database import Database

WALK = Path(__file__).parent.parent / "data" / "walk_ha_tinh.nmea"
OGRINFO = shutil.which("ogrinfo")


@pytest.fixture(scope="module")
def fixes():
    return list(gps.read_log(WALK))


def _counts(db) -> dict[str, int]:
    with db.session() as s:
        return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("tracks", "track_points", "operations", "change_log")}


def test_a_schema_5_file_gets_the_track_tables(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", [x for x in migrations.MIGRATIONS if x.version <= 5])
        Database.create(path).close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (5,)
    with Database.open(path) as db:
        assert db.schema_version == 6
        assert _counts(db) == {"tracks": 0, "track_points": 0, "operations": 0, "change_log": 0}
    assert list(tmp_path.glob("old.v5-*.bak.db"))


def test_the_walk_is_thinned_gated_and_stored_without_touching_the_change_log(empty_db, fixes):
    before = _counts(empty_db)
    rec = gps_track.record_fixes(empty_db, fixes, gnss_source="nmea-log:walk_ha_tinh.nmea")
    (track,) = gps_track.list_tracks(empty_db)
    points = gps_track.track_points(empty_db, track)
    assert track.point_count == rec.stored == len(points) and 10 < len(points) < 60
    # Epochs 87-98 are poor and 99-100 have no fix: none of them is a breadcrumb.
    assert rec.thinner.refused >= 14
    poor = {f.time for f in fixes if gps.refusal(f) is not None}
    assert not poor & {p.time for p in points}
    # Walking: consecutive breadcrumbs at least MIN_DISTANCE_M apart unless MAX_INTERVAL_S passed.
    for a, b in zip(points, points[1:]):
        assert b.time > a.time
        assert (gps.distance_m(a.lat, a.lon, b.lat, b.lon) >= gps_track.MIN_DISTANCE_M
                or (b.time - a.time).total_seconds() >= gps_track.MAX_INTERVAL_S)
    assert track.started_at == "2025-03-14T01:30:06Z" and track.ended_at == points[-1].time_text
    assert all(p.accuracy_m is not None and p.hdop is not None for p in points)
    assert any(p.speed_mps and p.speed_mps > 0 and p.course_deg is not None for p in points)
    after = _counts(empty_db)
    assert (after["operations"], after["change_log"]) == (before["operations"], before["change_log"])


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_batches_are_small_and_all_or_nothing(empty_db, fixes):
    clock = _Clock()
    rec = gps_track.TrackRecorder(empty_db, flush_points=5, flush_seconds=3.0, clock=clock, min_distance_m=0.0,
                                  max_interval_s=0.0)
    good = [f for f in fixes if gps.refusal(f) is None]
    rec.add(good[0])
    clock.now = 2.9
    rec.add(good[1])
    assert (rec.pending, _counts(empty_db)["track_points"]) == (2, 0)
    clock.now = 3.0   # FLUSH_SECONDS after the first waiting point: written with the next one
    rec.add(good[2])
    assert (rec.pending, _counts(empty_db)["track_points"]) == (0, 3)
    # The disk refuses the batch's fourth row: none of its five is written, all stay waiting.
    with sqlite3.connect(empty_db.path) as conn:
        conn.execute("CREATE TRIGGER boom BEFORE INSERT ON track_points WHEN NEW.seq = 6 "
                     "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    for f in good[3:7]:
        rec.add(f)
    with pytest.raises(Exception, match="disk I/O"):
        rec.add(good[7])
    assert (rec.pending, _counts(empty_db)["track_points"]) == (5, 3)
    (track,) = gps_track.list_tracks(empty_db)
    assert track.point_count == 3 and track.ended_at == gps_track.time_text(good[2].time)
    with sqlite3.connect(empty_db.path) as conn:
        conn.execute("DROP TRIGGER boom")
    assert rec.flush() == 5
    with empty_db.session() as s:
        seqs = s.execute(text("SELECT seq FROM track_points ORDER BY seq")).scalars().all()
    assert seqs == list(range(8))
    assert gps_track.list_tracks(empty_db)[0].point_count == 8


def _pole(db, fix_time: str | None, lat: float, lon: float, code: str) -> str:
    uid = str(uuidlib.uuid4())
    with db.operation("cột") as s:
        s.execute(text("INSERT INTO poles(uuid, updated_at, updated_by, source, code, owner_kind, lat, lon, "
                       "gnss_fix_time, gnss_fix_count) VALUES (:u, '2025-03-14', 't', 't', :c, 'power', "
                       ":lat, :lon, :t, 1)"), {"u": uid, "c": code, "lat": lat, "lon": lon, "t": fix_time})
    return uid


def test_a_record_made_on_the_way_carries_the_segment_time_into_the_gpx(empty_db, fixes, tmp_path):
    gps_track.record_fixes(empty_db, fixes)
    on_way = _pole(empty_db, "2025-03-14T01:31:05Z", 18.3437, 105.9063, "C-01")
    _pole(empty_db, "2025-03-15T09:00:00Z", 18.35, 105.91, "C-02")        # another day
    _pole(empty_db, None, 18.3437, 105.9064, "C-03")                      # placed on the map
    (track,) = gps_track.list_tracks(empty_db)
    (found,) = gps_track.records_on_track(empty_db, track)
    listed = json.loads(_hatang("track", "list", empty_db.path, "--json").stdout)
    assert listed[0]["records"] == [{"table": "poles", "uuid": on_way, "label": "C-01",
                                     "fix_time": "2025-03-14T01:31:05Z", "segment_start": track.started_at,
                                     "segment_end": track.ended_at}]
    assert (found.table, found.uuid, found.label) == ("poles", on_way, "C-01")
    assert found.segment_start == track.started_at and found.segment_end == track.ended_at
    assert abs(gps_track.parse_time(found.point_time) - dt.datetime(2025, 3, 14, 1, 31, 5)) < dt.timedelta(seconds=31)
    result = export_tracks(empty_db, tmp_path / "walk.gpx")
    assert result.waypoints == 1
    body = (tmp_path / "walk.gpx").read_text(encoding="utf-8")
    assert '<wpt lat="18.3437000" lon="105.9063000"><time>2025-03-14T01:31:05Z</time><name>C-01</name>' in body


def _ogrinfo(path: Path, layer: str) -> str:
    return subprocess.run([OGRINFO, "-ro", "-al", "-q", str(path), layer], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.skipif(OGRINFO is None, reason="GDAL's ogrinfo is not installed")
@pytest.mark.parametrize("suffix", [".gpx", ".gpkg"])
def test_gdal_reads_the_export(empty_db, fixes, tmp_path, suffix):
    gps_track.record_fixes(empty_db, fixes)
    (track,) = gps_track.list_tracks(empty_db)
    points = gps_track.track_points(empty_db, track)
    out = tmp_path / f"walk{suffix}"
    result = export_tracks(empty_db, out, day=dt.date(2025, 3, 14))   # 08:30 in Hà Tĩnh
    assert (result.tracks, result.points) == (1, len(points))
    summary = subprocess.run([OGRINFO, "-ro", "-so", "-al", str(out)], capture_output=True, text=True,
                             check=True).stdout
    counts = dict(re.findall(r"Layer name: (\w+)\n(?:.*\n)*?Feature Count: (\d+)", summary))
    assert counts["tracks"] == "1" and counts["track_points"] == str(len(points))
    dump = _ogrinfo(out, "track_points")
    times = re.findall(r"time \(DateTime\) = (.+)", dump)
    assert times == [p.time.strftime("%Y/%m/%d %H:%M:%S+00") for p in points]   # UTC, as stored
    if suffix == ".gpx":
        assert re.findall(r"hdop \(Real\) = (\S+)", dump) == [f"{p.hdop:g}" for p in points]
    else:
        assert re.findall(r"accuracy_m \(Real\) = (\S+)", dump) == [f"{p.accuracy_m:g}" for p in points]
    with pytest.raises(InvalidInputError, match="không có lộ trình"):
        export_tracks(empty_db, tmp_path / f"other{suffix}", day=dt.date(2025, 3, 13))
    assert not (tmp_path / f"other{suffix}").exists()


def _hatang(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang_desktop.cli", *map(str, args)], capture_output=True,
                          text=True)


def test_the_track_command_records_lists_and_exports(empty_db, tmp_path):
    path = empty_db.path
    empty_db.close()
    done = _hatang("track", "record", path, "--nmea", WALK, "--json")
    assert done.returncode == 0, done.stderr
    recorded = json.loads(done.stdout)
    assert recorded["points"] > 10 and recorded["refused"] >= 14
    listed = json.loads(_hatang("track", "list", path, "--json").stdout)
    assert [(t["uuid"], t["points"]) for t in listed] == [(recorded["uuid"], recorded["points"])]
    assert listed[0]["started_at"] == "2025-03-14T01:30:06Z" and listed[0]["length_m"] > 80
    assert listed[0]["records"] == []
    done = _hatang("track", "export", path, tmp_path / "w.gpx", "--date", "2025-03-14", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["points"] == recorded["points"]
    bad = _hatang("track", "export", path, tmp_path / "w.kml")
    assert bad.returncode == 2 and "gpx" in bad.stderr and not (tmp_path / "w.kml").exists()
    bad = _hatang("track", "export", path, tmp_path / "w2.gpx", "--date", "14/03/2025")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
