"""The GPS track as a file: GPX 1.1 or GeoPackage (`hatang track export`, Tệp > Xuất lộ trình…).

GPX is written by hand (a few element types; GDAL's GPX writer puts hdop and time only where
its field names happen to match, and orders nothing by segment): one <trk> per track, one
<trkseg> per recorded stretch (core/gps_track.segments), <trkpt> with <time> and <hdop>; speed,
course and the accuracy in metres go in <extensions> under our own namespace. The records made
on the way (sites, poles, findings whose GPS fix falls on the track) are <wpt>s with their fix
time, so the file shows what was surveyed where and when. GeoPackage is written by GDAL
(pyogrio): `tracks` (a MultiLineString per track) and `track_points` (time, accuracy, HDOP,
speed, course). Either file appears whole or not at all (core/atomic.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from . import gps_track
from .atomic import atomic_output
from .errors import InvalidInputError

GPX_NS = "http://www.topografix.com/GPX/1/1"
EXT_NS = "https://hatang.example.vn/xmlns/track/1"   # our extensions; not fetched by any reader
FORMATS = {".gpx": "GPX", ".gpkg": "GPKG"}
_RECORD_TYPES = {"sites": "Trạm BTS", "poles": "Cột", "findings": "Vi phạm"}


@dataclass
class TrackExport:
    path: Path
    format: str
    tracks: int = 0
    points: int = 0
    waypoints: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.path}: {self.tracks} lộ trình, {self.points} điểm, {self.waypoints} bản ghi dọc đường / "
                f"{self.tracks} tracks, {self.points} points, {self.waypoints} records on the way")


def export_format(out: str | Path) -> str:
    fmt = FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise InvalidInputError(f"{out}: chỉ xuất được .gpx hoặc .gpkg",
                                f"{out}: only .gpx or .gpkg can be written")
    return fmt


def export_tracks(db, out: str | Path, *, day: dt.date | None = None) -> TrackExport:
    """Write the tracks (of one Vietnamese calendar day, or all) to OUT.gpx or OUT.gpkg."""
    out = Path(out)
    fmt = export_format(out)
    tracks = []
    for info in gps_track.list_tracks(db, day):
        points = gps_track.track_points(db, info, day)
        if points:
            tracks.append((info, points, gps_track.records_on_track(db, info, points)))
    if not tracks:
        when = f" ngày {day:%d/%m/%Y}" if day else ""
        raise InvalidInputError(f"không có lộ trình nào{when} để xuất",
                                f"no track{' on ' + day.isoformat() if day else ''} to export")
    result = TrackExport(out, fmt, tracks=len(tracks), points=sum(len(p) for _i, p, _r in tracks))
    with atomic_output(out, lossy_writer=fmt == "GPKG") as temp:
        if fmt == "GPX":
            temp.write_text(gpx_text(tracks), encoding="utf-8")
            result.waypoints = len({r.uuid for _i, _p, recs in tracks for r in recs})
        else:
            _write_gpkg(tracks, temp)
    return result


def _num(value: float | None, digits: int) -> str:
    return f"{value:.{digits}f}"


def gpx_text(tracks) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<gpx version="1.1" creator="Hạ tầng Desktop" xmlns="{GPX_NS}" xmlns:ht="{EXT_NS}" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             f'xsi:schemaLocation="{GPX_NS} http://www.topografix.com/GPX/1/1/gpx.xsd">',
             "  <metadata><name>Lộ trình kiểm tra / inspection tracks</name>"
             f"<time>{gps_track.time_text(dt.datetime.now(dt.UTC).replace(tzinfo=None))}</time></metadata>"]
    seen = set()
    for _info, _points, records in tracks:   # GPX 1.1 wants every wpt before the first trk
        for r in records:
            if r.uuid in seen:
                continue
            seen.add(r.uuid)
            kind = _RECORD_TYPES.get(r.table, r.table)
            lines.append(f'  <wpt lat="{_num(r.lat, 7)}" lon="{_num(r.lon, 7)}"><time>{escape(r.fix_time)}</time>'
                         f"<name>{escape(r.label or kind)}</name><desc>{escape(kind)}; {escape(r.uuid)}</desc>"
                         f"<type>{escape(r.table)}</type></wpt>")
    for info, points, _records in tracks:
        desc = "; ".join(x for x in (info.recorded_by, info.gnss_source, info.device) if x)
        lines.append(f"  <trk><name>{escape(info.title)}</name><desc>{escape(desc)}</desc>"
                     f"<src>{escape(info.uuid)}</src>")
        for seg in gps_track.segments(points):
            lines.append("    <trkseg>")
            for p in seg:
                extra = "".join(f"<ht:{tag}>{_num(v, d)}</ht:{tag}>" for tag, v, d in (
                    ("accuracy_m", p.accuracy_m, 2), ("speed_mps", p.speed_mps, 2), ("course_deg", p.course_deg, 1))
                    if v is not None)
                lines.append(f"      <trkpt lat={quoteattr(_num(p.lat, 7))} lon={quoteattr(_num(p.lon, 7))}>"
                             f"<time>{p.time_text}</time>"
                             + (f"<hdop>{_num(p.hdop, 2)}</hdop>" if p.hdop is not None else "")
                             + (f"<extensions>{extra}</extensions>" if extra else "") + "</trkpt>")
            lines.append("    </trkseg>")
        lines.append("  </trk>")
    lines.append("</gpx>")
    return "\n".join(lines) + "\n"


def _write_gpkg(tracks, path: Path) -> None:
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    from shapely.geometry import LineString, MultiLineString, Point

    from .gis.export import GPKG_OPTIONS, WGS84

    def utc(values):
        return pd.to_datetime(pd.Series(values, dtype="datetime64[ns]")).dt.tz_localize("UTC")

    lines = []
    for info, points, _r in tracks:
        parts = [LineString([(p.lon, p.lat) for p in seg]) for seg in gps_track.segments(points) if len(seg) > 1]
        lines.append(MultiLineString(parts) if parts else None)
    frame = gpd.GeoDataFrame({
        "uuid": [i.uuid for i, _p, _r in tracks], "name": [i.title for i, _p, _r in tracks],
        "started_at": utc([p[0].time for _i, p, _r in tracks]), "ended_at": utc([p[-1].time for _i, p, _r in tracks]),
        "points": [len(p) for _i, p, _r in tracks],
        "length_m": [round(gps_track.length_m(p), 1) for _i, p, _r in tracks],
        "recorded_by": [i.recorded_by for i, _p, _r in tracks], "gnss_source": [i.gnss_source for i, _p, _r in tracks],
    }, geometry=gpd.GeoSeries(lines, crs=WGS84))
    pyogrio.write_dataframe(frame, path, layer="tracks", driver="GPKG", dataset_options=GPKG_OPTIONS,
                            layer_options={"IDENTIFIER": "Lộ trình", "SPATIAL_INDEX": "YES"},
                            geometry_type="MultiLineString", promote_to_multi=False)
    rows = [(info.uuid, seq, p) for info, points, _r in tracks for seq, p in enumerate(points)]
    points = gpd.GeoDataFrame({
        "track_uuid": [u for u, _s, _p in rows], "seq": [s for _u, s, _p in rows],
        "time": utc([p.time for _u, _s, p in rows]),
        "accuracy_m": [p.accuracy_m for _u, _s, p in rows], "hdop": [p.hdop for _u, _s, p in rows],
        "speed_mps": [p.speed_mps for _u, _s, p in rows], "course_deg": [p.course_deg for _u, _s, p in rows],
    }, geometry=gpd.GeoSeries([Point(p.lon, p.lat) for _u, _s, p in rows], crs=WGS84))
    pyogrio.write_dataframe(points, path, layer="track_points", driver="GPKG",
                            layer_options={"IDENTIFIER": "Điểm lộ trình", "SPATIAL_INDEX": "YES"},
                            geometry_type="Point", promote_to_multi=False)


__all__ = ["export_tracks", "export_format", "gpx_text", "TrackExport", "FORMATS"]
