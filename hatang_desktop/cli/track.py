"""`hatang track list|export|record`: the GPS track a file keeps (core/gps_track.py; main.py
registers it). A track is the file's own and never goes to the server, so these take a file only.

Exit codes (cli/common.py): 0 done; 2 invalid input (a bad date, a format other than .gpx or
.gpkg, no track to export, an unreadable NMEA log: one line, nothing written).
"""

from __future__ import annotations

import datetime as dt
import json

from .common import EXIT_OK


def _day(text: str | None) -> dt.date | None:
    from ..core.errors import InvalidInputError

    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"--date {text}: ngày phải có dạng YYYY-MM-DD",
                                f"--date {text}: the date must be YYYY-MM-DD") from None


def _file(path: str):
    from ..core.errors import InvalidInputError

    if "://" in path:
        raise InvalidInputError("lộ trình chỉ lưu trong tệp của xã, không có trên máy chủ / "
                                "a track is kept in a commune's file only, never on the server")
    return path


def run_list(args) -> int:
    from ..core import gps_track
    from ..core.storage.database import open_for_exchange

    with open_for_exchange(_file(args.db)) as db:
        rows = []
        for info in gps_track.list_tracks(db, _day(args.date)):
            points = gps_track.track_points(db, info)
            rows.append({"uuid": info.uuid, "name": info.title, "started_at": info.started_at,
                         "ended_at": info.ended_at, "points": info.point_count,
                         "length_m": round(gps_track.length_m(points), 1), "recorded_by": info.recorded_by,
                         "gnss_source": info.gnss_source,
                         # What was surveyed on the way, with the time of the stretch it was made on.
                         "records": [{"table": r.table, "uuid": r.uuid, "label": r.label, "fix_time": r.fix_time,
                                      "segment_start": r.segment_start, "segment_end": r.segment_end}
                                     for r in gps_track.records_on_track(db, info, points)]})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return EXIT_OK
    if not rows:
        print("Chưa có lộ trình nào / no track yet")
    for r in rows:
        print(f"{r['uuid']}  {r['name']}  {r['started_at']} → {r['ended_at']}  {r['points']} điểm/points  "
              f"{r['length_m']:.0f} m  {len(r['records'])} bản ghi/records  {r['gnss_source'] or ''}")
    return EXIT_OK


def run_export(args) -> int:
    from ..core.gps_track_export import export_format, export_tracks
    from ..core.storage.database import open_for_exchange

    export_format(args.out)   # refused before the file is opened
    with open_for_exchange(_file(args.db)) as db:
        result = export_tracks(db, args.out, day=_day(args.date))
    if args.json:
        print(json.dumps({"path": str(result.path), "format": result.format, "tracks": result.tracks,
                          "points": result.points, "waypoints": result.waypoints}, ensure_ascii=False))
    else:
        print(result.line())
    return EXIT_OK


def run_record(args) -> int:
    from pathlib import Path

    from ..core import gps, gps_track
    from ..core.storage.database import Database

    fixes = list(gps.read_log(args.nmea))   # a missing log is refused before the database is opened
    with Database.open(_file(args.db)) as db:
        recorder = gps_track.record_fixes(
            db, fixes, gnss_source=f"nmea-log:{Path(args.nmea).name}", name=args.name,
            max_accuracy_m=args.max_accuracy, min_distance_m=args.min_distance, max_interval_s=args.interval)
    doc = {"uuid": recorder.uuid if recorder.stored else None, "points": recorder.stored,
           "refused": recorder.thinner.refused}
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
    elif recorder.stored:
        print(f"Lộ trình / track {recorder.uuid}: {recorder.stored} điểm / points "
              f"({recorder.thinner.refused} lần đo kém bị bỏ / poor fixes skipped)")
    else:
        print("Không có lần đo nào đạt ngưỡng: không ghi lộ trình / no fix met the threshold: no track written")
    return EXIT_OK


def register(sub, parser_class) -> None:
    from ..core import gps, gps_track

    p = sub.add_parser("track", help="lộ trình GPS của người kiểm tra / the inspector's GPS track",
                       description="liệt kê, xuất (GPX, GeoPackage) hoặc ghi từ nhật ký NMEA lộ trình lưu trong tệp / "
                                   "list, export (GPX, GeoPackage) or record from an NMEA log the tracks a file keeps")
    verbs = p.add_subparsers(dest="track_command", metavar="LỆNH/COMMAND", parser_class=parser_class)
    verbs.required = True

    def verb(name: str, help_text: str, func, out: str | None = None):
        v = verbs.add_parser(name, help=help_text)
        v.set_defaults(func=func)
        v.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
        if out:
            v.add_argument("out", metavar=out, help="tệp sẽ ghi / file to write")
        v.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")
        return v

    day_help = "chỉ ngày này (giờ Việt Nam) / this day only (Vietnam time)"
    verb("list", "các lộ trình đã ghi / the recorded tracks", run_list).add_argument(
        "--date", metavar="YYYY-MM-DD", help=day_help)
    verb("export", "xuất lộ trình ra GPX hoặc GeoPackage / export tracks to GPX or GeoPackage", run_export,
         "OUT.gpx|OUT.gpkg").add_argument("--date", metavar="YYYY-MM-DD", help=day_help)
    rec = verb("record", "ghi lộ trình từ nhật ký NMEA / record a track from an NMEA log", run_record)
    rec.add_argument("--nmea", required=True, metavar="LOG", help="tệp nhật ký NMEA 0183 / NMEA 0183 log file")
    rec.add_argument("--name", metavar="TEXT", help="tên lộ trình / the track's name")
    rec.add_argument("--max-accuracy", type=float, default=gps.DEFAULT_MAX_ACCURACY_M, metavar="M",
                     help="bỏ lần đo kém hơn ngưỡng này (m) / skip fixes worse than this (m)")
    rec.add_argument("--min-distance", type=float, default=gps_track.MIN_DISTANCE_M, metavar="M",
                     help="khoảng cách tối thiểu giữa hai điểm (m) / least distance between points (m)")
    rec.add_argument("--interval", type=float, default=gps_track.MAX_INTERVAL_S, metavar="S",
                     help="đứng yên vẫn ghi một điểm sau ngần này giây / a point after this many seconds "
                          "even when standing")
