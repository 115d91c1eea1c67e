"""`hatang server …`: the department's database on PostgreSQL + PostGIS."""

from __future__ import annotations

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
