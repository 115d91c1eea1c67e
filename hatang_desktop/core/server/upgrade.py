"""`hatang server upgrade URL`: the migrations of the one list (storage/migrations.py) that a
server made with an older version of the software has not had yet.

A server is never upgraded by whoever opens it (an analyst's app, a commune's sync): the
department's administrator runs this once, after a backup, and everyone's next connection sees
the new schema. All pending steps run in one transaction under an advisory lock, so a failed or
concurrent upgrade leaves the schema as it was. The change-log trigger reads the row as JSON
(server/triggers.py), so a column a migration adds is logged with no trigger to rewrite; the
functions are re-created anyway so a fix to them reaches older servers.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from ..storage import migrations
from ..storage.targets import ServerUrl
from .database import APPLICATION_NAME, ServerError, connection_fault
from .triggers import FUNCTIONS

UPGRADE_LOCK = 0x48545344  # "HTSD": one upgrade at a time per database


def upgrade_server(url: ServerUrl) -> list[int]:
    """Apply the pending server steps; returns the versions applied (empty when up to date)."""
    engine = create_engine(url.sqlalchemy_url(), connect_args={"application_name": APPLICATION_NAME})
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK})
            found = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
            if found is None:
                raise ServerError(url.display, "chưa phải cơ sở dữ liệu Hạ tầng; hãy chạy `hatang server init`",
                                  "not a Hạ tầng database yet; run `hatang server init`")
            found = int(found)
            latest = migrations.current_version()
            if found > latest:
                raise ServerError(url.display, f"lược đồ máy chủ ({found}) mới hơn phần mềm ({latest})",
                                  f"the server's schema ({found}) is newer than this software's ({latest})")
            pending = [m for m in migrations.MIGRATIONS if m.version > found]
            raw = conn.connection.driver_connection
            for m in pending:
                if m.server is None:
                    raise ServerError(url.display, f"bước nâng cấp {m.version} không có phần cho máy chủ",
                                      f"migration {m.version} has no server step")
                m.server(raw)
            if pending:
                for statement in FUNCTIONS:
                    raw.execute(statement)
                conn.execute(text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": str(latest)})
            return [m.version for m in pending]
    except ServerError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("psycopg", "sqlalchemy")):
            raise connection_fault(url, exc) or ServerError(url.display, f"nâng cấp lược đồ thất bại, không đổi gì ({exc})",
                                                  f"the schema upgrade failed, nothing changed ({exc})") from None
        raise
    finally:
        engine.dispose()
