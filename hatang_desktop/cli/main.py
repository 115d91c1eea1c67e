"""The `hatang` command's arguments, its verbs, and the one place errors become exit codes.

Exit codes are in common.py. `--json` prints one JSON document on stdout and nothing else there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..core.errors import HatangError, InvalidInputError, environment_fault
from .common import (EXIT_CONFLICTS, EXIT_FAILED, EXIT_INVALID, EXIT_OK, SERVER_BACKUP_NOTE, dry_run_records,
                     progress_printer, refuse)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, in both languages, exit 2
        self.exit(EXIT_INVALID, f"hatang: lỗi tham số / argument error: {message}\n"
                                f"Xem / see: {self.prog} --help\n")


def _cmd_init(args) -> int:
    from ..core.provinces_db import init_province_database

    db = init_province_database(args.db, args.province, overwrite=args.force, commune=args.commune)
    try:
        _print_info(db, args.json)
    finally:
        db.close()
    return EXIT_OK


def _cmd_sample(args) -> int:
    from ..core.sample import generate_sample
    from ..core.storage.database import Database

    counts = generate_sample(args.db, sites=args.sites, seed=args.seed, province=args.province,
                             overwrite=args.force, progress=progress_printer(args.json))
    with Database.open(args.db, readonly=True) as db:
        if args.json:
            _print_info(db, True)
        else:
            _print_info(db, False)
            print(f"Đỉnh tuyến cáp / route vertices: {counts.route_vertices}")
    return EXIT_OK


def _print_info(db, as_json: bool) -> None:
    from ..core.info import LABELS_VI, database_info

    info = database_info(db)
    if as_json:
        print(json.dumps(info, ensure_ascii=False))
        return
    print(f"{'Máy chủ / server' if db.dialect == 'postgresql' else 'Tệp / file'}: {db.name}")
    print(f"Phiên bản lược đồ / schema version: {info['schema_version']}")
    print(f"Tỉnh / province: {info['province']['code']} {info['province']['name']}")
    for key, n in info["counts"].items():
        print(f"  {LABELS_VI[key]} / {key}: {n}")
    print(f"  Trạm dùng chung / shared sites: {info['shared_sites']}")
    if info["sample_note"]:
        print(f"Lưu ý / note: {info['sample_note']}")


def _cmd_info(args) -> int:
    from ..core.storage.targets import open_database

    with open_database(args.db, readonly=True) as db:
        _print_info(db, args.json)
    return EXIT_OK


def _cmd_export_xlsx(args) -> int:
    from ..core.exchange.export import export_workbook
    from ..core.exchange.package import export_package
    from ..core.storage.targets import open_for_exchange

    if args.out.lower().endswith(".zip") and not args.package:
        raise InvalidInputError(f"{args.out}: sổ Excel phải có đuôi .xlsx; gói .zip kèm ảnh thì thêm --package / "
                                "the workbook must be an .xlsx; for a .zip package with the photos add --package")
    with open_for_exchange(args.db) as db:
        if args.package:
            package = export_package(db, args.out, commune=args.commune,
                                     progress=progress_printer(args.json), backend=args.writer)
            result = package.workbook
        else:
            package, result = None, export_workbook(db, args.out, commune=args.commune,
                                                    progress=progress_printer(args.json), backend=args.writer)
    if args.json:
        print(json.dumps(package.as_json() if package else {
            "path": str(result.path), "rows": result.rows, "writer": result.backend, "photo_rows": result.photos,
            "photos_missing": result.photos_missing}, ensure_ascii=False))
        return EXIT_OK
    if package:
        print(f"Đã xuất gói / package written: {package.path} ({package.size / 1e6:.1f} MB): sổ {result.path} "
              f"({sum(result.rows.values())} dòng / rows) và / and {package.photos} ảnh / photos")
    else:
        print(f"Đã xuất / exported {sum(result.rows.values())} dòng vào / rows to {result.path}")
    for record, n in result.rows.items():
        print(f"  {record}: {n}")
    print(f"  ảnh / photos: {result.photos}" + (f" ({result.photos_missing} thiếu tệp / without their file)"
                                                if result.photos_missing else ""))
    if package and package.not_included:
        print(f"Lưu ý / note: {len(package.not_included)} ảnh không có trong gói vì tệp bị thiếu hoặc đã thay đổi "
              "(xem trang 'Ảnh') / photos left out: file missing or changed (see the 'Ảnh' sheet)", file=sys.stderr)
    return EXIT_OK


def _cmd_import_xlsx(args) -> int:
    from ..core.exchange.package import import_workbook_or_package
    from ..core.exchange.problems import ImportRefused
    from ..core.storage.targets import open_for_exchange

    with open_for_exchange(args.db, write=not args.dry_run) as db:
        try:
            result = import_workbook_or_package(db, args.workbook, dry_run=args.dry_run,
                                                progress=progress_printer(args.json))
        except ImportRefused as exc:
            return refuse(exc, args.json)
        described = dry_run_records(db, result, args)
    total = result.total
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, default=str))
    else:
        from ..core.exchange.merge import summary_lines

        print("\n".join(summary_lines(result, args.dry_run)))
        print("\n".join(described))
        if result.photos is not None:
            p = result.photos
            print(f"  ảnh / photos: thêm / added {p['added']}, cập nhật / updated {p['updated']}, chép tệp / files "
                  f"copied {p['files_copied']}, không đổi / unchanged {p['unchanged']}")
        if result.backup:
            print(f"Bản sao lưu / backup: {result.backup}")
        elif result.applied and db.path is None:
            print(SERVER_BACKUP_NOTE)
        if total["conflicts"]:
            print("Có xung đột cần xem xét: hatang conflicts DB / conflicts wait for review")
    return EXIT_CONFLICTS if total["conflicts"] and not args.dry_run else EXIT_OK


def _cmd_conflicts(args) -> int:
    from ..core.exchange.conflicts import list_conflicts, resolve_conflicts
    from ..core.storage.targets import open_database

    with open_database(args.db, readonly=args.keep is None) as db:
        if args.keep:
            n = resolve_conflicts(db, args.keep, conflict_or_record=args.id)
            if args.json:
                print(json.dumps({"resolved": n, "keep": args.keep}))
            else:
                print(f"Đã giải quyết {n} xung đột, giữ bản {'của máy này' if args.keep == 'local' else 'trong sổ'}"
                      f" / resolved {n} conflicts keeping {args.keep}")
            return EXIT_OK
        if args.id:
            raise InvalidInputError("--id chỉ dùng cùng --keep / --id needs --keep")
        items = list_conflicts(db)
    if args.json:
        print(json.dumps([c.as_dict() for c in items], ensure_ascii=False, default=str))
    else:
        if not items:
            print("Không có xung đột nào / no conflicts")
        for c in items:
            print(f"{c.id}  {c.table} {c.record_uuid}  {c.label}: máy này / local = {c.local!r}, "
                  f"sổ / workbook = {c.theirs!r}  ({c.workbook})")
    return EXIT_OK


def _cmd_check(args) -> int:
    from .rules import run

    return run(args)


def _cmd_indicators(args) -> int:
    from .indicators import run

    return run(args)


def _cmd_report(args) -> int:
    from ..core.reports import write_report

    given = {k: v for k, v in (("paper", args.paper), ("grid", args.grid), ("basemap", args.basemap)) if v}
    if given and args.kind != "map":
        raise InvalidInputError(f"--{next(iter(given))} chỉ dùng cho báo cáo map (bản đồ in) / only for the map sheet")
    scoped = {k: v for k, v in (("operator", args.operator), ("severity", args.severity), ("details", args.details))
              if v is not None}
    if scoped and args.kind != "findings":
        raise InvalidInputError(f"--{next(iter(scoped))} chỉ dùng cho báo cáo findings (phát hiện kiểm tra) / "
                                "only for the findings report")
    options = given if args.kind == "map" else scoped
    summary = write_report(args.kind, args.db, args.out, commune=args.commune, year=args.year, **options)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        print(f"Đã ghi báo cáo / report written: {args.out}")
    return EXIT_OK


def _cmd_export(args) -> int:
    from .gis import run_export

    return run_export(args)


def _cmd_import(args) -> int:
    from .gis import run_import

    return run_import(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hatang",
        description="Hạ tầng Desktop: khảo sát hạ tầng viễn thông dùng chung (trạm BTS, cột, cáp "
                    "quang) / field survey of shared telecom infrastructure.",
        epilog="Mã thoát / exit codes: 0 xong / done; 2 dữ liệu vào không hợp lệ / invalid input; "
               "3 có xung đột chờ xử lý / conflicts wait; 1 lỗi khác / other error.",
    )
    parser.add_argument("--version", action="version", version=f"hatang {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="LỆNH/COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, help_text: str, func: Callable) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("init", "tạo cơ sở dữ liệu trống cho một tỉnh (nạp sẵn xã, phường) / create an "
                    "empty database for a province (communes loaded)", _cmd_init)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu mới / new database file")
    p.add_argument("--province", required=True, metavar="CODE",
                   help="mã hoặc tên tỉnh 2025, ví dụ 42 hoặc 'Hà Tĩnh' / 2025 province code or name")
    p.add_argument("--commune", metavar="CODE",
                   help="cơ sở dữ liệu của một xã/phường (mã 5 số) / a commune's own database (5-digit code)")
    p.add_argument("--force", action="store_true", help="ghi đè tệp đã có / overwrite an existing file")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("sample", "tạo cơ sở dữ liệu mẫu (vị trí giả lập) / create a sample database "
                      "(synthetic positions)", _cmd_sample)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu mới / new database file")
    p.add_argument("--sites", type=int, default=3600,
                   help="số trạm BTS (mặc định 3600) / number of BTS sites (default 3600)")
    p.add_argument("--seed", type=int, default=2025, help="hạt giống ngẫu nhiên / random seed")
    p.add_argument("--province", default="42",
                   help="mã tỉnh hoặc 'all' cho toàn quốc (mặc định 42 Hà Tĩnh) / province code "
                        "or 'all' for national scale")
    p.add_argument("--force", action="store_true", help="ghi đè tệp đã có / overwrite an existing file")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("export-xlsx", "xuất sổ Excel gửi Sở / export the department workbook", _cmd_export_xlsx)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("out", metavar="OUT.xlsx|OUT.zip", help="sổ Excel (hoặc gói .zip với --package) sẽ tạo / "
                                                           "workbook (or .zip package with --package) to write")
    p.add_argument("--commune", metavar="CODE", help="chỉ một xã/phường (mã 5 số) / one commune only")
    p.add_argument("--package", action="store_true",
                   help="gói .zip gửi Sở: sổ Excel kèm ảnh của các bản ghi và tệp kê khai mã SHA-256 / a .zip "
                        "package: the workbook, its records' photos and a sha256 manifest")
    p.add_argument("--writer", choices=("direct", "rust", "openpyxl"), default=None,
                   help="bộ ghi xlsx (mặc định direct, nhanh nhất) / xlsx writer (default: direct, the fastest)")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("import-xlsx", "nhập sổ Excel: kiểm tra rồi hợp nhất / validate and merge a workbook",
            _cmd_import_xlsx)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("workbook", metavar="IN.xlsx|IN.zip",
                   help="sổ Excel, hoặc gói .zip gửi Sở (kiểm tra mã SHA-256 rồi nhập cả ảnh) / workbook, or a .zip "
                        "sync package (hashes checked, photos imported too)")
    p.add_argument("--dry-run", action="store_true",
                   help="chỉ báo sẽ thay đổi gì, không ghi / report only, write nothing")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("conflicts", "liệt kê hoặc giải quyết xung đột sau khi nhập / list or resolve import "
                         "conflicts", _cmd_conflicts)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("--keep", choices=("local", "theirs"),
                   help="giữ bản của máy này (local) hoặc bản trong sổ (theirs) / keep local or theirs")
    p.add_argument("--id", metavar="UUID", help="chỉ xung đột này hoặc bản ghi này / only this conflict "
                                                "or record")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("check", "chạy các quy tắc kiểm tra, lưu và liệt kê vi phạm / run the compliance rules, "
                     "store and list findings", _cmd_check)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("--commune", metavar="CODE", help="chỉ một xã/phường (mã 5 số) / one commune only")
    p.add_argument("--rule", action="append", metavar="ID",
                   help="chỉ quy tắc này; lặp lại được / only this rule; repeatable")
    p.add_argument("--rules", metavar="DIR", help="thư mục quy tắc khác (mặc định resources/rules) / "
                                                  "another rules folder")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("indicators", "chỉ tiêu hạ tầng số so với kế hoạch / plan indicators against targets",
            _cmd_indicators)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("--commune", metavar="CODE", help="một xã/phường (mã 5 số) / one commune")
    p.add_argument("--year", type=int, help="năm chỉ tiêu (mặc định: năm kế hoạch gần nhất đã qua) / target "
                                            "year (default: the latest plan year not after this one)")
    p.add_argument("--set-figure", action="append", metavar="CHỈ_SỐ=GIÁ_TRỊ",
                   help="nhập số liệu của Sở cho xã (--commune) hoặc tỉnh, năm --year: "
                        "mobile_bb_subs_per_100, fixed_bb_subs_per_100, mobile_ispeed_mbps, fixed_ispeed_mbps / "
                        "enter a department figure for the commune or the province")
    p.add_argument("--import-figures", metavar="FIGURES.xlsx",
                   help="nhập số liệu Sở từ sổ Excel (mẫu --figures-template hoặc trang 'Số liệu Sở nhập' của báo "
                        "cáo); kiểm tra mọi ô trước, có lỗi thì không ghi gì / import the department's figures "
                        "from a workbook, every cell checked first")
    p.add_argument("--figures-template", metavar="OUT.xlsx",
                   help="ghi mẫu số liệu trống (các xã, phường của tỉnh; năm --year) / write the empty figures "
                        "template with the province's communes")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("report", "báo cáo phát hiện kiểm tra hoặc chỉ tiêu quy hoạch / findings or plan "
                      "indicators report", _cmd_report)
    p.add_argument("kind", choices=("findings", "indicators", "map"),
                   help="findings: phát hiện kiểm tra / inspection findings; indicators: chỉ tiêu / "
                        "plan indicators; map: bản đồ in của một xã (.pdf, cần --commune) / a printed "
                        "map sheet of one commune")
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("out", metavar="OUT", help="tệp báo cáo .xlsx hoặc .pdf / report file .xlsx or .pdf")
    p.add_argument("--commune", metavar="CODE", help="chỉ một xã/phường (mã 5 số) / one commune only")
    p.add_argument("--year", type=int, help="năm báo cáo / reporting year")
    p.add_argument("--operator", metavar="NAME",
                   help="findings: chỉ một doanh nghiệp (mã hoặc tên, vd. VTL, Viettel) / one operator only (code or name)")
    p.add_argument("--severity", metavar="LEVEL",
                   help="findings: chỉ một mức độ: violation (vi phạm), warning (cảnh báo), info (thông tin) / "
                        "one severity only")
    p.add_argument("--details", metavar="auto|all|none",
                   help="findings .pdf: danh sách từng vi phạm sau phần tổng hợp; auto (mặc định): chỉ khi thu hẹp "
                        "phạm vi bằng --commune, --operator hoặc --severity; all: luôn in (cả tỉnh); none: chỉ tổng "
                        "hợp / the list of individual findings after the summary: auto (default) only for a "
                        "narrowed scope, all: always (the whole province too), none: summary only")
    p.add_argument("--paper", choices=("A4", "A3"),
                   help="khổ giấy bản đồ in (ngang), mặc định A4 / map sheet paper size (landscape), A4 by default")
    p.add_argument("--grid", choices=("wgs84", "vn2000"),
                   help="lưới tọa độ của bản đồ in, mặc định wgs84 / the map sheet's coordinate grid, wgs84 by default")
    p.add_argument("--basemap", metavar="FILE.mbtiles", help="bản đồ nền cho bản đồ in / basemap under the map sheet")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("export", "xuất dữ liệu GIS: GeoPackage, GeoJSON, KML, CSV OpenCelliD / export GIS data",
            _cmd_export)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("out", metavar="OUT", help="tệp sẽ tạo: .gpkg, .geojson (một tệp mỗi loại: OUT_<loại>.geojson), "
                                              ".kml hoặc .csv / file to write")
    p.add_argument("--commune", metavar="CODE", help="chỉ một xã/phường (mã 5 số) / one commune only")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = add("import", "nhập dữ liệu GIS: GeoPackage, GeoJSON, KML/KMZ, CSV / import GIS data", _cmd_import)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("file", metavar="IN", help="tệp .gpkg, .geojson, .kml, .kmz, .shp, .zip (shapefile nén) hoặc .csv / file to import")
    p.add_argument("--dry-run", action="store_true",
                   help="chỉ báo sẽ hiểu và thay đổi gì, không ghi / report only, write nothing")
    p.add_argument("--as", dest="as_record", choices=("sites", "poles", "routes", "zones", "boundaries"),
                   help="loại bản ghi cho các đối tượng cùng loại hình học / record type for matching geometries")
    p.add_argument("--include-untyped", action="store_true",
                   help="điểm OpenStreetMap man_made=mast|tower không có tower:type: vẫn nhập thành trạm cần xác "
                        "minh (mặc định bỏ qua) / OSM masts and towers with no tower:type: import them as sites to "
                        "verify too (skipped by default)")
    p.add_argument("--map", action="append", metavar="SRC=FIELD",
                   help="gán thuộc tính SRC vào trường FIELD (trống: bỏ qua); lặp lại được / map an "
                        "attribute to a field (empty: ignore); repeatable")
    p.add_argument("--accept-name-match", action="store_true",
                   help="ranh giới có mã không có trong danh mục 2025: nhận đơn vị trùng tên được gợi ý / "
                        "boundaries whose code is not a 2025 code: take the unit their name fits")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    from .server import register as register_server

    register_server(sub, _Parser)

    from .sync import register as register_sync

    register_sync(sub, _Parser)

    from .basemap import register as register_basemap

    register_basemap(sub, _Parser)

    from .track import register as register_track

    register_track(sub, _Parser)

    from .layers import register as register_layers

    register_layers(sub, _Parser)

    p = add("info", "phiên bản lược đồ và số bản ghi / schema version and record counts", _cmd_info)
    p.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except InvalidInputError as exc:
        return _fail(exc, EXIT_INVALID)
    except HatangError as exc:
        return _fail(exc, EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("đã dừng / interrupted", EXIT_FAILED)
    except Exception as exc:
        # A fault of the machine (read-only, disk full, locked, broken pipe, permission) is one
        # line and exit 2 (core/errors.py words it); anything else is a bug: its traceback.
        fault = environment_fault(exc, _database_arg(args, exc))
        if fault is None:
            raise
        return _fail(fault, EXIT_INVALID)


def _database_arg(args, exc: Exception):
    """The file an error with no file name of its own (SQLite's) is about: the command's DB."""
    if getattr(exc, "filename", None):
        return None
    return getattr(args, "db", None)


def _fail(message, code: int) -> int:
    try:
        sys.stdout.flush()
    except OSError:  # a closed pipe: what was printed so far is all the reader wanted
        _stdout_to_devnull()
    try:
        # A core error's line is its Vietnamese text, then its English one (core.messages.Text).
        line = message.text if isinstance(message, HatangError) else message
        print(f"hatang: {line}", file=sys.stderr)
        sys.stderr.flush()
    except OSError:
        pass  # stderr went down the same closed pipe (2>&1 | head): nothing more to say
    return code


def _stdout_to_devnull() -> None:
    """After a broken pipe, the interpreter's last flush of stdout would fail again (and print
    "Exception ignored ... BrokenPipeError"): point the descriptor at the null device."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
