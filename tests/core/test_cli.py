"""The `hatang` command contract: verbs, JSON, exit codes, bilingual help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hatang_desktop.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "hatang_desktop", *map(str, args)],
                          capture_output=True, text=True)


def test_init_then_info_json(tmp_path):
    db = tmp_path / "ls.db"
    assert main(["init", str(db), "--province", "Lạng Sơn"]) == 0
    result = run("info", db, "--json")
    assert result.returncode == 0
    info = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert info["schema_version"] >= 1
    assert info["province"] == {"code": "20", "name": "Tỉnh Lạng Sơn"}
    assert set(info["counts"]) >= {"sites", "site_tenants", "poles", "pole_attachments",
                                   "fibre_routes", "zones", "findings", "communes", "villages"}
    assert info["counts"]["communes"] == 65 and info["counts"]["sites"] == 0


def test_init_for_a_commune_records_its_home_commune(tmp_path):
    db = tmp_path / "thanh_sen.db"
    assert main(["init", str(db), "--province", "42", "--commune", "18073"]) == 0
    info = json.loads(run("info", db, "--json").stdout)
    assert info["scope"] == "commune"
    assert info["commune"]["code"] == "18073" and "Thành Sen" in info["commune"]["name"]
    assert info["counts"]["communes"] == 69  # the neighbours stay: routes cross commune borders


def test_sample_json_and_refusal(tmp_path):
    db = tmp_path / "s.db"
    result = run("sample", db, "--sites", 40, "--seed", 5, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["sites"] == 40
    before = db.read_bytes()
    again = run("sample", db, "--sites", 40)
    assert again.returncode == 2 and "--force" in again.stderr
    assert db.read_bytes() == before
    assert run("sample", db, "--sites", 30, "--force").returncode == 0


@pytest.mark.parametrize("args", [
    ["init", "x.db"],                          # --province missing
    ["init", "x.db", "--province", "Atlantis"],
    ["init", "x.db", "--province", "42", "--commune", "01001"],  # a Hà Nội ward, not Hà Tĩnh
    ["sample", "x.db", "--sites", "many"],
    ["sample", "x.db", "--sites", "0"],
    ["frobnicate"],
])
def test_invalid_arguments_exit_2_and_write_nothing(tmp_path, args):
    result = subprocess.run([sys.executable, "-m", "hatang_desktop", *args], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == "" and result.stderr.strip()
    assert not (tmp_path / "x.db").exists()


def test_help_is_bilingual():
    out = run("--help").stdout
    assert "cơ sở dữ liệu" in out and "database" in out
    sample_help = run("sample", "--help").stdout
    assert "số trạm BTS" in sample_help and "number of BTS sites" in sample_help
