"""`hatang sync FILE URL`: a commune's file and the department's server, online (main.py dispatches here).

Exit codes (cli/common.py): 0 synced; 3 synced, conflicts wait on either side; 2 invalid input (not
a commune's file, another server, a password in the URL) or a connection lost (one line; the
file is as it was and the server rolled back what it had not committed); 1 anything else.
"""

from __future__ import annotations

import json

from .common import EXIT_CONFLICTS, EXIT_OK, progress_printer


def run_sync(args) -> int:
    from ..core.server.database import ServerDatabase
    from ..core.server.sync import sync
    from ..core.storage.database import Database
    from ..core.storage.targets import is_server_url, parse_server_url

    from ..core.errors import InvalidInputError

    if not is_server_url(args.url):
        raise InvalidInputError(f"'{args.url}' không phải địa chỉ máy chủ (postgresql://…) / not a server address")
    url = parse_server_url(args.url)   # a password in it is refused before anything connects
    with Database.open(args.file) as file_db, ServerDatabase.open(url) as server_db:
        result = sync(file_db, server_db, report=progress_printer(args.json), url=url.display)
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        print("\n".join(result.lines()))
    return EXIT_CONFLICTS if result.conflicts_wait else EXIT_OK


def register(sub, parser_class) -> None:
    p = sub.add_parser("sync", help="đồng bộ tệp của xã với máy chủ Sở / sync a commune's file with the "
                                    "department's server",
                       description="gửi các thay đổi của tệp lên máy chủ, rồi nhận các thay đổi của máy chủ "
                                   "/ push the file's changes to the server, then pull the server's")
    p.set_defaults(func=run_sync)
    p.add_argument("file", metavar="FILE", help="tệp cơ sở dữ liệu của xã / the commune's database file")
    p.add_argument("url", metavar="URL", help="postgresql://người-dùng@máy-chủ/csdl hoặc postgresql:///?service=TÊN; "
                                              "mật khẩu để trong ~/.pgpass / postgresql://user@host/db or "
                                              "postgresql:///?service=NAME; the password stays in ~/.pgpass")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")
