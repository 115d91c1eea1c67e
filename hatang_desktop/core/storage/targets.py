"""What a command's DB argument names: a database file, or the department's server by URL.

`postgresql://user@host:port/dbname` or a pg_service.conf service (`postgresql:///?service=NAME`,
the way QGIS users already store their connections). A password is never taken from the command
line, where `ps` and shell histories show it: it comes from ~/.pgpass, PGPASSWORD or the service
file, which libpq reads itself. A URL that carries one is refused before anything connects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..errors import InvalidInputError

SCHEMES = ("postgresql://", "postgres://")


def is_server_url(target: object) -> bool:
    return isinstance(target, str) and target.strip().lower().startswith(SCHEMES)


@dataclass(frozen=True)
class ServerUrl:
    """A parsed server URL: libpq's own parameters (host, port, dbname, user, service, sslmode…)."""
    params: tuple[tuple[str, str], ...]

    @property
    def conninfo(self) -> dict[str, str]:
        return dict(self.params)

    def sqlalchemy_url(self) -> str:
        """The SQLAlchemy URL for psycopg 3: every parameter as a query argument, which psycopg
        hands to libpq unchanged (so `service=` and `sslmode=` work as in psql)."""
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in self.params)
        return "postgresql+psycopg:///" + (f"?{query}" if query else "")

    @property
    def display(self) -> str:
        """What messages and logs show: the URL without any secret (there is none to hide: a
        password is refused), in the form the user wrote."""
        info = self.conninfo
        if "service" in info and "host" not in info:
            return f"postgresql:///?service={info['service']}"
        who = f"{info['user']}@" if "user" in info else ""
        port = f":{info['port']}" if "port" in info else ""
        return f"postgresql://{who}{info.get('host', '')}{port}/{info.get('dbname', '')}"

    @property
    def uri(self) -> str:
        """The whole address as one URL libpq reads back (every parameter kept, sslmode too), with
        no secret in it: what the app remembers and hands to its dialogs' own connections."""
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in self.params)
        return "postgresql:///" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self.display


def _password_refused() -> InvalidInputError:
    return InvalidInputError(
        "địa chỉ máy chủ có mật khẩu: không ghi mật khẩu trên dòng lệnh; hãy đặt nó trong ~/.pgpass, "
        "biến PGPASSWORD hoặc pg_service.conf",
        "the server address carries a password: never put it on the command line; keep it in ~/.pgpass, "
        "PGPASSWORD or pg_service.conf")


def parse_server_url(target: str) -> ServerUrl:
    from psycopg.conninfo import conninfo_to_dict  # libpq's own parser: what psql would understand

    from urllib.parse import urlsplit

    text = target.strip()
    if not is_server_url(text):
        raise InvalidInputError("địa chỉ máy chủ phải bắt đầu bằng postgresql://",
                                "a server address starts with postgresql://")
    userinfo = urlsplit(text).netloc.rpartition("@")[0]
    if ":" in userinfo:  # even an empty one: "user:@host" is a password typed on the command line
        raise _password_refused()
    try:
        params = conninfo_to_dict(text)
    except Exception as exc:
        exc = str(exc).strip()
        # Not echoed: what cannot be parsed may still hold a password.
        raise InvalidInputError(f"địa chỉ máy chủ không đọc được ({exc})",
                                f"the server address cannot be read ({exc})") from None
    if "password" in params:
        raise _password_refused()
    if not str(params.get("port", "0")).isdigit():
        raise InvalidInputError("cổng máy chủ phải là một số", "the server port must be a number")
    if not any(k in params for k in ("dbname", "service")):
        raise InvalidInputError(f"địa chỉ máy chủ thiếu tên cơ sở dữ liệu: {text!r} (vd. postgresql://may-chu/hatang)",
                                f"the server address names no database: {text!r} (e.g. postgresql://server/hatang)")
    return ServerUrl(tuple((str(k), str(v)) for k, v in params.items() if v is not None and v != ""))


def open_database(target: str | Path, *, readonly: bool = False, upgrade: bool | None = None):
    """The database a command names: a file (storage.database.Database) or a server
    (server.database.ServerDatabase); both offer session(), operation() and the facts."""
    if is_server_url(target):
        from ..server.database import ServerDatabase

        return ServerDatabase.open(parse_server_url(str(target)), readonly=readonly)
    from .database import Database

    return Database.open(target, readonly=readonly, upgrade=upgrade)


def open_for_exchange(target: str | Path, *, write: bool = False):
    """storage.database.open_for_exchange for a file; the server as it is (its schema is
    upgraded by `hatang server init --upgrade`, never by a reader)."""
    if is_server_url(target):
        return open_database(target, readonly=not write)
    from .database import open_for_exchange as open_file

    return open_file(target, write=write)
