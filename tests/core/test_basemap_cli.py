"""`hatang basemap download` as a user runs it, against a tile server on 127.0.0.1: the commune's
box from the database, the estimate, exit codes 0/2/1, Ctrl+C then the same command resumes."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from hatang_desktop.core.basemap.areas import resolve_area
from hatang_desktop.core.basemap.download import part_path
from hatang_desktop.core.basemap.tiles import BBox, estimate
from tests.tile_server import TileServer

BBOX = "105.85,18.30,105.95,18.40"


def hatang(*args, **kw):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([sys.executable, "-m", "hatang_desktop", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120, **kw)


@pytest.fixture
def server():
    with TileServer() as s:
        yield s


def test_a_commune_from_the_database_downloads_with_its_attribution(server, sample_db_path, tmp_path):
    out = tmp_path / "thanh_sen.mbtiles"
    r = hatang("basemap", "download", out, "--commune", "18073", "--db", sample_db_path, "--zoom", "12-14",
               "--source", server.url("ok"), "--attribution", "© Sở KH&CN Hà Tĩnh", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    area = resolve_area(commune="18073", db=sample_db_path)
    assert doc["area"]["label"] == "Phường Thành Sen (18073)"
    assert doc["area"]["bbox"] == [area.bbox.west, area.bbox.south, area.bbox.east, area.bbox.north]
    n = estimate(area.bbox, 12, 14, 1).tiles
    assert doc["estimate"]["tiles"] == n == doc["result"]["fetched"] == server.count("ok")
    conn = sqlite3.connect(out)
    meta = dict(conn.execute("SELECT name, value FROM metadata"))
    assert conn.execute("SELECT count(*) FROM tiles").fetchone()[0] == n
    conn.close()
    assert meta["attribution"] == "© Sở KH&CN Hà Tĩnh" and meta["name"] == "Phường Thành Sen (18073)"
    assert (meta["minzoom"], meta["maxzoom"], meta["format"]) == ("12", "14", "png")
    assert meta["bounds"] == area.bbox.as_text()


def test_estimate_only_asks_nothing_and_writes_nothing(server, tmp_path):
    r = hatang("basemap", "download", tmp_path / "e.mbtiles", "--bbox", BBOX, "--zoom", "10-14",
               "--source", server.url("ok"), "--estimate")
    assert r.returncode == 0, r.stderr
    assert "52 ô ảnh" in r.stdout and "52 tiles" in r.stdout and "MB" in r.stdout
    assert server.count("ok") == 0 and list(tmp_path.iterdir()) == []


def test_a_403_exits_2_naming_the_source_and_leaves_no_file(server, tmp_path):
    r = hatang("basemap", "download", tmp_path / "f.mbtiles", "--bbox", BBOX, "--zoom", "10-14",
               "--source", server.url("forbidden"))
    assert r.returncode == 2
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("hatang: 127.0.0.1: ") and "HTTP 403" in line and "không ghi tệp nào" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, says", [
    (["--zoom", "14-10", "--source", "http://127.0.0.1:9/{z}/{x}/{y}.png"], "--zoom 14-10"),
    (["--zoom", "10-12", "--source", "http://127.0.0.1:9/tiles.png"], "{z}, {x} và {y}"),
    (["--zoom", "10-12", "--source", "khong-co"], "không có nguồn này"),
    (["--zoom", "10-12", "--source", "osm"], "osmfoundation.org/policies/tiles"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, args, says):
    r = hatang("basemap", "download", tmp_path / "b.mbtiles", "--bbox", BBOX, *args)
    assert r.returncode == 2 and says in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_two_areas_at_once_are_refused(tmp_path):
    r = hatang("basemap", "download", tmp_path / "b.mbtiles", "--bbox", BBOX, "--commune", "18073",
               "--zoom", "10-12", "--source", "http://127.0.0.1:9/{z}/{x}/{y}.png")
    assert r.returncode == 2 and "lỗi tham số / argument error" in r.stderr


def test_ctrl_c_keeps_the_part_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "ctrlc.mbtiles"
    total = estimate(BBox.parse(BBOX), 10, 14, 1).tiles
    with TileServer(slow_s=0.1) as server:  # ~1.3 s in all: Ctrl+C lands well before the end
        args = [sys.executable, "-m", "hatang_desktop", "basemap", "download", str(out), "--bbox", BBOX,
                "--zoom", "10-14", "--source", server.url("slow")]
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 60
        while server.count("slow") < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err
        assert "chạy lại lệnh để tải tiếp" in err and str(part_path(out)) in err
        first = server.count("slow")
        assert 8 <= first < total and not out.exists()

        r = hatang("basemap", "download", out, "--bbox", BBOX, "--zoom", "10-14", "--source",
                   server.url("slow"), "--json")
        assert r.returncode == 0, r.stderr
        result = json.loads(r.stdout)["result"]
        assert result["resumed"] and result["already_present"] == first
        assert result["fetched"] == total - first == server.count("slow") - first
    conn = sqlite3.connect(out)
    assert conn.execute("SELECT count(*) FROM tiles").fetchone()[0] == total
    conn.close()
