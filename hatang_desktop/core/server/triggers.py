"""PL/pgSQL triggers: the change log, the version, the tombstones and the PostGIS shapes.

They do on the server what storage/triggers.py does in a SQLite file, so a write from QGIS, psql or
any other client is logged, versioned and indexed exactly like one from the app:
- every changed column of a surveyed table is one change_log row, with the record's version after
  the change, the operation it belongs to and the transaction id (change_log.xid, the sync cursor);
- a write outside an app operation (no `hatang.operation_id` set in the transaction) gets an
  operations row of its own, named after the database user and the client program;
- an UPDATE that leaves the version as it was bumps it (the app and the merge set it themselves);
- a DELETE is refused: surveyed records are tombstoned (deleted = 1);
- the functions that write change_log and operations run as their owner (SECURITY DEFINER, with a
  fixed search_path), so a role that may edit its commune's rows but may not write the log itself
  is logged all the same (server/security.py); inside them current_user is the owner, so the
  writer is `session_user` (the login) or the row's `updated_by` (set by the invoker's trigger);
- `shape` (PostGIS) follows lat/lon or the WKB column, and an edit of `shape` itself (QGIS moving a
  point or reshaping a route) is written back to them, with the bounding box and length or area.
"""

from __future__ import annotations

from ..storage.triggers import LOGGED_TABLES, UNLOGGED
from .ddl import SHAPES

OUTSIDE_APP = "ghi ngoài ứng dụng / written outside the app"

_UNLOGGED_ARRAY = "ARRAY[" + ", ".join(f"'{c}'" for c in sorted(UNLOGGED | {"shape"})) + "]::text[]"

FUNCTIONS = [
    # The operation a write belongs to: the app's (set by ServerDatabase.operation), or one made here.
    f"""CREATE OR REPLACE FUNCTION hatang_operation_id() RETURNS bigint LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        current text := current_setting('hatang.operation_id', true);
        made bigint;
    BEGIN
        IF current IS NOT NULL AND current <> '' THEN
            RETURN current::bigint;
        END IF;
        INSERT INTO operations(started_at, "user", source, description)
        VALUES (to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), session_user,
                'sql:' || coalesce(nullif(current_setting('application_name', true), ''), 'client'),
                '{OUTSIDE_APP}')
        RETURNING id INTO made;
        PERFORM set_config('hatang.operation_id', made::text, true);
        RETURN made;
    END $$""",
    # Identity and bookkeeping a client outside the app may leave out, and the version bump.
    """CREATE OR REPLACE FUNCTION hatang_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.uuid IS NULL THEN NEW.uuid := gen_random_uuid()::text; END IF;
        IF TG_OP = 'INSERT' THEN
            NEW.updated_at := coalesce(NEW.updated_at,
                                       to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'));
            NEW.updated_by := coalesce(NEW.updated_by, current_user);
            NEW.source := coalesce(NEW.source, 'sql');
            NEW.version := coalesce(NEW.version, 1);
            NEW.deleted := coalesce(NEW.deleted, 0);
        ELSIF NEW.version IS NOT DISTINCT FROM OLD.version THEN
            -- A writer that did not bump the version (psql, QGIS): bump it, and say who it was.
            NEW.version := OLD.version + 1;
            IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
                NEW.updated_at := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US');
                NEW.updated_by := current_user;
                NEW.source := 'sql:' || coalesce(nullif(current_setting('application_name', true), ''), 'client');
            END IF;
        END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION hatang_log_change() RETURNS trigger LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
        op bigint := hatang_operation_id();
        o jsonb;
        n jsonb;
        k text;
        v jsonb;
        act text;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO change_log(operation_id, table_name, record_uuid, action, field, old_value, new_value,
                                   "user", time, source, version)
            VALUES (op, TG_TABLE_NAME, NEW.uuid, 'insert', NULL, NULL, NULL, NEW.updated_by, NEW.updated_at,
                    NEW.source, NEW.version);
            RETURN NULL;
        END IF;
        o := to_jsonb(OLD) - {_UNLOGGED_ARRAY};
        n := to_jsonb(NEW) - {_UNLOGGED_ARRAY};
        FOR k, v IN SELECT key, value FROM jsonb_each(n) LOOP
            IF v IS DISTINCT FROM (o -> k) THEN
                act := CASE WHEN k <> 'deleted' THEN 'update' WHEN v = '1'::jsonb THEN 'delete' ELSE 'restore' END;
                INSERT INTO change_log(operation_id, table_name, record_uuid, action, field, old_value, new_value,
                                       "user", time, source, version)
                VALUES (op, TG_TABLE_NAME, NEW.uuid, act, k, nullif(o -> k, 'null'::jsonb),
                        nullif(v, 'null'::jsonb), NEW.updated_by, NEW.updated_at, NEW.source, NEW.version);
            END IF;
        END LOOP;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION hatang_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%: records are tombstoned (deleted = 1), never deleted', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END $$""",
    """CREATE OR REPLACE FUNCTION hatang_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'change_log is append-only' USING ERRCODE = 'restrict_violation';
    END $$""",
    # Points: lat/lon are the app's, `shape` is QGIS's; whichever changed alone wins.
    """CREATE OR REPLACE FUNCTION hatang_point_shape() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.shape IS NOT NULL AND (
            (TG_OP = 'INSERT' AND NEW.lat IS NULL) OR
            (TG_OP = 'UPDATE' AND NEW.shape IS DISTINCT FROM OLD.shape
             AND NEW.lat IS NOT DISTINCT FROM OLD.lat AND NEW.lon IS NOT DISTINCT FROM OLD.lon)) THEN
            NEW.lon := ST_X(NEW.shape);
            NEW.lat := ST_Y(NEW.shape);
        ELSIF NEW.lat IS NULL OR NEW.lon IS NULL THEN
            NEW.shape := NULL;
        ELSE
            NEW.shape := ST_SetSRID(ST_MakePoint(NEW.lon, NEW.lat), 4326);
        END IF;
        RETURN NEW;
    END $$""",
]


def _wkb_shape_function(table: str, column: str, typ: str) -> str:
    """Lines and polygons: the WKB column (and its bounding box) is the app's, `shape` QGIS's."""
    measure = {"fibre_routes": "NEW.length_m := ST_Length(NEW.shape::geography);",
               "zones": "NEW.area_m2 := ST_Area(NEW.shape::geography);"}.get(table, "")
    cast = "ST_Multi" if typ.startswith("Multi") else ""
    return f"""CREATE OR REPLACE FUNCTION hatang_{table}_shape() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.shape IS NOT NULL AND (
            (TG_OP = 'INSERT' AND NEW.{column} IS NULL) OR
            (TG_OP = 'UPDATE' AND NEW.shape IS DISTINCT FROM OLD.shape
             AND NEW.{column} IS NOT DISTINCT FROM OLD.{column})) THEN
            NEW.{column} := ST_AsBinary(NEW.shape);
            {measure}
        ELSIF NEW.{column} IS NULL THEN
            NEW.shape := NULL;
        ELSE
            NEW.shape := {cast}(ST_SetSRID(ST_GeomFromWKB(NEW.{column}), 4326));
        END IF;
        IF NEW.shape IS NOT NULL THEN
            NEW.min_lon := ST_XMin(NEW.shape); NEW.max_lon := ST_XMax(NEW.shape);
            NEW.min_lat := ST_YMin(NEW.shape); NEW.max_lat := ST_YMax(NEW.shape);
        END IF;
        RETURN NEW;
    END $$"""


def trigger_statements() -> list[str]:
    out = list(FUNCTIONS)
    for table, (typ, source) in SHAPES.items():
        if source == "point":
            fn = "hatang_point_shape"
        else:
            out.append(_wkb_shape_function(table, source, typ))
            fn = f"hatang_{table}_shape"
        # Named to run after hatang_before_write (triggers of one kind fire in name order).
        out.append(f"CREATE TRIGGER b2_{table}_shape BEFORE INSERT OR UPDATE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {fn}()")
    for table in (*LOGGED_TABLES, "indicator_figures"):
        out += [
            f"CREATE TRIGGER b1_{table}_identity BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION hatang_before_write()",
            f"CREATE TRIGGER log_{table} AFTER INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION hatang_log_change()",
            f"CREATE TRIGGER no_delete_{table} BEFORE DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION hatang_no_delete()",
        ]
    out.append("CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log "
               "FOR EACH ROW EXECUTE FUNCTION hatang_append_only()")
    return out
