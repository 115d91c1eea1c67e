"""GPS: the shipped NMEA walk replays to the expected positions and accuracies, bad sentences are
skipped and counted, the accuracy gate refuses what it should, averaging, and the GNSS metadata
columns of schema 3."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hatang_desktop.core import gps
from hatang_desktop.core.model import Finding, Pole, Site
from hatang_desktop.core.storage.database import Database

DATA = Path(__file__).parent.parent / "data"
WALK = DATA / "walk_ha_tinh.nmea"
V1 = DATA / "schema_v1.db"

# The walk as designed by tests/data/make_walk_ha_tinh_nmea.py (see the log's header): epochs
# are 1-based there, 0-based here.
EPOCHS = 140
NO_FIX = list(range(0, 6)) + [98, 99]
P1, P1_EPOCHS = (18.3435, 105.906), range(6, 26)
POOR = range(86, 98)
GOOD = [i for i in range(EPOCHS) if i not in NO_FIX and i not in POOR]


def checksum(body: str) -> str:
    c = 0
    for ch in body:
        c ^= ord(ch)
    return f"{c:02X}"


def nmea(body: str) -> str:
    return f"${body}*{checksum(body)}"


def ddmm_to_deg(value: str, hemi: str) -> float:
    """Independent of pynmea2: ddmm.mmmm (latitude) or dddmm.mmmm (longitude) to degrees."""
    head, minutes = value[: value.index(".") - 2], value[value.index(".") - 2:]
    deg = int(head) + float(minutes) / 60
    return -deg if hemi in "SW" else deg


def _log_lines(prefix: str) -> list[list[str]]:
    """Fields of the log's sentences of one type whose checksum holds (checked here, not by pynmea2)."""
    rows = []
    for line in WALK.read_text(encoding="latin-1").splitlines():
        body, _, check = line.strip().partition("*")
        if line.startswith(prefix) and check and checksum(body[1:]) == check:
            rows.append(body.split(","))
    return rows


@pytest.fixture(scope="module")
def walk() -> tuple[list[gps.Fix], gps.ParseStats]:
    parser = gps.NmeaParser("nmea-log:walk_ha_tinh.nmea")
    return list(gps.read_log(WALK, parser=parser)), parser.stats


def test_replay_yields_one_fix_per_epoch_and_counts_corrupt_lines(walk):
    fixes, stats = walk
    assert len(fixes) == EPOCHS == stats.fixes
    assert [f.time for f in fixes[:2]] == [dt.datetime(2025, 3, 14, 1, 30, 0), dt.datetime(2025, 3, 14, 1, 30, 1)]
    assert all((b.time - a.time).total_seconds() == 1 for a, b in zip(fixes, fixes[1:]))
    # Start-up noise, a flipped digit, a cut-off RMC, a garbage line: skipped and counted, not raised.
    assert stats.corrupt == 4
    reasons = " ".join(r for _, r in stats.problems)
    assert "sai checksum" in reasons and "thiếu checksum" in reasons and "không phải câu NMEA" in reasons
    lines = WALK.read_bytes().split(b"\r\n")
    bad_gga = next(n for n, r in stats.problems if "sai checksum" in r)
    assert lines[bad_gga - 1].startswith(b"$GPGGA,013039")


def test_positions_match_the_log(walk):
    fixes, _ = walk
    ggas = [f for f in _log_lines("$GPGGA") if f[6] != "0"]
    by_time = {f[1]: f for f in ggas}
    checked = 0
    for fix in fixes:
        row = by_time.get(fix.time.strftime("%H%M%S.00"))
        if row is None or not fix.has_position:
            continue
        assert fix.lat == pytest.approx(ddmm_to_deg(row[2], row[3]), abs=1e-9)
        assert fix.lon == pytest.approx(ddmm_to_deg(row[4], row[5]), abs=1e-9)
        assert fix.satellites == int(row[7]) and fix.hdop == float(row[8])
        checked += 1
    assert checked == len(GOOD) + len(POOR) - 1  # all but epoch 40, whose GGA failed its checksum
    for i in NO_FIX:
        assert not fixes[i].has_position and fixes[i].lat is None and fixes[i].quality == 0
    for i in P1_EPOCHS:  # standing at pole P1: every fix within a few metres of it
        assert gps.distance_m(*P1, fixes[i].lat, fixes[i].lon) < 6


def test_a_sentence_with_a_bad_checksum_never_moves_the_point(walk):
    fixes, _ = walk
    # Epoch 40's GGA had a digit flipped (18°20' -> 18°70', 90 km north): the fix comes from RMC.
    f = fixes[39]
    assert f.has_position and f.accuracy_source == "gst"
    assert gps.distance_m(f.lat, f.lon, fixes[38].lat, fixes[38].lon) < 6
    assert f.satellites == 10 and f.hdop == pytest.approx(0.93)  # from GSA instead


def test_accuracy_comes_from_gst(walk):
    fixes, _ = walk
    gst = {row[1]: row for row in _log_lines("$GPGST")}
    for fix in fixes:
        if fix.has_position:
            row = gst[fix.time.strftime("%H%M%S.00")]
            assert fix.accuracy_source == "gst"
            assert fix.accuracy_m == pytest.approx(math.hypot(float(row[6]), float(row[7])))
    assert max(fixes[i].accuracy_m for i in GOOD) < 5
    assert all(fixes[i].accuracy_m > 9 for i in POOR)


def test_without_gst_accuracy_is_estimated_from_hdop():
    lines = [nmea("GNRMC,101500.00,A,1820.6100,N,10554.3600,E,0.0,0.0,140325,,,A"),
             nmea("GNGGA,101500.00,1820.6100,N,10554.3600,E,1,07,1.8,5.0,M,-12.4,M,,"),
             nmea("GNGSA,A,3,02,05,07,09,13,15,18,,,,,,2.9,1.8,2.2"),
             nmea("GPGSV,2,1,08,02,62,040,42,05,18,300,38,07,45,120,39,09,71,210,44"),
             nmea("GLGSV,1,1,03,65,40,100,30,66,30,200,31,67,20,300,28"),
             nmea("GNRMC,101501.00,A,1820.6101,N,10554.3601,E,0.0,0.0,140325,,,A")]
    fixes = list(gps.parse_lines(lines, "test"))
    assert len(fixes) == 2
    first = fixes[0]
    assert first.accuracy_source == "hdop" and first.accuracy_m == pytest.approx(1.8 * gps.UERE_M)
    assert first.satellites_in_view == 8 + 3  # GPS and GLONASS views added up
    assert first.time == dt.datetime(2025, 3, 14, 10, 15, 0)
    # The second epoch had RMC only: position and quality from it, no HDOP so no accuracy.
    assert fixes[1].has_position and fixes[1].accuracy_m is None
    assert "Không biết độ chính xác" in gps.refusal(fixes[1])


def test_gate_refuses_no_fix_and_poor_accuracy(walk):
    fixes, _ = walk
    for i in GOOD:
        assert gps.check_fix(fixes[i], 10.0) is fixes[i]
    for i in NO_FIX:
        with pytest.raises(gps.GpsRefused, match="chưa định vị được"):
            gps.check_fix(fixes[i])
    refused = [i for i in POOR if gps.refusal(fixes[i], 10.0)]
    assert len(refused) >= 8
    for i in POOR:
        reason = gps.refusal(fixes[i], 10.0)
        assert (reason is not None) == (fixes[i].accuracy_m > 10.0)
        if reason:
            shown = f"{fixes[i].accuracy_m:.1f}".replace(".", ",")
            assert f"Độ chính xác GPS {shown} m" in reason and "kém hơn ngưỡng 10,0 m" in reason
    # The threshold is a setting: a looser one lets the canopy fixes through.
    assert all(gps.refusal(fixes[i], 25.0) is None for i in POOR)
    assert "Chưa nhận được dữ liệu GPS" in gps.refusal(None)


def test_averaging_takes_n_good_fixes_and_skips_bad_ones(walk):
    fixes, _ = walk
    avg = gps.Averager(10)
    result = None
    for fix in fixes:
        result = avg.add(fix)
        if result:
            break
    assert result is not None and result.count == 10 and avg.rejected == 6  # the cold start
    assert gps.distance_m(*P1, result.lat, result.lon) < 2.5
    good = fixes[6:16]
    assert result.lat == pytest.approx(sum(f.lat for f in good) / 10)
    assert 0 < result.spread_m <= result.max_spread_m < 6
    assert result.accuracy_m >= result.spread_m
    assert result.accuracy_m >= min(f.accuracy_m for f in good)
    meta = result.metadata()
    assert meta["gnss_fix_count"] == 10 and meta["gnss_fix_time"] == "2025-03-14T01:30:15Z"
    assert meta["gnss_satellites"] == min(f.satellites for f in good)

    # Under the canopy: the poor fixes are skipped, so averaging there needs the good ones after.
    canopy = gps.Averager(5)
    outcome = [canopy.add(f) for f in fixes[86:]]
    assert canopy.rejected >= 8 + 2 and next(r for r in outcome if r).count == 5
    assert "kém hơn ngưỡng" in canopy.last_refusal or "chưa định vị" in canopy.last_refusal


def test_averaging_stops_when_the_receiver_moves(walk):
    fixes, _ = walk
    avg = gps.Averager(40)  # 20 fixes standing at P1, then the walk east-north-east at 1.3 m/s
    taken = 0
    with pytest.raises(gps.ReceiverMoving) as stopped:
        for fix in fixes:
            avg.add(fix)
            taken += 1
    assert avg.moving and 20 < len(avg.fixes) < 40 and fixes[taken - 1].moving
    assert gps.average(avg.fixes).max_spread_m > 10.0 >= gps.average(avg.fixes[:-1]).max_spread_m
    assert stopped.value.vi.startswith("Máy thu đang di chuyển: các lần đo lệch nhau tới ")
    assert "vượt ngưỡng 10,0 m" in stopped.value.vi and "beyond the 10 m threshold" in stopped.value.en
    with pytest.raises(gps.ReceiverMoving):  # spent: the next fix does not resume it
        avg.add(fixes[taken])
    avg.reset()
    assert not avg.moving and avg.add(fixes[130]) is None  # standing at P2: a fresh start works

    # A looser threshold lets the same fixes through (a walker of 13 m is within 20 m).
    loose = gps.Averager(30, max_accuracy_m=20.0)
    assert next(r for r in (loose.add(f) for f in fixes) if r is not None).count == 30


def test_speed_and_course_over_ground_come_from_rmc(walk):
    fixes, _ = walk
    rmc = {row[1]: row for row in _log_lines("$GPRMC") if row[2] == "A"}
    checked = 0
    for fix in fixes:
        row = rmc.get(fix.time.strftime("%H%M%S.00")) if fix.has_position else None
        if row is None:
            continue
        assert fix.speed_mps == pytest.approx(float(row[7]) * 1852 / 3600, abs=0.005)
        assert fix.course_deg == pytest.approx(float(row[8]))
        checked += 1
    assert checked > 100
    assert fixes[40].moving and fixes[40].course_deg == pytest.approx(68, abs=1)  # east-north-east
    assert not fixes[10].moving  # standing at P1: its course is not a heading
    assert fixes[0].speed_mps is None and fixes[0].course_deg is None  # no fix, no course


def test_paced_replay_waits_as_recorded_and_stops_on_request():
    slept = []
    fixes = list(gps.read_log(WALK, pace=True, speed=4.0, sleep=slept.append))
    assert len(fixes) == EPOCHS
    assert sum(slept) == pytest.approx((EPOCHS - 1) / 4.0, abs=0.25)
    stop = threading.Event()
    got = []
    for fix in gps.read_log(WALK, pace=True, sleep=lambda s: None, stop=stop):
        got.append(fix)
        if len(got) == 3:
            stop.set()
    assert len(got) == 3


def test_missing_log_is_a_clear_error(tmp_path):
    with pytest.raises(gps.GpsSourceError, match="không tìm thấy tệp nhật ký NMEA"):
        list(gps.read_log(tmp_path / "khong_co.nmea"))


def test_serial_reader_on_a_loopback_port(walk):
    """The receiver reader, on pyserial's loop:// port fed with the shipped log from a thread."""
    import serial

    port = serial.serial_for_url("loop://", timeout=0.2)
    feeder = threading.Thread(target=lambda: port.write(WALK.read_bytes()), daemon=True)
    feeder.start()
    got = []
    for fix in gps.read_serial("loop://", opener=lambda *a, **k: port):
        got.append(fix)
        if len(got) == EPOCHS - 1:  # the last epoch closes only when a next sentence comes
            break
    feeder.join(5)
    fixes, _ = walk
    assert [(f.lat, f.lon, f.accuracy_m, f.time) for f in got] == \
        [(f.lat, f.lon, f.accuracy_m, f.time) for f in fixes[:-1]]
    assert got[0].source == "serial:loop://"


def test_serial_reader_reports_a_lost_connection():
    import serial

    class Unplugged:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def readline(self):
            raise serial.SerialException("device reports readiness to read but returned no data")

    with pytest.raises(gps.GpsSourceError, match="mất kết nối với máy thu GPS"):
        next(gps.read_serial("COM7", opener=lambda *a, **k: Unplugged()))


def test_serial_port_that_does_not_exist():
    with pytest.raises(gps.GpsSourceError, match="không mở được cổng GPS"):
        next(gps.read_serial("/dev/ttyKHONGCO0"))


# -- storing GNSS metadata with the record (schema 3) ---------------------------------------

def test_gnss_metadata_is_stored_with_points_and_logged(empty_db, walk):
    fixes, _ = walk
    avg = gps.average(fixes[6:26])
    with empty_db.operation("site from GPS", user="tester") as s:
        site = Site(operator_code="VTL", site_code="HTH900", lat=avg.lat, lon=avg.lon, **avg.metadata())
        pole = Pole(code="C-9", owner_kind="power", lat=fixes[30].lat, lon=fixes[30].lon, **fixes[30].metadata())
        finding = Finding(severity="warning", lat=fixes[31].lat, lon=fixes[31].lon, **fixes[31].metadata())
        s.add_all([site, pole, finding])
    with empty_db.session() as s:
        site = s.scalars(select(Site)).one()
        assert {c: getattr(site, c) for c in gps.GNSS_COLUMNS} == avg.metadata()
        assert site.gnss_fix_count == 20 and site.gnss_source == "nmea-log:walk_ha_tinh.nmea"
        assert s.scalars(select(Pole)).one().gnss_fix_time == "2025-03-14T01:30:30Z"
        assert s.scalars(select(Finding)).one().gnss_hdop == fixes[31].hdop
    # Moving the point by hand clears the GPS figures, and the change log keeps the old ones.
    with empty_db.operation("moved on the map") as s:
        site = s.scalars(select(Site)).one()
        site.lat += 0.0001
        for column, value in gps.NO_GNSS.items():
            setattr(site, column, value)
    conn = sqlite3.connect(empty_db.path)
    old = conn.execute("SELECT old_value FROM change_log WHERE field = 'gnss_accuracy_m'").fetchone()[0]
    assert old == avg.metadata()["gnss_accuracy_m"]
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("UPDATE poles SET gnss_hdop = -1")
    conn.close()


def test_schema_1_file_upgrades_to_gnss_columns(tmp_path):
    path = tmp_path / "old.db"
    shutil.copyfile(V1, path)
    with Database.open(path) as db:
        assert db.schema_version >= 3
        with db.operation("take GPS") as s:
            s.execute(text("UPDATE sites SET gnss_accuracy_m = 3.2, gnss_fix_count = 1"))
        with db.session() as s:
            assert s.scalars(select(Site)).one().gnss_accuracy_m == 3.2
            logged = s.execute(text("SELECT new_value FROM change_log WHERE field = 'gnss_accuracy_m'")).scalar_one()
            assert logged == 3.2
    conn = sqlite3.connect(path)
    for table in ("sites", "poles", "findings"):
        cols = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        assert set(gps.GNSS_COLUMNS) <= cols
    conn.close()
