"""`hatang server ...`: the department's PostgreSQL + PostGIS server (main.py registers it here)."""

from __future__ import annotations

import json
from pathlib import Path

from .common import EXIT_OK, refuse


def run_qgis_project(args) -> int:
    from ..core.server.qgis_project import ServerUrlError, conninfo_from_url, write_qgis_project

    try:
        conninfo = conninfo_from_url(args.url)
    except ServerUrlError as exc:
        return refuse(exc, args.json, counts=False)
    names = write_qgis_project(conninfo, Path(args.out), lang=args.lang, province_name=args.province_name)
    if args.json:
        print(json.dumps({"path": str(args.out), "layers": names}, ensure_ascii=False))
    else:
        print(f"Đã ghi dự án QGIS / QGIS project written: {args.out}")
        for name in names:
            print(f"  {name}")
    return EXIT_OK


def register(sub) -> None:
    """Add `server` and its own verbs to the top-level subparsers `sub`."""
    server = sub.add_parser("server", help="máy chủ PostgreSQL + PostGIS của Sở / the department's "
                                           "PostgreSQL + PostGIS server",
                            description="máy chủ PostgreSQL + PostGIS của Sở / the department's "
                                        "PostgreSQL + PostGIS server")
    verbs = server.add_subparsers(dest="server_command", metavar="LỆNH/COMMAND", parser_class=type(server))
    verbs.required = True

    text = ("ghi dự án QGIS mở thẳng các bảng PostGIS của máy chủ, tô như trong ứng dụng / write a QGIS "
            "project that opens the server's PostGIS tables, styled as in the app")
    p = verbs.add_parser("qgis-project", help=text, description=text,
                         epilog="Mật khẩu không bao giờ ở địa chỉ: QGIS đọc ~/.pgpass hoặc pg_service.conf / "
                                "never a password in the URL: QGIS reads ~/.pgpass or pg_service.conf")
    p.set_defaults(func=run_qgis_project)
    p.add_argument("url", metavar="URL", help="postgresql://[NGƯỜI_DÙNG@]MÁY[:CỔNG]/CSDL hoặc "
                                              "postgresql:///?service=TÊN / postgresql://[user@]host[:port]/dbname "
                                              "or postgresql:///?service=NAME")
    p.add_argument("out", metavar="OUT.qgz", help="dự án QGIS sẽ tạo (.qgz hoặc .qgs) / QGIS project to write")
    p.add_argument("--lang", choices=("vi", "en"), default="vi",
                   help="ngôn ngữ tên lớp và nhãn trường (mặc định vi) / language of layer names and field "
                        "labels (default vi)")
    p.add_argument("--province-name", metavar="TÊN", help="tên tỉnh ghi ở tiêu đề dự án / province name in the "
                                                          "project title")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")
