"""`hatang server …`: the department's database on PostgreSQL + PostGIS."""

from __future__ import annotations

import json
from pathlib import Path

from .common import EXIT_OK


def _cmd_server_init(args) -> int:
    from ..core.server.database import init_server_database
    from ..core.storage.targets import parse_server_url
    from .main import _print_info

    url = parse_server_url(args.url)   # a password in it is refused before anything connects
    if args.from_file:
        from ..core.server.load import load_file
        from .common import progress_printer

        db = load_file(url, args.from_file, force=args.force, report=progress_printer(args.json))
    elif args.province:
        db = init_server_database(url, args.province, force=args.force)
    else:
        from ..core.errors import InvalidInputError

        raise InvalidInputError("cần --province MÃ hoặc --from TỆP", "give --province CODE or --from FILE")
    try:
        _print_info(db, args.json)
    finally:
        db.close()
    return EXIT_OK


def _cmd_server_upgrade(args) -> int:
    from ..core.server.upgrade import upgrade_server
    from ..core.storage.targets import parse_server_url

    applied = upgrade_server(parse_server_url(args.url))
    if applied:
        print("Đã nâng cấp lược đồ / schema upgraded: " + ", ".join(str(v) for v in applied))
    else:
        print("Lược đồ đã mới nhất / the schema is up to date")
    return EXIT_OK


def run_qgis_project(args) -> int:
    from ..core.server.qgis_project import write_qgis_project
    from ..core.storage.targets import parse_server_url

    conninfo = parse_server_url(args.url).conninfo   # a password in it: exit 2, nothing written
    names = write_qgis_project(conninfo, Path(args.out), lang=args.lang, province_name=args.province_name)
    if args.json:
        print(json.dumps({"path": str(args.out), "layers": names}, ensure_ascii=False))
    else:
        print(f"Đã ghi dự án QGIS / QGIS project written: {args.out}")
        for name in names:
            print(f"  {name}")
    return EXIT_OK


def _cmd_server_grant(args) -> int:
    from ..core.server.security import grant_login
    from ..core.storage.targets import parse_server_url

    group = grant_login(parse_server_url(args.url), args.login_role, args.role, args.commune)
    print(f"{args.login_role}: đã là thành viên của {group} / now a member of {group}")
    return EXIT_OK


def _register_grant(verbs) -> None:
    p = verbs.add_parser(
        "grant", help="cho một vai trò đăng nhập vào nhóm Sở, thanh tra, Bộ hoặc một xã / make a login role a "
                      "member of the department, inspector, ministry or one commune's group",
        description="Không tạo người dùng hay mật khẩu: quản trị viên tạo bằng psql (CREATE ROLE tên LOGIN;) "
                    "và đặt mật khẩu bằng \\password. / Creates no user and no password: the administrator "
                    "creates the login with psql (CREATE ROLE name LOGIN;) and sets its password with \\password.")
    p.set_defaults(func=_cmd_server_grant)
    p.add_argument("url", metavar="URL", help="cơ sở dữ liệu, kết nối bằng quyền quản trị / the database, "
                                              "connected as an administrator")
    p.add_argument("login_role", metavar="LOGIN_ROLE", help="vai trò đăng nhập đã có / an existing login role")
    p.add_argument("--role", required=True, choices=("department", "inspector", "ministry", "commune"),
                   help="Sở (mọi thứ), thanh tra (đọc tỉnh, ghi phát hiện), Bộ (chỉ đọc), xã (chỉ xã mình) / "
                        "department (all), inspector (reads the province, writes findings), ministry (read only), "
                        "commune (its own only)")
    p.add_argument("--commune", metavar="CODE", help="mã xã, với --role commune / the commune code, with --role "
                                                     "commune")


def register(sub, parser_class) -> None:
    server = sub.add_parser("server", help="cơ sở dữ liệu của Sở trên PostgreSQL + PostGIS / the department's "
                                           "database on PostgreSQL + PostGIS",
                            description="cơ sở dữ liệu của Sở trên PostgreSQL + PostGIS / the department's "
                                        "database on PostgreSQL + PostGIS")
    verbs = server.add_subparsers(dest="server_command", metavar="LỆNH/COMMAND", parser_class=parser_class)
    verbs.required = True
    p = verbs.add_parser("init", help="tạo lược đồ trên máy chủ (PostGIS, bảng, trigger, vai trò) / create the "
                                      "schema on the server (PostGIS, tables, triggers, roles)")
    p.set_defaults(func=_cmd_server_init)
    p.add_argument("url", metavar="URL", help="postgresql://người-dùng@máy-chủ/csdl hoặc postgresql:///?service=TÊN; "
                                              "mật khẩu để trong ~/.pgpass / postgresql://user@host/db or "
                                              "postgresql:///?service=NAME; the password stays in ~/.pgpass")
    p.add_argument("--province", metavar="CODE",
                   help="mã hoặc tên tỉnh 2025, ví dụ 42 / 2025 province code or name, e.g. 42")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="chuyển tệp cơ sở dữ liệu của Sở lên máy chủ, cả lịch sử thay đổi / move the department's "
                        "database file onto the server, its change history included")
    p.add_argument("--force", action="store_true",
                   help="xóa và tạo lại lược đồ đã có / drop and re-create an existing schema")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")

    p = verbs.add_parser("upgrade", help="nâng cấp lược đồ máy chủ lên phiên bản của phần mềm (sao lưu trước) / "
                                         "upgrade the server's schema to this software's (back up first)")
    p.set_defaults(func=_cmd_server_upgrade)
    p.add_argument("url", metavar="URL", help="địa chỉ máy chủ / server address")

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


    _register_grant(verbs)
