"""`hatang server init` on a real PostgreSQL + PostGIS: a new province, or the department's file
moved onto the server with its history; refusals that write nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest

from hatang_desktop.core.cancel import Cancelled
from hatang_desktop.core.server.load import load_file
from hatang_desktop.core.storage.targets import parse_server_url


def hatang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatang_desktop.cli", *args], capture_output=True, text=True,
                          timeout=300)


def _tables(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                            "AND tablename <> 'spatial_ref_sys'").fetchone()[0]


def test_the_department_file_moves_to_the_server_with_its_history(pg_server, sample_db_path):
    url = pg_server.new_database()
    done = hatang("server", "init", url, "--from", str(sample_db_path), "--json")
    assert done.returncode == 0, done.stderr
    on_server = json.loads(done.stdout)
    in_file = json.loads(hatang("info", str(sample_db_path), "--json").stdout)
    assert on_server["counts"] == in_file["counts"]
    assert on_server["province"] == in_file["province"] and on_server["shared_sites"] == in_file["shared_sites"]
    assert json.loads(hatang("info", url, "--json").stdout)["counts"] == in_file["counts"]

    import sqlite3

    lite = sqlite3.connect(sample_db_path)
    file_log = lite.execute("SELECT count(*), max(id) FROM change_log").fetchone()
    file_site = lite.execute("SELECT uuid, version, lat, lon FROM sites ORDER BY id LIMIT 1").fetchone()
    lite.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*), max(id) FROM change_log").fetchone() == file_log
        uuid, version, lat, lon = file_site
        assert conn.execute("SELECT version, lat, lon, ST_X(shape), ST_Y(shape) FROM sites WHERE uuid = %s",
                            (uuid,)).fetchone() == (version, lat, lon, lon, lat)
        assert conn.execute("SELECT count(*) FROM fibre_routes WHERE shape IS NULL").fetchone() == (0,)
        # The triggers are on again after the copy: a new write is logged after the copied history.
        conn.execute("UPDATE sites SET name = 'Trạm đổi tên' WHERE uuid = %s", (uuid,))
        conn.commit()
        row = conn.execute("SELECT id, field, version FROM change_log ORDER BY id DESC LIMIT 1").fetchone()
        assert row[0] > file_log[1] and row[1:] == ("name", version + 1)


def test_a_new_province_on_the_server(pg_server):
    url = pg_server.new_database()
    done = hatang("server", "init", url, "--province", "42", "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["province"]["code"] == "42" and info["counts"]["communes"] > 50
    with psycopg.connect(url) as conn:
        # Boundaries are not shipped (only the centres): a unit has a shape exactly when it has one.
        assert conn.execute("SELECT count(*) FROM admin_units WHERE (shape IS NULL) <> (boundary IS NULL)"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM admin_units WHERE level = 'commune' AND centre_lat IS NULL"
                            ).fetchone() == (0,)


def test_init_refuses_a_database_in_use_and_writes_nothing(pg_server, sample_db_path):
    url = pg_server.new_database()
    assert hatang("server", "init", url, "--from", str(sample_db_path)).returncode == 0
    with psycopg.connect(url) as conn:
        before = conn.execute("SELECT count(*), max(id) FROM change_log").fetchone()
    again = hatang("server", "init", url, "--province", "42")
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*), max(id) FROM change_log").fetchone() == before


def test_a_cancelled_move_leaves_the_database_empty(pg_server, sample_db_path):
    url = pg_server.new_database()
    asked = []

    def cancel() -> bool:
        asked.append(1)
        return len(asked) > 5   # after a few tables were copied

    with pytest.raises(Cancelled):
        load_file(parse_server_url(url), sample_db_path, cancel=cancel)
    assert _tables(url) == 0


@pytest.mark.parametrize("url, words", [
    ("postgresql://an:bi-mat@127.0.0.1:5/hatang", "mật khẩu"),
    ("postgresql://an@127.0.0.1:9/hatang", "không kết nối được máy chủ"),
])
def test_refused_addresses_are_one_line_and_exit_2(url, words):
    done = hatang("server", "init", url, "--province", "42")
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
    assert "bi-mat" not in done.stderr   # a password is never echoed back
