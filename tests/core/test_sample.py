"""The sample generator: deterministic, counts as asked, plausible, and inside Vietnam."""

from __future__ import annotations

import sqlite3

import pytest

from hatang_desktop.core.geo.parse import is_in_vietnam
from hatang_desktop.core.errors import DatabaseFileError, InvalidInputError
from hatang_desktop.core.sample import generate_sample
from hatang_desktop.core.sample import network

TABLES = ("admin_units", "sites", "site_tenants", "poles", "pole_attachments", "fibre_routes",
          "fibre_route_poles", "zones", "findings", "meta")


def _dump(path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    out = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    conn.close()
    return out


def test_same_seed_same_database(tmp_path):
    generate_sample(tmp_path / "a.db", sites=120, seed=11)
    generate_sample(tmp_path / "b.db", sites=120, seed=11)
    generate_sample(tmp_path / "c.db", sites=120, seed=12)
    a, b, c = (_dump(tmp_path / f"{n}.db") for n in "abc")
    assert a == b
    assert a["sites"] != c["sites"]


@pytest.mark.parametrize("n", [50, 400])
def test_counts_follow_parameters(tmp_path, n):
    counts = generate_sample(tmp_path / "s.db", sites=n, seed=3)
    conn = sqlite3.connect(tmp_path / "s.db")
    q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    assert q("SELECT count(*) FROM sites") == counts.sites == n
    assert q("SELECT count(*) FROM poles") == counts.poles == round(network.POLES_PER_SITE * n)
    assert q("SELECT count(*) FROM site_tenants") == counts.site_tenants
    assert q("SELECT count(*) FROM admin_units WHERE level = 'commune'") == 69
    shared = q("SELECT count(*) FROM (SELECT site_uuid FROM site_tenants GROUP BY site_uuid "
               "HAVING count(DISTINCT operator_code) >= 2)")
    assert 0.16 <= shared / n <= 0.25
    five_g = q("SELECT count(DISTINCT site_uuid) FROM site_tenants WHERE has_5g = 1")
    assert five_g == max(1, round(n * 50 / 3600))
    conn.close()


def test_bundled_volumes_match_the_ha_tinh_plan(sample_db_path):
    # The session sample has 300 sites; the plan's ratios hold: 5G ~1.4%, about half in zones.
    conn = sqlite3.connect(sample_db_path)
    in_zone_5g = conn.execute(
        "SELECT count(DISTINCT s.uuid) FROM sites s JOIN site_tenants t ON t.site_uuid = s.uuid "
        "WHERE t.has_5g = 1 AND s.in_industrial_zone = 1").fetchone()[0]
    five_g = conn.execute("SELECT count(DISTINCT site_uuid) FROM site_tenants WHERE has_5g = 1").fetchone()[0]
    assert five_g == 4 and 1 <= in_zone_5g <= 3
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert "giả lập" in meta["sample_note"] and "synthetic" in meta["sample_note"]
    assert meta["province_code"] == "42"
    conn.close()


def test_positions_are_in_vietnam_and_in_the_province(sample_db_path):
    conn = sqlite3.connect(sample_db_path)
    for table in ("sites", "poles"):
        rows = conn.execute(f"SELECT lat, lon FROM {table}").fetchall()
        assert all(is_in_vietnam(lat, lon) for lat, lon in rows)
        assert all(17.8 < lat < 18.9 and 105.0 < lon < 106.6 for lat, lon in rows)  # Hà Tĩnh
    conn.close()


def test_sample_contains_records_for_the_inspection_rules(sample_db_path):
    conn = sqlite3.connect(sample_db_path)
    q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    assert q("SELECT count(*) FROM pole_attachments WHERE lowest_height_m < 4.5") > 0
    assert q("SELECT count(*) FROM pole_attachments WHERE tagged = 0") > 0
    assert q("SELECT count(*) FROM pole_attachments WHERE condition = 'abandoned'") > 0
    assert q("SELECT count(*) FROM sites WHERE tower_type = 'rooftop_pole' AND height_m > 3 "
             "AND permit_no IS NULL") > 0
    assert q("SELECT count(*) FROM zones WHERE kind = 'undergrounding'") == 3
    assert q("SELECT count(*) FROM fibre_routes WHERE method = 'aerial'") > 0
    assert q("SELECT count(*) FROM fibre_route_poles") > 0
    conn.close()


def test_sample_refuses_to_overwrite(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"precious")
    with pytest.raises(DatabaseFileError, match="đã tồn tại"):
        generate_sample(path, sites=10)
    assert path.read_bytes() == b"precious"
    generate_sample(path, sites=10, overwrite=True)
    assert path.read_bytes()[:6] == b"SQLite"


def test_bad_parameters(tmp_path):
    with pytest.raises(InvalidInputError):
        generate_sample(tmp_path / "x.db", sites=0)
    with pytest.raises(InvalidInputError, match="không có tỉnh"):
        generate_sample(tmp_path / "x.db", province="Atlantis")
    assert not (tmp_path / "x.db").exists()
