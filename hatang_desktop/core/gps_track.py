"""The inspector's GPS track: breadcrumbs recorded while the GPS dock is on (schema 6).

Headless (no Qt): the dock's recorder (`ui/track_recording.py`) and `hatang track record --nmea`
feed the same `TrackRecorder`.

Thinning
    A receiver gives a fix a second; a day's walk does not need 30,000 of them. A fix becomes a
    breadcrumb when it passes the dock's accuracy gate (core/gps.refusal: the same threshold a
    record's position must meet, so a point under a tree never pulls the line 40 m aside) and
    it is at least MIN_DISTANCE_M from the last breadcrumb, or MAX_INTERVAL_S have passed (an
    inspector standing at a pole still leaves a point every half minute: proof of presence).

Writing
    Breadcrumbs are written in small batches, each one transaction (points and the track's end
    time and box together), FLUSH_POINTS points or FLUSH_SECONDS after the first waiting one,
    whichever comes first: a crash loses at most the last few seconds and never leaves half a
    batch. A batch that cannot be written (the file locked a moment) stays waiting for the next
    try. The writes take no `operations` row and no change log (Database.unlogged): a track is
    not a surveyed record (schema_0006.sql says why it stays in the file).

Records made on the way
    Sites, poles and findings whose position came from the GPS carry the fix's UTC time
    (gnss_fix_time, schema 3). `records_on_track` finds them by that time within a track's
    span and gives the track segment they were made on and its nearest breadcrumb: no link
    column to keep right when a record is edited, moved or comes back from the department.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import text

from . import gps

MIN_DISTANCE_M = 5.0
MAX_INTERVAL_S = 30.0
FLUSH_POINTS = 10
FLUSH_SECONDS = 5.0
# A gap longer than this between two breadcrumbs (signal lost, the dock stopped) starts a new
# segment (GPX trkseg): the line is not drawn across what was not recorded.
SEGMENT_GAP_S = 120.0
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # Vietnam keeps UTC+7 all year
RECORD_TABLES = ("sites", "poles", "findings")


@dataclass(frozen=True)
class TrackPoint:
    time: dt.datetime  # UTC, naive
    lat: float
    lon: float
    accuracy_m: float | None = None
    hdop: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None

    @property
    def time_text(self) -> str:
        return time_text(self.time)


@dataclass(frozen=True)
class TrackInfo:
    id: int
    uuid: str
    name: str | None
    started_at: str
    ended_at: str
    recorded_by: str | None
    device: str | None
    gnss_source: str | None
    point_count: int

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        local = parse_time(self.started_at).replace(tzinfo=dt.UTC).astimezone(VN_TZ)
        return f"Lộ trình {local:%d/%m/%Y %H:%M}"


@dataclass(frozen=True)
class RecordOnTrack:
    table: str
    uuid: str
    label: str
    fix_time: str
    lat: float
    lon: float
    point_time: str        # the nearest breadcrumb's time
    segment_start: str
    segment_end: str


def time_text(when: dt.datetime) -> str:
    """The stored form of a UTC time: ISO 8601 to the second with Z, as records' gnss_fix_time."""
    return when.replace(microsecond=0).isoformat() + "Z"


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.rstrip("Z"))


def fix_time(fix: gps.Fix, now: dt.datetime | None = None) -> dt.datetime:
    """The fix's UTC time as a date and time. A receiver that sent no RMC gives a time of day
    only: it is put on the day (of the computer's UTC clock) that brings it nearest to now; no
    time at all: the computer's clock."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    when = fix.time
    if isinstance(when, dt.datetime):
        return when.replace(tzinfo=None)
    if isinstance(when, dt.time):
        days = (now.date() + dt.timedelta(days=d) for d in (-1, 0, 1))
        return min((dt.datetime.combine(d, when.replace(tzinfo=None)) for d in days), key=lambda t: abs(t - now))
    return now


class Thinner:
    """Which fixes become breadcrumbs (see the module's docstring)."""

    def __init__(self, *, max_accuracy_m: float = gps.DEFAULT_MAX_ACCURACY_M,
                 min_distance_m: float = MIN_DISTANCE_M, max_interval_s: float = MAX_INTERVAL_S):
        self.max_accuracy_m, self.min_distance_m, self.max_interval_s = max_accuracy_m, min_distance_m, max_interval_s
        self.last: TrackPoint | None = None
        self.refused = 0   # fixes that failed the accuracy gate

    def take(self, fix: gps.Fix, now: dt.datetime | None = None) -> TrackPoint | None:
        if gps.refusal(fix, self.max_accuracy_m) is not None:
            self.refused += 1
            return None
        when = fix_time(fix, now)
        last = self.last
        if last is not None:
            elapsed = (when - last.time).total_seconds()
            if elapsed <= 0:
                return None   # the same epoch again, or a receiver's clock stepping back
            moved = gps.distance_m(last.lat, last.lon, fix.lat, fix.lon)
            if moved < self.min_distance_m and elapsed < self.max_interval_s:
                return None
        point = TrackPoint(when, fix.lat, fix.lon, _round(fix.accuracy_m, 2), _round(fix.hdop, 2),
                           _round(fix.speed_mps, 2), _round(fix.course_deg, 1))
        self.last = point
        return point


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


class TrackRecorder:
    """Thins fixes into breadcrumbs and writes them to one track in small batches.

    The track's row is made with its first batch (no empty tracks). `flush()` writes what is
    waiting now (call it when the dock stops and on a timer); `close()` is the last flush."""

    def __init__(self, db, *, gnss_source: str | None = None, name: str | None = None,
                 max_accuracy_m: float = gps.DEFAULT_MAX_ACCURACY_M, min_distance_m: float = MIN_DISTANCE_M,
                 max_interval_s: float = MAX_INTERVAL_S, flush_points: int = FLUSH_POINTS,
                 flush_seconds: float = FLUSH_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.gnss_source, self.name = gnss_source, name
        self.thinner = Thinner(max_accuracy_m=max_accuracy_m, min_distance_m=min_distance_m,
                               max_interval_s=max_interval_s)
        self.flush_points, self.flush_seconds, self._clock = flush_points, flush_seconds, clock
        self.uuid = str(uuidlib.uuid4())
        self._track_id: int | None = None
        self._pending: list[TrackPoint] = []
        self._pending_since = 0.0
        self.stored = 0

    @property
    def max_accuracy_m(self) -> float:
        return self.thinner.max_accuracy_m

    @max_accuracy_m.setter
    def max_accuracy_m(self, value: float) -> None:
        self.thinner.max_accuracy_m = value

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def track_id(self) -> int | None:
        return self._track_id

    def add(self, fix: gps.Fix) -> TrackPoint | None:
        """Take one fix; returns the breadcrumb it became (None when thinned or refused). May
        write a batch; a failed write raises, and its points stay waiting for the next try."""
        point = self.thinner.take(fix)
        if point is None:
            return None
        if not self._pending:
            self._pending_since = self._clock()
        self._pending.append(point)
        if self.due():
            self.flush()
        return point

    def due(self) -> bool:
        return bool(self._pending) and (len(self._pending) >= self.flush_points
                                        or self._clock() - self._pending_since >= self.flush_seconds)

    def flush(self) -> int:
        """Write the waiting breadcrumbs in one transaction; returns how many were written."""
        batch = list(self._pending)
        if not batch:
            return 0
        lats, lons = [p.lat for p in batch], [p.lon for p in batch]
        with self.db.unlogged() as s:
            track_id = self._track_id
            if track_id is None:
                track_id = s.execute(text(
                    "INSERT INTO tracks(uuid, name, started_at, ended_at, recorded_by, device, gnss_source, "
                    "point_count, min_lon, min_lat, max_lon, max_lat) VALUES (:u, :n, :t0, :t0, :by, :dev, :src, "
                    "0, :x0, :y0, :x1, :y1) RETURNING id"),
                    {"u": self.uuid, "n": self.name, "t0": batch[0].time_text, "by": self.db.user,
                     "dev": self.db.source, "src": self.gnss_source, "x0": min(lons), "y0": min(lats),
                     "x1": max(lons), "y1": max(lats)}).scalar_one()
            s.execute(text(
                "INSERT INTO track_points(track_id, seq, time, lat, lon, accuracy_m, hdop, speed_mps, course_deg) "
                "VALUES (:t, :seq, :time, :lat, :lon, :acc, :hdop, :speed, :course)"),
                [{"t": track_id, "seq": self.stored + i, "time": p.time_text, "lat": p.lat, "lon": p.lon,
                  "acc": p.accuracy_m, "hdop": p.hdop, "speed": p.speed_mps, "course": p.course_deg}
                 for i, p in enumerate(batch)])
            s.execute(text(
                "UPDATE tracks SET ended_at = max(ended_at, :t1), point_count = point_count + :n, "
                "min_lon = min(min_lon, :x0), min_lat = min(min_lat, :y0), max_lon = max(max_lon, :x1), "
                "max_lat = max(max_lat, :y1) WHERE id = :id"),
                {"t1": batch[-1].time_text, "n": len(batch), "x0": min(lons), "y0": min(lats), "x1": max(lons),
                 "y1": max(lats), "id": track_id})
        self._track_id = track_id
        self.stored += len(batch)
        del self._pending[:len(batch)]
        return len(batch)

    def close(self) -> int:
        return self.flush()


def record_fixes(db, fixes: Iterable[gps.Fix], **options) -> TrackRecorder:
    """Every fix of `fixes` through one recorder, flushed at the end (a replayed NMEA log)."""
    recorder = TrackRecorder(db, **options)
    for fix in fixes:
        recorder.add(fix)
    recorder.close()
    return recorder


# -- reading ------------------------------------------------------------------------------------

def day_window(day: dt.date) -> tuple[str, str]:
    """A calendar day in Vietnam as the UTC times that bound it (start inclusive, end exclusive)."""
    start = dt.datetime.combine(day, dt.time(), VN_TZ).astimezone(dt.UTC).replace(tzinfo=None)
    return time_text(start), time_text(start + dt.timedelta(days=1))


_INFO_COLUMNS = "id, uuid, name, started_at, ended_at, recorded_by, device, gnss_source, point_count"


def list_tracks(db, day: dt.date | None = None) -> list[TrackInfo]:
    """The stored tracks, oldest first; with `day`, those recorded (in part) on that day."""
    sql, params = f"SELECT {_INFO_COLUMNS} FROM tracks WHERE point_count > 0", {}
    if day is not None:
        sql += " AND ended_at >= :a AND started_at < :b"
        params["a"], params["b"] = day_window(day)
    with db.session() as s:
        rows = s.execute(text(sql + " ORDER BY started_at, id"), params).all()
    return [TrackInfo(*row) for row in rows]


def track_points(db, track: TrackInfo | int, day: dt.date | None = None) -> list[TrackPoint]:
    track_id = track.id if isinstance(track, TrackInfo) else track
    sql, params = ("SELECT time, lat, lon, accuracy_m, hdop, speed_mps, course_deg FROM track_points "
                   "WHERE track_id = :t"), {"t": track_id}
    if day is not None:
        sql += " AND time >= :a AND time < :b"
        params["a"], params["b"] = day_window(day)
    with db.session() as s:
        rows = s.execute(text(sql + " ORDER BY seq"), params).all()
    return [TrackPoint(parse_time(r[0]), *r[1:]) for r in rows]


def segments(points: list[TrackPoint], gap_s: float = SEGMENT_GAP_S) -> list[list[TrackPoint]]:
    """The points split where more than `gap_s` passed between two of them."""
    out: list[list[TrackPoint]] = []
    for p in points:
        if not out or (p.time - out[-1][-1].time).total_seconds() > gap_s:
            out.append([])
        out[-1].append(p)
    return out


def length_m(points: list[TrackPoint]) -> float:
    return sum(gps.distance_m(a.lat, a.lon, b.lat, b.lon)
               for seg in segments(points) for a, b in zip(seg, seg[1:]))


_LABELS = {"sites": "site_code", "poles": "code", "findings": "rule_id"}


def records_on_track(db, track: TrackInfo, points: list[TrackPoint] | None = None) -> list[RecordOnTrack]:
    """Sites, poles and findings whose GPS fix was taken while this track was being recorded
    (within a segment, or up to SEGMENT_GAP_S around one), with that segment's times."""
    points = track_points(db, track) if points is None else points
    segs = segments(points)
    if not segs:
        return []
    slack = dt.timedelta(seconds=SEGMENT_GAP_S)
    lo, hi = time_text(segs[0][0].time - slack), time_text(segs[-1][-1].time + slack)
    found = []
    with db.session() as s:
        for table in RECORD_TABLES:
            label = _LABELS[table]
            for uuid, code, when, lat, lon in s.execute(text(
                    f"SELECT uuid, {label}, gnss_fix_time, lat, lon FROM {table} WHERE deleted = 0 "
                    "AND gnss_fix_time >= :lo AND gnss_fix_time <= :hi AND lat IS NOT NULL "
                    "ORDER BY gnss_fix_time"), {"lo": lo, "hi": hi}):
                try:
                    fixed = parse_time(when)
                except ValueError:
                    continue
                seg = _segment_at(segs, fixed, slack)
                if seg is None:
                    continue
                nearest = min(seg, key=lambda p: abs(p.time - fixed))
                found.append(RecordOnTrack(table, uuid, str(code or ""), when, lat, lon, nearest.time_text,
                                           seg[0].time_text, seg[-1].time_text))
    return sorted(found, key=lambda r: r.fix_time)


def _segment_at(segs, when: dt.datetime, slack: dt.timedelta):
    for seg in segs:
        if seg[0].time - slack <= when <= seg[-1].time + slack:
            return seg
    return None


def lines_for_map(db) -> list[tuple[TrackInfo, list[tuple[list[float], list[float]]]]]:
    """(track, its segments as (lons, lats)) of every track: what the map's track layer draws
    (a day's walk thinned to breadcrumbs is a few thousand points at most)."""
    return [(info, [([p.lon for p in seg], [p.lat for p in seg]) for seg in segments(track_points(db, info))])
            for info in list_tracks(db)]


__all__ = ["TrackPoint", "TrackInfo", "RecordOnTrack", "Thinner", "TrackRecorder", "record_fixes", "list_tracks",
           "track_points", "segments", "length_m", "records_on_track", "lines_for_map", "day_window", "fix_time",
           "time_text", "MIN_DISTANCE_M", "MAX_INTERVAL_S", "FLUSH_POINTS", "FLUSH_SECONDS", "SEGMENT_GAP_S"]
