"""Online sync of commune files with a real PostgreSQL + PostGIS server: push, pull, conflicts on
the side that sees them, nothing lost, nothing twice, and a cut connection that leaves both sides
consistent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid as uuidlib

import psycopg
import pytest
from sqlalchemy import text

from hatang_desktop.core.exchange.conflicts import list_conflicts
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.server import sync as sync_module
from hatang_desktop.core.server.database import ServerDatabase, ServerError, init_server_database
from hatang_desktop.core.server.sync import META_CURSOR, META_PUSHED, META_SERVER, sync
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.storage.targets import parse_server_url

HOME, OTHER = "18073", "18100"   # two communes of Hà Tĩnh (42)


@pytest.fixture
def server_url(pg_server):
    url = pg_server.new_database()
    init_server_database(parse_server_url(url), "42", user="Cán bộ Sở").close()
    return url


@pytest.fixture
def server(server_url):
    db = ServerDatabase.open(parse_server_url(server_url))
    db.user = "Cán bộ Sở"
    yield db
    db.close()


@pytest.fixture
def commune_file(tmp_path):
    opened = []

    def make(name: str = "xa.htdb", commune: str = HOME) -> Database:
        db = init_province_database(tmp_path / name, "42", commune=commune, user="Cán bộ xã")
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.close()


def add_site(db, code: str, commune: str = HOME, *, operation_source: str | None = None, **fields) -> str:
    cols = {"uuid": str(uuidlib.uuid4()), "version": 1, "updated_at": "2026-01-01 00:00:00", "updated_by": "t",
            "source": "t", "operator_code": "VTL", "site_code": code, "commune_code": commune, "lat": 18.34,
            "lon": 105.9} | fields
    uuid = cols["uuid"]
    with db.operation(f"thêm {code}", source=operation_source) as s:
        s.execute(text(f"INSERT INTO sites({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"), cols)
    return uuid


def edit(db, uuid: str, **fields) -> None:
    """An edit as the app makes it: the changed fields and the version bumped."""
    sets = ", ".join(f"{k} = :{k}" for k in fields)
    with db.operation("sửa") as s:
        s.execute(text(f"UPDATE sites SET {sets}, version = version + 1 WHERE uuid = :u"), fields | {"u": uuid})


def site(db, uuid: str) -> dict | None:
    with db.session() as s:
        row = s.execute(text("SELECT name, note, height_m, lat, lon, deleted, version FROM sites WHERE uuid = :u"),
                        {"u": uuid}).mappings().first()
    return dict(row) if row else None


def snapshot(db) -> list[tuple]:
    with db.session() as s:
        records = s.execute(text("SELECT uuid, version, deleted, name, note, height_m FROM sites ORDER BY uuid")).all()
        conflicts = s.execute(text("SELECT count(*) FROM conflicts")).scalar_one()
    return [tuple(r) for r in records] + [("conflicts", conflicts)]


def test_first_sync_pulls_its_commune_and_only_it(server, commune_file):
    mine = add_site(server, "VT-001", name="Trạm chợ")
    add_site(server, "VT-002", commune=OTHER)
    f = commune_file()
    result = sync(f, server, url="postgresql://127.0.0.1/x")
    assert result.first and result.pulled["inserted"] == 1 and not result.conflicts_wait
    assert site(f, mine)["name"] == "Trạm chợ"
    with f.session() as s:
        assert s.execute(text("SELECT count(*) FROM sites")).scalar_one() == 1
    assert f.meta(META_SERVER) == server.database_id() and f.meta(META_CURSOR)
    # Same state, same version on both sides: the next edit has a common base.
    assert site(f, mine)["version"] == site(server, mine)["version"]
    # The pulled change is the sync's operation: the app redraws from it.
    assert result.changes.inserted["sites"] == {mine}


def test_three_commune_files_see_each_others_edits(server, commune_file):
    uuids = [add_site(server, f"VT-00{i}") for i in range(3)]
    files = [commune_file(f"may{i}.htdb") for i in range(3)]
    for f in files:
        sync(f, server)
    for i, f in enumerate(files):
        edit(f, uuids[i], name=f"sửa bởi máy {i}")
    new = add_site(files[0], "VT-NEW", name="trạm mới")
    for f in files:
        sync(f, server)
    for f in files:   # the second round brings the edits of the files that synced after
        sync(f, server)
    for f in files:
        assert [site(f, u)["name"] for u in uuids] == ["sửa bởi máy 0", "sửa bởi máy 1", "sửa bởi máy 2"]
        assert site(f, new)["name"] == "trạm mới"
        assert not list_conflicts(f)
    assert [site(server, u)["name"] for u in uuids] == ["sửa bởi máy 0", "sửa bởi máy 1", "sửa bởi máy 2"]
    with server.session() as s:
        assert s.execute(text("SELECT count(*) FROM conflicts")).scalar_one() == 0


def test_an_overlapping_edit_is_a_conflict_on_each_side_that_sees_it(server, commune_file):
    u = add_site(server, "VT-001", name="gốc", height_m=30)
    f = commune_file()
    sync(f, server)
    edit(f, u, name="tên của xã", note="ghi chú của xã")
    edit(server, u, name="tên của Sở", height_m=45)
    result = sync(f, server)
    assert result.conflicts_wait and result.server_conflicts == 1 and result.file_conflicts == 1
    # Nothing lost: each side keeps its own value of the field both changed, and the other's is
    # in its conflict; the fields only one side changed travelled.
    assert (site(server, u)["name"], site(server, u)["note"], site(server, u)["height_m"]) == \
        ("tên của Sở", "ghi chú của xã", 45)
    assert (site(f, u)["name"], site(f, u)["note"], site(f, u)["height_m"]) == ("tên của xã", "ghi chú của xã", 45)
    [on_server] = list_conflicts(server)
    assert (on_server.field, on_server.base, on_server.local, on_server.theirs) == ("name", "gốc", "tên của Sở",
                                                                                   "tên của xã")
    with server.session() as s:
        origin, origin_id = s.execute(text("SELECT workbook, workbook_database_id FROM conflicts")).one()
    assert HOME in origin and origin_id == f.database_id()
    [in_file] = list_conflicts(f)
    assert (in_file.field, in_file.local, in_file.theirs) == ("name", "tên của xã", "tên của Sở")
    # Syncing again stores neither conflict twice.
    again = sync(f, server)
    assert (again.server_conflicts, again.file_conflicts) == (1, 1)
    assert len(list_conflicts(server)) == 1 and len(list_conflicts(f)) == 1


def test_a_repeated_sync_changes_nothing(server, commune_file):
    u = add_site(server, "VT-001", name="a")
    f = commune_file()
    sync(f, server)
    edit(f, u, name="b")
    add_site(f, "VT-002")
    sync(f, server)
    before = (snapshot(f), snapshot(server))
    with server.session() as s:
        pushed = s.execute(text("SELECT count(*) FROM sync_pushed")).scalar_one()
        ops = s.execute(text("SELECT count(*) FROM operations")).scalar_one()
    again = sync(f, server)
    assert again.pushed_operations == 0 and again.pulled["inserted"] == again.pulled["updated"] == 0
    assert (snapshot(f), snapshot(server)) == before
    with server.session() as s:
        assert s.execute(text("SELECT count(*) FROM sync_pushed")).scalar_one() == pushed
        assert s.execute(text("SELECT count(*) FROM operations")).scalar_one() == ops


def test_a_push_whose_acknowledgement_was_lost_is_completed_without_duplicates(server, commune_file, monkeypatch):
    f = commune_file()
    sync(f, server)
    acked = f.meta(META_PUSHED)
    new = add_site(f, "VT-777", name="mới ở xã")
    u = add_site(server, "VT-001", name="a")

    def cut(*_args, **_kw):
        raise ServerError("máy chủ", "mất kết nối", "connection lost")

    monkeypatch.setattr(sync_module, "_incoming", cut)   # after the server's commit, before the file hears it
    with pytest.raises(ServerError):
        sync(f, server)
    monkeypatch.undo()
    assert f.meta(META_PUSHED) == acked and site(f, u) is None    # the file heard nothing
    assert site(server, new)["name"] == "mới ở xã"                 # the server committed the push
    with server.session() as s:
        recorded = s.execute(text("SELECT count(*) FROM sync_pushed")).scalar_one()
    result = sync(f, server)
    assert result.already_pushed >= 1 and result.pushed_operations == 0
    assert result.pushed["inserted"] == 0
    with server.session() as s:
        assert s.execute(text("SELECT count(*) FROM sync_pushed")).scalar_one() == recorded
        assert s.execute(text("SELECT count(*) FROM sites WHERE site_code = 'VT-777'")).scalar_one() == 1
    assert int(f.meta(META_PUSHED)) > int(acked or 0)
    assert site(f, u)["name"] == "a"


def test_a_transaction_that_commits_late_is_not_skipped(server, server_url, commune_file):
    u = add_site(server, "VT-001", name="trước")
    f = commune_file()
    sync(f, server)
    with psycopg.connect(server_url) as slow:
        slow.execute("UPDATE sites SET name = 'muộn' WHERE uuid = %s", (u,))   # not committed yet
        add_site(server, "VT-002", name="sau")      # a later transaction commits first
        first = sync(f, server)
        assert first.pulled["inserted"] == 1 and site(f, u)["name"] == "trước"
        slow.commit()
    sync(f, server)
    assert site(f, u)["name"] == "muộn"


def test_a_tombstone_travels_both_ways(server, commune_file):
    mine, theirs = add_site(server, "VT-001"), add_site(server, "VT-002")
    f = commune_file()
    sync(f, server)
    with f.operation("xóa") as s:
        s.execute(text("UPDATE sites SET deleted = 1, version = version + 1 WHERE uuid = :u"), {"u": mine})
    with server.operation("xóa") as s:
        s.execute(text("UPDATE sites SET deleted = 1 WHERE uuid = :u"), {"u": theirs})
    result = sync(f, server)
    assert result.pushed["deleted"] == 1 and result.pulled["deleted"] == 1
    assert site(server, mine)["deleted"] == 1 and site(f, theirs)["deleted"] == 1
    assert result.changes.deleted["sites"] == {theirs}


def test_a_connection_cut_mid_pull_leaves_the_file_and_its_cursor_as_they_were(server, server_url, commune_file,
                                                                                  monkeypatch):
    u = add_site(server, "VT-001", name="a")
    f = commune_file()
    sync(f, server)
    edit(server, u, name="b")
    before, cursor = snapshot(f), f.meta(META_CURSOR)
    real = sync_module.read_states

    def read_then_cut(session, *args, **kw):
        if session.get_bind().dialect.name == "postgresql":
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with psycopg.connect(server_url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return real(session, *args, **kw)

    monkeypatch.setattr(sync_module, "read_states", read_then_cut)
    with pytest.raises(ServerError) as lost:
        sync(f, server)
    assert "mất kết nối" in str(lost.value) and "connection was lost" in str(lost.value)
    monkeypatch.undo()
    assert snapshot(f) == before and f.meta(META_CURSOR) == cursor
    sync(f, server)    # the next sync completes it
    assert site(f, u)["name"] == "b"


def test_an_analyst_writing_between_plan_and_write_is_merged_not_overwritten(server, server_url, commune_file,
                                                                            monkeypatch):
    u = add_site(server, "VT-001", name="a", height_m=30)
    f = commune_file()
    sync(f, server)
    edit(f, u, name="tên của xã")
    real = sync_module.plan_import
    calls = []

    def plan_then_analyst_writes(here, rows, *args, **kw):
        out = real(here, rows, *args, **kw)
        if here.path is None and not calls:   # the server's plan, read in the push's transaction
            calls.append(1)
            with psycopg.connect(server_url, autocommit=True) as analyst:
                analyst.execute("UPDATE sites SET height_m = 50, name = 'tên của Sở' WHERE uuid = %s", (u,))
        return out

    monkeypatch.setattr(sync_module, "plan_import", plan_then_analyst_writes)
    result = sync(f, server)
    assert calls and result.server_conflicts == 1
    # The push planned against the record before the analyst's write; its update found another
    # version and was planned again: the analyst's name stays, the file's is the conflict.
    got = site(server, u)
    assert (got["name"], got["height_m"]) == ("tên của Sở", 50)
    [c] = list_conflicts(server)
    assert (c.field, c.local, c.theirs) == ("name", "tên của Sở", "tên của xã")
    assert (site(f, u)["name"], site(f, u)["height_m"]) == ("tên của xã", 50)


def test_a_file_is_refused_by_another_server_and_a_province_file_is_not_a_communes(pg_server, server, commune_file,
                                                                                  tmp_path):
    f = commune_file()
    sync(f, server)
    other_url = pg_server.new_database()
    with init_server_database(parse_server_url(other_url), "42") as other:
        with pytest.raises(Exception, match="máy chủ khác"):
            sync(f, other)
    province = init_province_database(tmp_path / "tinh.htdb", "42")
    try:
        with pytest.raises(Exception, match="không phải tệp của một xã"):
            sync(province, server)
    finally:
        province.close()


def _hatang(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "hatang_desktop.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_hatang_sync_prints_counts_and_exits_3_while_conflicts_wait(server, server_url, commune_file, tmp_path):
    u = add_site(server, "VT-001", name="gốc")
    f = commune_file()
    path = str(f.path)
    f.close()
    done = _hatang("sync", path, server_url, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pulled"]["inserted"] == 1
    with Database.open(path) as f2:
        edit(f2, u, name="xã")
    edit(server, u, name="Sở")
    clash = _hatang("sync", path, server_url)
    assert clash.returncode == 3, clash.stderr
    assert "Xung đột chờ xử lý / conflicts waiting" in clash.stdout
    with_password = _hatang("sync", path, server_url.replace("@127.0.0.1", ":secret@127.0.0.1"))
    assert with_password.returncode == 2 and "mật khẩu" in with_password.stderr
    assert "secret" not in with_password.stderr
    province = init_province_database(tmp_path / "tinh.htdb", "42")
    province.close()
    assert _hatang("sync", str(tmp_path / "tinh.htdb"), server_url).returncode == 2
    closed = _hatang("sync", path, "postgresql://127.0.0.1:1/hatang")
    assert closed.returncode == 2 and len(closed.stderr.strip().splitlines()) == 1, closed.stderr


def test_a_route_reshaped_in_qgis_merges_with_a_commune_edit_and_its_geometry_round_trips(server, server_url,
                                                                                           commune_file):
    with psycopg.connect(server_url) as qgis:
        route = qgis.execute(
            "INSERT INTO fibre_routes(code, operator_code, method, commune_code, shape, min_lon, min_lat, max_lon, "
            "max_lat, length_m) VALUES ('T1', 'VTL', 'aerial', %s, "
            "ST_GeomFromText('LINESTRING(105.9 18.3, 105.91 18.3)', 4326), 0, 0, 0, 0, 0) RETURNING uuid",
            (HOME,)).fetchone()[0]
        qgis.commit()
    f = commune_file()
    sync(f, server)
    with psycopg.connect(server_url) as qgis:   # a vertex moved in QGIS: the old WKB is logged as jsonb hex
        qgis.execute("UPDATE fibre_routes SET shape = ST_GeomFromText('LINESTRING(105.9 18.3, 105.92 18.31)', 4326) "
                     "WHERE uuid = %s", (route,))
        qgis.commit()
    with f.operation("ghi chú") as s:
        s.execute(text("UPDATE fibre_routes SET note = 'treo trên cột điện', version = version + 1 WHERE uuid = :u"),
                  {"u": route})
    result = sync(f, server)
    assert not result.conflicts_wait, (list_conflicts(server), list_conflicts(f))

    def state(db):
        with db.session() as s:
            return s.execute(text("SELECT geom, note, version, length_m FROM fibre_routes WHERE uuid = :u"),
                             {"u": route}).one()

    on_server, in_file = state(server), state(f)
    assert bytes(in_file[0]) == bytes(on_server[0]) and in_file[1:3] == on_server[1:3]
    assert on_server[1] == "treo trên cột điện"
    assert in_file[3] == pytest.approx(on_server[3], rel=1e-6)


def test_a_conflict_settled_alike_on_both_sides_leaves_a_base_for_the_next_edit(server, commune_file):
    from hatang_desktop.core.exchange.conflicts import resolve_conflicts

    u = add_site(server, "VT-001", name="gốc")
    f = commune_file()
    sync(f, server)
    edit(f, u, name="tên của xã")
    edit(server, u, name="tên của Sở")
    sync(f, server)
    assert resolve_conflicts(f, "theirs") == 1 and resolve_conflicts(server, "local") == 1
    settled = sync(f, server)
    assert not settled.conflicts_wait and site(f, u)["name"] == site(server, u)["name"] == "tên của Sở"
    assert site(f, u)["version"] == site(server, u)["version"]   # one state, one version again
    edit(f, u, note="đã kiểm tra")
    after = sync(f, server)
    assert not after.conflicts_wait, list_conflicts(server)
    assert site(server, u)["note"] == "đã kiểm tra" and site(server, u)["name"] == "tên của Sở"


def test_pushes_of_one_commune_queue_while_another_commune_goes_on(server, server_url, commune_file):
    import threading

    from hatang_desktop.core.server.sync import LOCK_CLASS

    home, other = commune_file("xa.htdb"), commune_file("xa_khac.htdb", commune=OTHER)
    add_site(home, "VT-HOME")
    add_site(other, "VT-OTHER", commune=OTHER)
    home_path = home.path
    home.close()
    finished: dict[str, object] = {}

    def sync_home():
        with Database.open(home_path) as f, ServerDatabase.open(parse_server_url(server_url)) as srv:
            finished["home"] = sync(f, srv)

    with psycopg.connect(server_url) as holder:   # another push of HOME holds its commune's lock
        holder.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, HOME))
        waiting = threading.Thread(target=sync_home)
        waiting.start()
        waiting.join(3)
        assert waiting.is_alive() and "home" not in finished       # queued behind the lock
        assert sync(other, server).pushed["inserted"] == 1           # another commune is not held
        holder.rollback()
    waiting.join(60)
    assert finished["home"].pushed["inserted"] == 1


def test_a_file_that_exchanged_workbooks_before_merges_its_edits_at_its_first_sync(server, commune_file):
    u = add_site(server, "VT-001", name="a", height_m=30)
    f = commune_file()
    # The department's workbook brought the site, as the server holds it, into the file before it
    # ever synced; the commune then edited it.
    add_site(f, "VT-001", uuid=u, name="a", height_m=30, operation_source="workbook:so_gui_xa.xlsx")
    edit(f, u, note="cột nghiêng")
    edit(server, u, height_m=35)
    result = sync(f, server)
    assert not result.conflicts_wait, list_conflicts(server)
    for side in (server, f):
        assert (site(side, u)["note"], site(side, u)["height_m"]) == ("cột nghiêng", 35)


def test_a_record_the_server_refuses_refuses_the_push_whole_and_names_the_constraint(server, commune_file):
    from hatang_desktop.core.exchange.problems import ImportRefused

    f = commune_file()
    mine = add_site(f, "VT-001", name="cùng mã, bản ghi khác")    # the same operator and code, live twice
    add_site(server, "VT-001", name="của Sở")
    edit_before = snapshot(server)
    with pytest.raises(ImportRefused, match="ux_sites_operator_code"):
        sync(f, server)
    assert snapshot(server) == edit_before and site(server, mine) is None
    assert site(f, mine)["name"] == "cùng mã, bản ghi khác"


def test_while_a_conflict_waits_another_edit_of_the_record_still_travels(server, commune_file):
    u = add_site(server, "VT-001", name="gốc", height_m=30)
    f = commune_file()
    sync(f, server)
    edit(f, u, name="tên của xã")
    edit(server, u, name="tên của Sở")
    sync(f, server)
    edit(f, u, note="cột nghiêng")        # the name's conflict still waits on both sides
    edit(server, u, height_m=40)
    result = sync(f, server)
    assert (result.server_conflicts, result.file_conflicts) == (1, 1)
    assert len(list_conflicts(server)) == len(list_conflicts(f)) == 1
    assert (site(server, u)["note"], site(server, u)["height_m"], site(server, u)["name"]) == \
        ("cột nghiêng", 40, "tên của Sở")
    assert (site(f, u)["note"], site(f, u)["height_m"], site(f, u)["name"]) == ("cột nghiêng", 40, "tên của xã")


def test_after_a_pull_that_kept_a_conflicting_field_a_new_edit_still_travels(server, commune_file):
    u = add_site(server, "VT-001", name="gốc", height_m=30)
    f = commune_file()
    sync(f, server)
    edit(f, u, name="tên của xã")
    with server.operation("sửa") as s:   # the department changes the name and the height
        s.execute(text("UPDATE sites SET name = 'tên của Sở', height_m = 45 WHERE uuid = :u"), {"u": u})
    sync(f, server)   # the file takes the height, keeps its name, stores the name's conflict
    assert (site(f, u)["name"], site(f, u)["height_m"]) == ("tên của xã", 45)
    edit(f, u, note="cột nghiêng")
    result = sync(f, server)
    assert (result.server_conflicts, result.file_conflicts) == (1, 1)
    assert site(server, u)["note"] == "cột nghiêng" and site(server, u)["name"] == "tên của Sở"


def test_a_site_the_department_moved_to_the_next_commune_reaches_the_file_as_moved(server, commune_file):
    u = add_site(server, "VT-001", name="ở ranh giới")
    f = commune_file()
    sync(f, server)
    edit(server, u, commune_code=OTHER, lon=105.95)
    result = sync(f, server)
    assert result.pulled["updated"] == 1
    assert site(f, u)["lon"] == 105.95
    with f.session() as s:
        assert s.execute(text("SELECT commune_code FROM sites WHERE uuid = :u"), {"u": u}).scalar_one() == OTHER
    other = commune_file("xa_khac.htdb", commune=OTHER)   # and the next commune's file gets it
    sync(other, server)
    assert site(other, u)["name"] == "ở ranh giới"


def test_a_copy_of_a_synced_file_does_not_lose_its_edits_to_the_originals_operation_ids(server, commune_file,
                                                                                        tmp_path):
    from hatang_desktop.core.storage.database import backup_file

    a, b = add_site(server, "VT-A"), add_site(server, "VT-B")
    original = commune_file()
    sync(original, server)
    copy_path = backup_file(original.path, "ban-sao")   # the same file on a second laptop: the same database id
    edit(original, a, name="sửa ở máy 1")       # both take the next operation id
    sync(original, server)
    with Database.open(copy_path) as copy:
        edit(copy, b, name="sửa ở máy 2")
        result = sync(copy, server)
        assert result.pushed["updated"] == 1
        assert site(copy, a)["name"] == "sửa ở máy 1"
    assert (site(server, a)["name"], site(server, b)["name"]) == ("sửa ở máy 1", "sửa ở máy 2")
    sync(original, server)
    assert site(original, b)["name"] == "sửa ở máy 2"


def test_a_commune_login_syncs_its_own_commune_under_row_level_security(pg_server, server, server_url,
                                                                       commune_file):
    from hatang_desktop.core.server.security import grant_login

    login = f"xa_sync_{uuidlib.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {login} LOGIN")
    grant_login(parse_server_url(server_url), login, "commune", HOME)
    mine, theirs = add_site(server, "VT-001", name="của xã"), add_site(server, "VT-002", commune=OTHER)
    f = commune_file()
    as_commune = ServerDatabase.open(parse_server_url(pg_server.url(server_url.rsplit("/", 1)[1], user=login)))
    try:
        first = sync(f, as_commune)
        assert first.pulled["inserted"] == 1 and site(f, theirs) is None
        edit(f, mine, note="đo lại độ cao")
        new = add_site(f, "VT-003", name="trạm mới của xã")
        edit(server, mine, height_m=42)
        second = sync(f, as_commune)
        assert not second.conflicts_wait
    finally:
        as_commune.close()
    assert (site(server, mine)["note"], site(server, mine)["height_m"]) == ("đo lại độ cao", 42)
    assert site(server, new)["name"] == "trạm mới của xã" and site(f, mine)["height_m"] == 42
    with server.session() as s:
        assert s.execute(text("SELECT count(*) FROM sync_pushed WHERE client_database_id = :d"),
                         {"d": f.database_id()}).scalar_one() >= 2
