"""`hatang basemap download|sources`: a basemap for an area, for offline use (main.py registers it).

Exit codes (cli/common.py): 0 written (or, with --estimate, estimated); 2 invalid input or a
refusal by the source (its terms, HTTP 403/429, no-store: one line naming the source, no file
left except the part a 429 keeps to resume); 1 the server unreachable or Ctrl+C (the part file
stays, the same command resumes).
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from .common import EXIT_OK, progress_printer


def run_download(args) -> int:
    from ..core.basemap.areas import resolve_area
    from ..core.basemap.download import download_basemap
    from ..core.basemap.sources import resolve_source
    from ..core.basemap.tiles import MAX_TILES, estimate, parse_zoom_range
    from ..core.text import format_plain

    zmin, zmax = parse_zoom_range(args.zoom)
    source = resolve_source(args.source, tms=args.tms, attribution=args.attribution)
    area = resolve_area(bbox=args.bbox, commune=args.commune, province=args.province, db=args.db)
    est = estimate(area.bbox, zmin, zmax, source.typical_tile_bytes)
    doc = {"area": area.as_json(), "source": source.title or source.name, "zoom": [zmin, zmax],
           "estimate": est.as_json() | {"over_limit": est.tiles > MAX_TILES}}
    if not args.json:
        print(f"Vùng / area: {area.label} [{area.bbox.as_text()}]"
              + (" (khung gần đúng / approximate box)" if area.approximate else ""))
        print(f"Nguồn / source: {doc['source']}; mức / zoom {zmin}-{zmax}")
        print(f"Ước tính / estimate: {est.line()}")
        if est.tiles > MAX_TILES and args.estimate:  # a download says so itself, as its error
            print(f"Quá giới hạn {format_plain(MAX_TILES, 'vi')} ô của một lần tải: giảm mức thu phóng lớn nhất hoặc "
                  f"chọn vùng nhỏ hơn / over the {format_plain(MAX_TILES, 'en')}-tile limit of one download: lower "
                  "the maximum zoom or choose a smaller area", file=sys.stderr)
    if args.estimate:
        if args.json:
            print(json.dumps(doc, ensure_ascii=False))
        return EXIT_OK
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():  # Ctrl+C: stop cleanly, keep the part
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        result = download_basemap(args.out, source, area.bbox, zmin, zmax, name=args.name or area.label,
                                  refresh=args.refresh, cancel=stop.is_set, progress=progress_printer(args.json))
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if args.json:
        print(json.dumps(doc | {"result": result.as_json()}, ensure_ascii=False))
    else:
        print("\n".join(result.lines()))
    return EXIT_OK


def run_sources(args) -> int:
    from ..core.basemap.sources import load_presets, sources_file

    presets = load_presets()
    if args.json:
        print(json.dumps([{"name": s.name, "title": s.title, "offline": s.offline, "terms": s.terms,
                           "attribution": s.attribution} for s in presets.values()], ensure_ascii=False))
        return EXIT_OK
    print(f"Danh sách / list: {sources_file()}")
    for s in presets.values():
        state = ("được tải / allowed" if s.offline else
                 f"không được tải: {s.why_vi or 'điều khoản'} / refused: {s.why_en or 'its terms'}")
        print(f"  {s.name}: {s.title} — {state}" + (f" ({s.terms})" if s.terms else ""))
    print("Hoặc địa chỉ của Sở / or the department's URL: --source 'https://…/{z}/{x}/{y}.png'")
    return EXIT_OK


def register(sub, parser_class) -> None:
    p = sub.add_parser("basemap", help="bản đồ nền ngoại tuyến cho một vùng / offline basemap for an area",
                       description="tải bản đồ nền của một vùng vào tệp MBTiles để dùng không cần mạng / download "
                                   "an area's basemap into an MBTiles file for offline use")
    verbs = p.add_subparsers(dest="basemap_command", metavar="LỆNH/COMMAND", parser_class=parser_class)
    verbs.required = True

    d = verbs.add_parser("download", help="tải ô ảnh của một vùng vào MBTiles / download an area's tiles into "
                                          "MBTiles",
                         description="ước tính rồi tải; bị ngắt thì chạy lại cùng lệnh để tải tiếp / estimates, "
                                     "then downloads; interrupted, the same command resumes")
    d.set_defaults(func=run_download)
    d.add_argument("out", metavar="OUT.mbtiles", help="tệp MBTiles sẽ tạo / MBTiles file to write")
    where = d.add_mutually_exclusive_group(required=True)
    where.add_argument("--commune", metavar="CODE", help="một xã/phường (mã 5 số) / one commune (5-digit code)")
    where.add_argument("--province", metavar="CODE", help="cả tỉnh (mã 2 số hoặc tên) / a whole province")
    where.add_argument("--bbox", metavar="W,S,E,N", help="khung kinh độ/vĩ độ WGS84 / a lon/lat box (WGS84)")
    d.add_argument("--zoom", required=True, metavar="MIN-MAX", help="các mức thu phóng, ví dụ 10-17 / zoom "
                                                                     "levels, e.g. 10-17")
    d.add_argument("--source", required=True, metavar="NAME|URL",
                   help="tên nguồn có sẵn (xem 'hatang basemap sources') hoặc địa chỉ máy chủ ô ảnh của Sở có "
                        "{z}/{x}/{y} / a preset name or the department's tile URL with {z}/{x}/{y}")
    d.add_argument("--db", metavar="DB", help="lấy ranh giới xã/tỉnh từ cơ sở dữ liệu này (không có thì khung gần "
                                              "đúng từ danh mục) / take the boundary from this database "
                                              "(else an approximate box from the unit list)")
    d.add_argument("--attribution", metavar="TEXT", help="ghi chú nguồn lưu vào tệp (mặc định: tên máy chủ) / "
                                                          "attribution stored in the file (default: host name)")
    d.add_argument("--name", metavar="TEXT", help="tên bản đồ nền trong tệp / the basemap's name in the file")
    d.add_argument("--tms", action="store_true", help="địa chỉ đếm hàng từ phía nam (TMS) / the URL counts rows "
                                                      "from the south (TMS)")
    d.add_argument("--estimate", action="store_true", help="chỉ ước tính số ô và dung lượng, không tải / only "
                                                           "estimate tiles and size, download nothing")
    d.add_argument("--refresh", action="store_true", help="cập nhật tệp đã có, chỉ tải ô đã thay đổi / update an "
                                                          "existing file, fetching changed tiles only")
    d.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    s = verbs.add_parser("sources", help="các nguồn có sẵn và điều khoản / the presets and their terms")
    s.set_defaults(func=run_sources)
    s.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")
