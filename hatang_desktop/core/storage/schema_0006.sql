-- Schema version 6: the inspector's GPS track (issue 21), breadcrumbs recorded while the GPS dock
-- is on (core/gps_track.py).
-- A track is the file's own record of where its user walked: not a surveyed record, so it has no
-- version or tombstone, is not change-logged and does not travel by workbook or sync. Where a
-- person went all day is personal data; what the department needs as proof of presence travels
-- with each record already (its gnss_fix_time, accuracy and source, schema 3). A record made on
-- the way is found on the track by that fix time, not by a link column (core/gps_track.py).
-- The track goes to anyone only as a file its user exports (GPX, GeoPackage).
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT,
    started_at TEXT NOT NULL,            -- UTC, ISO 8601 with Z: the first point's time
    ended_at TEXT NOT NULL,              -- the last point's time so far
    recorded_by TEXT,
    device TEXT,                         -- the machine (device:HOST), as records' `source` says
    gnss_source TEXT,                    -- the receiver: serial:COM3, nmea-log:walk.nmea
    point_count INTEGER NOT NULL DEFAULT 0 CHECK (point_count >= 0),
    min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,
    CHECK (ended_at >= started_at)
);
CREATE INDEX ix_tracks_time ON tracks(started_at, ended_at);
CREATE TABLE track_points (
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL CHECK (seq >= 0),
    time TEXT NOT NULL,                  -- UTC, ISO 8601 with Z
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    accuracy_m REAL CHECK (accuracy_m >= 0),
    hdop REAL CHECK (hdop >= 0),
    speed_mps REAL CHECK (speed_mps >= 0),
    course_deg REAL CHECK (course_deg >= 0 AND course_deg < 360),
    PRIMARY KEY (track_id, seq)
);
CREATE INDEX ix_track_points_time ON track_points(time);
