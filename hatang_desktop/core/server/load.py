"""Moving a department's database file onto its new server, history and all.

`hatang server init URL --from FILE`: the department has so far merged the communes' workbooks
into one SQLite file. Its records, their versions, the change log and the operations move to the
server unchanged, so a workbook exported from the file before the move still merges three-way
against the server (the base of a record is rebuilt from the same history), and the uuids every
commune holds stay the same.

Everything is copied in one transaction with COPY (the server's bulk path), between the creation
of the tables and that of their indexes and triggers (server/database.create_schema): what is
copied is already logged, in the copied change log, and logging it again as new inserts would
give every record a second, false history. Points get their PostGIS shape in the COPY itself;
lines and polygons in one UPDATE per table after it; the identity counters are moved past the
copied ids. Any failure rolls back all of it, the schema included.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine

from ..cancel import Cancel, checkpoint
from ..storage.database import Database
from ..storage.targets import ServerUrl
from .database import APPLICATION_NAME, ServerDatabase, ServerError, connection_fault, create_schema
from .ddl import SHAPES

Progress = Callable[[str, float], None]

# Parents before children (foreign keys are checked row by row even with the triggers off).
ORDER = ("operations", "admin_units", "sites", "site_tenants", "poles", "pole_attachments", "fibre_routes",
         "fibre_route_poles", "zones", "findings", "photos", "conflicts", "indicator_figures", "change_log")
META_KEPT = ("scope", "province_code", "province_name", "commune_code", "commune_name", "sample_note")


def _blob_json(value):
    """A change-log value as the server's trigger writes it (to_jsonb): bytea as "\\x<hex>"."""
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    return value


def _columns(lite: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]


def _point(lat, lon) -> str | None:
    """A position as PostGIS reads it in COPY (EWKT): the shape the trigger would compute."""
    return None if lat is None or lon is None else f"SRID=4326;POINT({lon!r} {lat!r})"


def _copy(conn, lite: sqlite3.Connection, report: Progress, cancel: Cancel | None) -> None:
    """Runs inside create_schema's transaction, after the tables and before their indexes and
    triggers (see create_schema): nothing copied is logged again or indexed row by row."""
    cur = conn.connection.driver_connection.cursor()
    for i, table in enumerate(("operators",) + ORDER):
        checkpoint(cancel)
        report(f"chép / copying {table}", 0.05 + 0.8 * i / (len(ORDER) + 1))
        cols = _columns(lite, table)
        quoted = ", ".join(f'"{c}"' for c in cols)
        logged = [k for k, c in enumerate(cols) if c in ("old_value", "new_value")] if table == "change_log" else []
        points = SHAPES.get(table, (None, None))[1] == "point"
        lat, lon = (cols.index("lat"), cols.index("lon")) if points else (0, 0)
        with cur.copy(f"COPY {table} ({quoted}{', shape' if points else ''}) FROM STDIN") as copy:
            for row in lite.execute(f"SELECT {quoted} FROM {table} ORDER BY rowid"):
                if logged:
                    row = list(row)
                    for k in logged:
                        if row[k] is not None:
                            row[k] = json.dumps(_blob_json(row[k]), ensure_ascii=False)
                elif points:
                    row = (*row, _point(row[lat], row[lon]))
                copy.write_row(row)
    report("hình học PostGIS / PostGIS shapes", 0.88)
    for table, (typ, source_col) in SHAPES.items():
        if source_col != "point":
            multi = "ST_Multi" if typ.startswith("Multi") else ""
            cur.execute(f"UPDATE {table} SET shape = {multi}(ST_SetSRID(ST_GeomFromWKB({source_col}), 4326)) "
                        f"WHERE {source_col} IS NOT NULL")
    for table in ORDER:
        if table != "fibre_route_poles":
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"greatest((SELECT max(id) FROM {table}), 1))")
    meta = dict(lite.execute("SELECT key, value FROM meta"))
    for key in META_KEPT:
        if key in meta:
            cur.execute("INSERT INTO meta(key, value) VALUES (%s, %s)", (key, meta[key]))
    cur.execute("INSERT INTO meta(key, value) VALUES ('loaded_from_database_id', %s)", (meta.get("database_id", ""),))
    checkpoint(cancel)
    report("chỉ mục / indexes", 0.9)


def load_file(url: ServerUrl, source: Path, *, force: bool = False, report: Progress | None = None,
              cancel: Cancel | None = None) -> ServerDatabase:
    report = report or (lambda _stage, _fraction: None)
    with Database.open(source, readonly=True, upgrade=True):
        pass  # the file's checks (ours, not too new, upgraded after a backup if older)
    lite = sqlite3.connect(Path(source).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        create_schema(url, force=force, fill=lambda conn: _copy(conn, lite, report, cancel))
        engine = create_engine(url.sqlalchemy_url(), connect_args={"application_name": APPLICATION_NAME})
        try:
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        finally:
            engine.dispose()
    except ServerError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("psycopg", "sqlalchemy")):
            fault = connection_fault(url, exc)
            raise fault or ServerError(url.display, f"máy chủ từ chối dữ liệu của tệp {Path(source).name} ({exc}); "
                                                    "không ghi gì",
                                       f"the server refused the data of {Path(source).name} ({exc}); nothing was "
                                       "written") from None
        raise
    finally:
        lite.close()
    report("xong / done", 1.0)
    return ServerDatabase.open(url)
