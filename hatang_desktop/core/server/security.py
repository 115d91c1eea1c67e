"""Who may read and write what on the department's server: group roles and row-level security.

Four kinds of people use one province's database, each through a NOLOGIN group role that the
administrator makes a login role a member of (`hatang server grant`); passwords are never ours to
set (psql's `\\password`):
- `hatang_department`: reads and writes everything (its policy is a permissive ALL);
- `hatang_inspector`: reads the whole province, inserts and updates findings and photos only;
- `hatang_ministry`: reads everything, writes nothing;
- `hatang_commune_<code>`, one per commune, made on demand by `grant_commune` and recorded in
  `role_communes`: reads and writes the rows of its own commune only. Every commune role is a
  member of `hatang_commune`, which holds the table privileges and the policies, so a commune
  added later needs no new policy and a re-created schema needs no per-commune grant.

A commune's rows are found by `commune_code` (sites, poles, fibre_routes, zones, findings), through
their parent (site_tenants, pole_attachments, fibre_route_poles) or their owner (photos); a row
moved to another commune is refused by the WITH CHECK half of the same policy. The change log and
the conflicts are readable for the records a role can see; an operation is readable when it
touched such a record or was made by the same login (`db_role`, which the app's own INSERT …
RETURNING of a new operation needs: a fresh operation has touched nothing yet). The `user` column
is the person's name the app writes and a writer may set; `db_role` is the database login, set by
the server, which no writer can forge.

Writes by every role are still logged: the trigger functions that write change_log and operations
are SECURITY DEFINER (server/triggers.py), and no group role may insert into change_log itself.
Tables with policies have ENABLE and FORCE ROW LEVEL SECURITY, so a table owner who is not a
superuser is checked too (and is made a member of hatang_department to keep working).

Roles are cluster-wide: each is created only if missing, so several provinces' databases can share
one cluster; which commune a commune role may see is per database (role_communes).
"""

from __future__ import annotations

import re

from ..errors import InvalidInputError

DEPARTMENT, INSPECTOR, MINISTRY, COMMUNE = ("hatang_department", "hatang_inspector", "hatang_ministry",
                                            "hatang_commune")
GROUP_ROLES = {"department": DEPARTMENT, "inspector": INSPECTOR, "ministry": MINISTRY}
READERS = (DEPARTMENT, INSPECTOR, MINISTRY, COMMUNE)

# Tables a commune owns rows of, and how a row is known to be the commune's.
BY_COMMUNE = ("sites", "poles", "fibre_routes", "zones", "findings")
BY_PARENT = {"site_tenants": ("site_uuid", "sites"), "pole_attachments": ("pole_uuid", "poles"),
             "fibre_route_poles": ("route_uuid", "fibre_routes")}
PHOTO_OWNERS = ("sites", "poles", "fibre_routes", "findings", "zones")
INSPECTED = ("findings", "photos")
# Readable by every role, written by the department only (no row-level security: no row is secret).
SHARED = ("admin_units", "operators", "meta", "indicator_figures")
POLICED = (*BY_COMMUNE, *BY_PARENT, "photos", "change_log", "operations", "conflicts")

# One view per layer for QGIS: the live rows with the names a person reads next to the codes.
VIEWS = {
    "v_sites": """SELECT s.*, o.name AS operator_name, c.name AS commune_name
        FROM sites s LEFT JOIN operators o ON o.code = s.operator_code
        LEFT JOIN admin_units c ON c.code = s.commune_code WHERE s.deleted = 0""",
    "v_site_tenants": """SELECT t.*, o.name AS operator_name, s.site_code, s.commune_code, c.name AS commune_name
        FROM site_tenants t JOIN sites s ON s.uuid = t.site_uuid
        LEFT JOIN operators o ON o.code = t.operator_code
        LEFT JOIN admin_units c ON c.code = s.commune_code WHERE t.deleted = 0""",
    "v_poles": """SELECT p.*, o.name AS owner_operator_name, c.name AS commune_name
        FROM poles p LEFT JOIN operators o ON o.code = p.owner_operator_code
        LEFT JOIN admin_units c ON c.code = p.commune_code WHERE p.deleted = 0""",
    "v_pole_attachments": """SELECT a.*, o.name AS operator_name, p.code AS pole_code, p.commune_code,
            c.name AS commune_name
        FROM pole_attachments a JOIN poles p ON p.uuid = a.pole_uuid
        LEFT JOIN operators o ON o.code = a.operator_code
        LEFT JOIN admin_units c ON c.code = p.commune_code WHERE a.deleted = 0""",
    "v_fibre_routes": """SELECT r.*, o.name AS operator_name, c.name AS commune_name
        FROM fibre_routes r LEFT JOIN operators o ON o.code = r.operator_code
        LEFT JOIN admin_units c ON c.code = r.commune_code WHERE r.deleted = 0""",
    "v_zones": """SELECT z.*, c.name AS commune_name
        FROM zones z LEFT JOIN admin_units c ON c.code = z.commune_code WHERE z.deleted = 0""",
    "v_findings": """SELECT f.*, c.name AS commune_name
        FROM findings f LEFT JOIN admin_units c ON c.code = f.commune_code WHERE f.deleted = 0""",
    "v_communes": """SELECT u.*, p.name AS province_name
        FROM admin_units u LEFT JOIN admin_units p ON p.code = u.parent_code
        WHERE u.level = 'commune' AND u.deleted = 0""",
}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def commune_role(code: str) -> str:
    return f"hatang_commune_{code}"


# The communes of the current login, once per statement (an InitPlan): index-friendly `= ANY`.
_MINE = "((SELECT hatang_my_communes())::text[])"


def _commune_owns(table: str, uuid_expr: str) -> str:
    """SQL true when the record `uuid_expr` of `table` is the current login's commune's."""
    if table in BY_COMMUNE:
        return f"EXISTS (SELECT 1 FROM {table} x WHERE x.uuid = {uuid_expr} AND x.commune_code = ANY {_MINE})"
    if table in ("site_tenants", "pole_attachments"):
        column, parent = BY_PARENT[table]
        return (f"EXISTS (SELECT 1 FROM {table} y JOIN {parent} x ON x.uuid = y.{column} "
                f"WHERE y.uuid = {uuid_expr} AND x.commune_code = ANY {_MINE})")
    if table == "photos":
        return f"EXISTS (SELECT 1 FROM photos y WHERE y.uuid = {uuid_expr} AND {_photo_owned('y')})"
    return "false"


def _photo_owned(alias: str) -> str:
    cases = " ".join(f"WHEN {quote_literal(t)} THEN {_commune_owns(t, f'{alias}.owner_uuid')}" for t in PHOTO_OWNERS)
    return f"(CASE {alias}.owner_table {cases} ELSE false END)"


def _visible(table_expr: str, uuid_expr: str) -> str:
    """SQL true when the current login can see the record: each table's own policies decide,
    applied to the subquery as to any query of the invoker."""
    tables = (*BY_COMMUNE, "site_tenants", "pole_attachments", "photos")
    cases = " ".join(f"WHEN {quote_literal(t)} THEN EXISTS (SELECT 1 FROM {t} x WHERE x.uuid = {uuid_expr})"
                     for t in tables)
    shared = " ".join(f"WHEN {quote_literal(t)} THEN true" for t in SHARED)
    return f"(CASE {table_expr} {shared} {cases} ELSE false END)"


def _commune_rule(table: str) -> str:
    if table in BY_COMMUNE:
        return f"commune_code = ANY {_MINE}"
    if table in BY_PARENT:
        column, parent = BY_PARENT[table]
        return f"EXISTS (SELECT 1 FROM {parent} x WHERE x.uuid = {table}.{column} AND x.commune_code = ANY {_MINE})"
    if table == "photos":
        return _photo_owned("photos")
    if table == "conflicts":
        # Only tables a commune writes: its conflicts are about its own records.
        cases = " ".join(f"WHEN {quote_literal(t)} THEN {_commune_owns(t, 'conflicts.record_uuid')}"
                         for t in (*BY_COMMUNE, "site_tenants", "pole_attachments", "photos"))
        return f"(CASE conflicts.table_name {cases} ELSE false END)"
    raise ValueError(table)


def _ensure_role(name: str) -> str:
    return f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {quote_literal(name)}) THEN
            CREATE ROLE {quote_ident(name)} NOLOGIN;
        END IF;
    EXCEPTION WHEN duplicate_object THEN NULL;  -- made meanwhile by another database's init
    END $$"""


FUNCTIONS = [
    """CREATE OR REPLACE FUNCTION hatang_my_communes() RETURNS text[] LANGUAGE sql STABLE AS $$
        SELECT coalesce(array_agg(rc.commune_code), '{}'::text[])
        FROM role_communes rc JOIN pg_roles r ON r.rolname = rc.role_name
        WHERE pg_has_role(r.oid, 'USAGE')
    $$""",
    # The database login behind an operation: set by the server whatever the writer sent.
    """CREATE OR REPLACE FUNCTION hatang_operation_login() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.db_role := CASE WHEN TG_OP = 'UPDATE' THEN OLD.db_role ELSE session_user END;
        RETURN NEW;
    END $$""",
]


def _policies() -> list[str]:
    out = []
    for table in POLICED:
        out += [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY", f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
                f"CREATE POLICY department_all ON {table} TO {DEPARTMENT} USING (true) WITH CHECK (true)",
                f"CREATE POLICY province_read ON {table} FOR SELECT TO {INSPECTOR}, {MINISTRY} USING (true)"]
    for table in (*BY_COMMUNE, *BY_PARENT, "photos", "conflicts"):
        rule = _commune_rule(table)
        out.append(f"CREATE POLICY commune_own ON {table} TO {COMMUNE} USING ({rule}) WITH CHECK ({rule})")
    for table in INSPECTED:
        out += [f"CREATE POLICY inspector_insert ON {table} FOR INSERT TO {INSPECTOR} WITH CHECK (true)",
                f"CREATE POLICY inspector_update ON {table} FOR UPDATE TO {INSPECTOR} USING (true) WITH CHECK (true)"]
    inspected = ", ".join(quote_literal(t) for t in INSPECTED)
    out += [
        f"CREATE POLICY inspector_insert ON conflicts FOR INSERT TO {INSPECTOR} WITH CHECK (table_name IN ({inspected}))",
        f"CREATE POLICY inspector_update ON conflicts FOR UPDATE TO {INSPECTOR} "
        f"USING (table_name IN ({inspected})) WITH CHECK (table_name IN ({inspected}))",
        f"CREATE POLICY commune_read ON change_log FOR SELECT TO {COMMUNE} "
        f"USING ({_visible('change_log.table_name', 'change_log.record_uuid')})",
        # The rows of change_log in the subquery are filtered by change_log's own policy.
        f"CREATE POLICY commune_read ON operations FOR SELECT TO {COMMUNE} USING (db_role = session_user "
        f"OR EXISTS (SELECT 1 FROM change_log c WHERE c.operation_id = operations.id))",
        f"CREATE POLICY writer_insert ON operations FOR INSERT TO {COMMUNE}, {INSPECTOR} WITH CHECK (true)",
    ]
    return out


def _grants() -> list[str]:
    readers = ", ".join(READERS)
    writers = ", ".join((DEPARTMENT, INSPECTOR, COMMUNE))
    commune_tables = ", ".join((*BY_COMMUNE, "site_tenants", "pole_attachments", "photos", "conflicts"))
    return [
        # A schema re-created by `--force` grants nothing to PUBLIC.
        f"GRANT USAGE ON SCHEMA public TO {readers}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {readers}",
        f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {DEPARTMENT}",
        # Logged only through the triggers; who may work for which commune is the administrator's.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON change_log, role_communes, spatial_ref_sys FROM {DEPARTMENT}",
        f"GRANT INSERT, UPDATE ON findings, photos, conflicts TO {INSPECTOR}",
        f"GRANT INSERT, UPDATE ON {commune_tables} TO {COMMUNE}",
        f"GRANT INSERT, UPDATE, DELETE ON fibre_route_poles TO {COMMUNE}",   # a reshaped route's pole list
        f"GRANT INSERT ON operations, sync_pushed TO {INSPECTOR}, {COMMUNE}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {writers}",
        # It writes operations as the owner: only the (definer) triggers call it.
        "REVOKE EXECUTE ON FUNCTION hatang_operation_id() FROM PUBLIC",
    ]


def security_statements() -> list[str]:
    """Roles, policies, views and privileges; run by create_schema after the tables and triggers."""
    out = [_ensure_role(name) for name in (DEPARTMENT, INSPECTOR, MINISTRY, COMMUNE)]
    # FORCE applies to the owner too: an owner who is not a superuser keeps working as the department.
    out.append(f"""DO $$ BEGIN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           AND NOT pg_has_role(current_user, '{DEPARTMENT}', 'MEMBER') THEN
            EXECUTE format('GRANT {DEPARTMENT} TO %I', current_user);
        END IF;
    END $$""")
    out += [
        "ALTER TABLE operations ADD COLUMN db_role text NOT NULL DEFAULT session_user",
        "ALTER TABLE change_log ADD COLUMN db_role text NOT NULL DEFAULT session_user",
        *FUNCTIONS,
        "CREATE TRIGGER b0_operations_login BEFORE INSERT OR UPDATE ON operations "
        "FOR EACH ROW EXECUTE FUNCTION hatang_operation_login()",
        *_policies(),
    ]
    out += [f"CREATE VIEW {name} WITH (security_invoker = true) AS {sql}" for name, sql in VIEWS.items()]
    return out + _grants()


# -- granting a login role its group ---------------------------------------------------------------

_CODE = re.compile(r"^[0-9A-Za-z_]{1,40}$")


def _login_exists(conn, login_role: str) -> None:
    row = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (login_role,)).fetchone()
    if row is None:
        raise InvalidInputError(f"không có vai trò đăng nhập {login_role!r} trên máy chủ; hãy tạo nó bằng psql: "
                           f"CREATE ROLE ... LOGIN; rồi \\password",
                           f"there is no login role {login_role!r} on the server; create it with psql: "
                           "CREATE ROLE ... LOGIN; then \\password")
    if not row[0]:
        raise InvalidInputError(f"{login_role!r} là vai trò nhóm, không đăng nhập được",
                           f"{login_role!r} is a group role that cannot log in")


def grant_group(conn, login_role: str, role: str) -> str:
    """Make `login_role` a member of the department, inspector or ministry group role."""
    group = GROUP_ROLES[role]
    _login_exists(conn, login_role)
    conn.execute(f"GRANT {quote_ident(group)} TO {quote_ident(login_role)}")
    return group


def grant_commune(conn, login_role: str, commune_code: str) -> str:
    """Make `login_role` work for one commune: its group role `hatang_commune_<code>` is created
    if missing (a member of hatang_commune), recorded in role_communes, and granted."""
    code = commune_code.strip()
    found = conn.execute("SELECT name FROM admin_units WHERE code = %s AND level = 'commune' AND deleted = 0",
                         (code,)).fetchone() if _CODE.match(code) else None
    if found is None:
        raise InvalidInputError(f"không có xã/phường mã {code!r} trong cơ sở dữ liệu này",
                           f"no commune with code {code!r} in this database")
    _login_exists(conn, login_role)
    group = commune_role(code)
    conn.execute(_ensure_role(group))
    conn.execute(f"GRANT {COMMUNE} TO {quote_ident(group)}")
    conn.execute("INSERT INTO role_communes(role_name, commune_code) VALUES (%s, %s) "
                 "ON CONFLICT (role_name) DO UPDATE SET commune_code = EXCLUDED.commune_code", (group, code))
    conn.execute(f"GRANT {quote_ident(group)} TO {quote_ident(login_role)}")
    return group


def grant_login(url, login_role: str, role: str, commune: str | None = None) -> str:
    """`hatang server grant`: one transaction as the administrator the URL names. Returns the
    group role granted. Never creates a login or a password (psql's `\\password` does)."""
    import psycopg

    from .database import ServerError

    if (role == "commune") != bool(commune):
        raise InvalidInputError("--commune MÃ đi cùng --role commune, và chỉ với nó",
                                "--commune CODE goes with --role commune, and only with it")
    try:
        with psycopg.connect(**url.conninfo, connect_timeout=10, application_name="hatang") as conn:
            if conn.execute("SELECT to_regclass('public.role_communes')").fetchone()[0] is None:
                raise ServerError(url.display, "chưa phải cơ sở dữ liệu Hạ tầng; hãy chạy `hatang server init`",
                                  "not a Hạ tầng database yet; run `hatang server init`")
            if role == "commune":
                return grant_commune(conn, login_role, commune)
            return grant_group(conn, login_role, role)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ServerError(url.display, f"máy chủ từ chối ({first})", f"the server refused ({first})") from None
