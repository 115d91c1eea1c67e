"""Plan indicators on a hand-built province whose answers are known by hand.

The world (Hà Tĩnh, real commune centres; every other position placed with exact geodesic
offsets from them):
- commune B = 18313 Xã Vũ Quang (rural), origin O = its centre; commune A = 18073 Phường Thành
  Sen (urban ward), ~50 km east.
- operating sites: S1 at O (VTL+VNPT, 4G, shared); S2 at Q, 25 km north-west, inside the
  industrial park P (MBF+VTL, 4G+5G, shared); S3 10 m east of P's edge (VTL, 5G), inside an
  undergrounding zone that must not count; S4 300 m north of A's centre (VNPT, 5G only).
  Not counted: a planned site and a deleted site, both 1 km from V3.
  -> sharing 2/4 = 50 %; 5G sites 3; 5G in zones 1; zones with 5G: P yes, cluster C no = 50 %.
- villages in B (rural, 4G radius 4 km): V1 exactly 4000 m east of S1, V2 2 km north, V3 20 km
  south -> mobile broadband 2/3. FTTH: an access route passes 300 m from V2, a backbone route
  starts at V1 (does not count), V3 surveyed as having FTTH -> 2/3.
- commune centres under 5G: A's (S4 at 300 m < 400 m urban) only -> 1 of 69.
- poles in B: P1 VTL+VNPT, P2 VTL, P3 VTL + a deleted MBF attachment, P4 nothing -> 1/4 shared.
- fibre: access aerial VTL 3000 m, backbone duct VNPT 1000 m -> 4 km, 25 % underground.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import shapely
from openpyxl import load_workbook
from pyproj import Geod
from shapely.geometry import LineString, Polygon
from sqlalchemy import text

from hatang_desktop.cli import main
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.indicators import build_report
from hatang_desktop.core.indicators.compute import compute, unit_mask, value
from hatang_desktop.core.indicators.coverage_model import load_coverage_model
from hatang_desktop.core.indicators.data import connect_readonly, load_dataset
from hatang_desktop.core.indicators.evaluate import MET, NO_DATA, NO_TARGET, NOT_MET, default_year
from hatang_desktop.core.indicators.figures import set_figures
from hatang_desktop.core.indicators.params import Params
from hatang_desktop.core.indicators.plans import load_plan, load_plans, scope_communes
from hatang_desktop.core.model import AdminUnit, FibreRoute, Pole, PoleAttachment, Site, SiteTenant, Zone
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.reports.indicators import write as write_report
from hatang_desktop.core.storage.database import Database

GEOD = Geod(ellps="WGS84")
A, B = "18073", "18313"
A_CENTRE = (18.3419, 105.903)
O = (18.3072, 105.427)


def offset(point, azimuth, metres):
    lon, lat, _ = GEOD.fwd(point[1], point[0], azimuth, metres)
    return (float(lat), float(lon))


def square(centre, half_m):
    n = offset(centre, 0, half_m)[0]
    s = offset(centre, 180, half_m)[0]
    e = offset(centre, 90, half_m)[1]
    w = offset(centre, 270, half_m)[1]
    return Polygon([(w, s), (e, s), (e, n), (w, n)])


Q = offset(O, 315, 25_000)
PARK = square(Q, 500)
S3 = (Q[0], float(GEOD.fwd(PARK.bounds[2], Q[0], 90, 10)[0]))  # 10 m east of the park's east edge
V1, V2, V3 = offset(O, 90, 4000.0), offset(O, 0, 2000.0), offset(O, 180, 20_000.0)


def _site(s, code, pos, commune, tenants, status="operating", deleted=False):
    site = Site(operator_code=tenants[0][0], site_code=code, lat=pos[0], lon=pos[1], commune_code=commune,
                status=status, deleted=deleted)
    s.add(site)
    s.flush()
    for op, techs in tenants:
        s.add(SiteTenant(site_uuid=site.uuid, operator_code=op, **{f"has_{t.lower()}": True for t in techs}))
    return site


def _village(s, code, pos, population, **kw):
    s.add(AdminUnit(code=code, name=f"Thôn {code}", level="village", unit_type="Thôn", parent_code=B,
                    centre_lat=pos[0], centre_lon=pos[1], area_type="rural", population=population,
                    has_power=True, **kw))


def _zone(s, code, kind, polygon, commune=B):
    z = Zone(code=code, name=code, kind=kind, commune_code=commune)
    z.set_shape(polygon)
    s.add(z)


def _route(s, code, op, method, level, start, metres):
    end = offset(start, 0, metres)
    r = FibreRoute(code=code, operator_code=op, method=method, level=level, commune_code=B)
    r.set_shape(LineString([(start[1], start[0]), (end[1], end[0])]))
    s.add(r)


def build_world(path: Path, *, v1_distance: float = 4000.0, surveyed: dict | None = None) -> Path:
    surveyed = surveyed or {}
    v1 = offset(O, 90, v1_distance)
    db = init_province_database(path, "42", user="tester")
    try:
        with db.operation("build test world") as s:
            _site(s, "S1", O, B, [("VTL", ["4G"]), ("VNPT", ["4G"])])
            _site(s, "S2", Q, B, [("MBF", ["4G", "5G"]), ("VTL", ["4G"])])
            _site(s, "S3", S3, B, [("VTL", ["5G"])])
            _site(s, "S4", offset(A_CENTRE, 0, 300), A, [("VNPT", ["5G"])])
            _site(s, "S5", offset(V3, 0, 1000), B, [("VTL", ["4G"]), ("MBF", ["4G"])], status="planned")
            _site(s, "S6", offset(V3, 90, 1000), B, [("VTL", ["4G", "5G"]), ("MBF", ["4G"])], deleted=True)
            _village(s, "V1", v1, 100, mobile_broadband_surveyed=surveyed.get("V1"))
            _village(s, "V2", V2, 200, mobile_broadband_surveyed=surveyed.get("V2"))
            _village(s, "V3", V3, 300, mobile_broadband_surveyed=surveyed.get("V3"), ftth_surveyed=True)
            _zone(s, "KCN-P", "industrial_park", PARK)
            _zone(s, "CCN-C", "industrial_cluster", square(offset(O, 45, 25_000), 500))
            _zone(s, "NH-U", "undergrounding", square(S3, 50))
            _route(s, "AC1", "VTL", "aerial", "access", offset(V2, 90, 300), 3000.0)
            _route(s, "BB1", "VNPT", "duct", "backbone", v1, 1000.0)
            poles = {}
            for i, ops in enumerate((["VTL", "VNPT"], ["VTL"], ["VTL"], []), start=1):
                pole = Pole(code=f"P{i}", owner_kind="power", lat=O[0] + i * 1e-4, lon=O[1], commune_code=B)
                s.add(pole)
                s.flush()
                poles[i] = pole
                for op in ops:
                    s.add(PoleAttachment(pole_uuid=pole.uuid, operator_code=op))
            s.add(PoleAttachment(pole_uuid=poles[3].uuid, operator_code="MBF", deleted=True))
    finally:
        db.close()
    return path


@pytest.fixture
def world(tmp_path) -> Path:
    return build_world(tmp_path / "world.db")


def _results(path, params=Params()):
    conn = connect_readonly(path)
    try:
        ds = load_dataset(conn)
    finally:
        conn.close()
    return compute(ds, params, load_coverage_model())


def _values(path, communes=None, params=Params()):
    r = _results(path, params)
    mask = unit_mask(r, communes)
    return {k: value(r, k, mask) for k in r.num}


def test_world_geometry_is_what_the_docstring_says():
    d = lambda a, b: GEOD.inv(a[1], a[0], b[1], b[0])[2]  # noqa: E731
    assert abs(d(O, V1) - 4000.0) < 1e-6
    assert d(V3, O) > 19_000 and d(V3, Q) > 40_000 and d(V3, A_CENTRE) > 40_000
    assert PARK.contains(shapely.Point(Q[1], Q[0])) and not PARK.intersects(shapely.Point(S3[1], S3[0]))
    assert 9.9 < PARK.exterior.distance(shapely.Point(S3[1], S3[0])) * 111_320 * 0.95 < 10.6


def test_province_indicators_match_the_hand_count(world):
    v = _values(world)
    assert v["operating_sites"].actual == 4
    assert (v["bts_sharing_rate"].numerator, v["bts_sharing_rate"].denominator) == (2, 4)
    assert v["bts_sharing_rate"].actual == 50.0
    assert v["sites_5g"].actual == 3
    assert v["sites_5g_in_zones"].actual == 1
    assert (v["zones_with_5g_rate"].numerator, v["zones_with_5g_rate"].denominator) == (1, 2)
    assert (v["village_mobile_broadband_rate"].numerator, v["village_mobile_broadband_rate"].denominator) == (2, 3)
    assert round(v["village_mobile_broadband_rate"].actual, 1) == 66.7
    assert (v["village_ftth_rate"].numerator, v["village_ftth_rate"].denominator) == (2, 3)
    assert (v["commune_centres_5g_rate"].numerator, v["commune_centres_5g_rate"].denominator) == (1, 69)
    assert (v["shared_poles_rate"].numerator, v["shared_poles_rate"].denominator) == (1, 4)
    assert v["fibre_km"].actual == pytest.approx(4.0, abs=1e-6)
    assert v["fibre_underground_rate"].actual == pytest.approx(25.0, abs=1e-6)
    assert v["population_5g_rate"].actual == 0.0


def test_per_commune_and_by_operator(world):
    b = _values(world, {B})
    a = _values(world, {A})
    assert (b["bts_sharing_rate"].numerator, b["bts_sharing_rate"].denominator) == (2, 3)
    assert (a["bts_sharing_rate"].numerator, a["bts_sharing_rate"].denominator) == (0, 1)
    assert a["commune_centres_5g_rate"].actual == 100.0 and b["commune_centres_5g_rate"].actual == 0.0
    assert a["village_mobile_broadband_rate"].actual is None  # no village: no data, not 0 %
    r = _results(world)
    by = dict(zip(r.dataset.operators, r.sites_by_operator_tech.sum(axis=0)))
    assert by["VTL"].tolist() == [0, 0, 2, 1]  # S1 4G, S2 4G, S3 5G
    assert by["VNPT"].tolist() == [0, 0, 1, 1]
    assert by["MBF"].tolist() == [0, 0, 1, 1]


def test_village_exactly_at_the_radius_is_covered_and_just_beyond_is_not(tmp_path):
    inside = _values(build_world(tmp_path / "at.db", v1_distance=4000.0))
    beyond = _values(build_world(tmp_path / "beyond.db", v1_distance=4000.5))
    assert inside["village_mobile_broadband_rate"].numerator == 2
    assert beyond["village_mobile_broadband_rate"].numerator == 1


def test_surveyed_status_overrides_the_model(tmp_path):
    v = _values(build_world(tmp_path / "s.db", surveyed={"V3": True, "V1": False}))
    # V3 out of range but surveyed "có sóng"; V1 in range but surveyed without signal.
    r = _results(tmp_path / "s.db")
    names = list(r.dataset.villages.code)
    assert r.villages.mobile[names.index("V3")] and not r.villages.mobile[names.index("V1")]
    assert r.villages.mobile_model[names.index("V1")] and not r.villages.mobile_model[names.index("V3")]
    assert v["village_mobile_broadband_rate"].numerator == 2


def test_uncovered_village_gets_nearest_operating_site(world):
    r = _results(world)
    i = list(r.dataset.villages.code).index("V3")
    site = r.villages.nearest_site[i]
    assert r.dataset.sites.code[site] == "S1"  # planned and deleted sites nearer are not sites
    assert r.villages.nearest_m[i] == pytest.approx(20_000.0, abs=0.01)


def test_definitions_are_parameters(world):
    three = _values(world, params=Params(min_operators=3))
    assert three["bts_sharing_rate"].numerator == 0
    cables = _values(world, params=Params(pole_scope="with_cables"))
    assert (cables["shared_poles_rate"].numerator, cables["shared_poles_rate"].denominator) == (1, 3)
    parks = _values(world, params=Params(zone_kinds=("industrial_park",)))
    assert parks["zones_with_5g_rate"].actual == 100.0


def test_power_only_leaves_out_villages_without_power(world):
    with Database.open(world) as db, db.operation("no power in V2") as s:
        s.execute(text("UPDATE admin_units SET has_power = 0 WHERE code = 'V2'"))
    v = _values(world, params=Params(power_only=True))
    assert (v["village_mobile_broadband_rate"].numerator, v["village_mobile_broadband_rate"].denominator) == (1, 2)


# --------------------------------------------------------------------------- targets


PLAN = """
plan: test_plan
title: "Kế hoạch thử"
document_no: "1/KH-UBND"
issuer: "UBND tỉnh Hà Tĩnh"
source: "test"
province: "42"
targets:
  - {indicator: bts_sharing_rate, year: 2025, target: 25, wording: "Tỷ lệ dùng chung 25%."}
  - {indicator: village_mobile_broadband_rate, year: 2025, target: 100, wording: "100% thôn."}
  - {indicator: sites_5g, year: 2025, target: 380, baseline: {value: 50, as_of: "09/2025"}, wording: "380 trạm."}
  - {indicator: fixed_bb_subs_per_100, year: 2025, target: 60, wording: "60/100 dân."}
  - {indicator: sites_5g, year: 2030, target: 3, wording: "3 trạm."}
"""


@pytest.fixture
def plans(tmp_path):
    d = tmp_path / "plans"
    d.mkdir()
    (d / "test.yaml").write_text(PLAN, encoding="utf-8")
    return load_plans(d)


def _row(report, key):
    return next(r for r in report.rows if r.indicator == key and r.plan)


def test_targets_met_not_met_and_no_data(world, plans):
    rep = build_report(world, year=2025, plans=plans)
    share = _row(rep, "bts_sharing_rate")
    assert (share.target, share.actual, share.gap, share.status) == (25, 50.0, -25.0, MET)
    village = _row(rep, "village_mobile_broadband_rate")
    assert village.status == NOT_MET and village.gap == pytest.approx(100 - 200 / 3)
    g5 = _row(rep, "sites_5g")
    assert (g5.actual, g5.gap, g5.status, g5.baseline) == (3, 377, NOT_MET, 50)
    assert _row(rep, "fixed_bb_subs_per_100").status == NO_DATA
    untargeted = [r for r in rep.rows if not r.plan]
    assert {r.status for r in untargeted} == {NO_TARGET}
    assert "bts_sharing_rate" not in {r.indicator for r in untargeted}
    assert build_report(world, year=2030, plans=plans).rows[0].status == MET  # 3 >= 3


def test_department_figures_complete_the_report(world, plans):
    with Database.open(world) as db:
        assert db.schema_version >= 4
        set_figures(db, "42", 2025, {"fixed_bb_subs_per_100": 61.5})
        set_figures(db, B, 2025, {"mobile_bb_subs_per_100": 80.0})
        set_figures(db, B, 2025, {"mobile_bb_subs_per_100": 90.0})  # replaces, does not duplicate
        with pytest.raises(InvalidInputError, match="99999"):
            set_figures(db, "99999", 2025, {"mobile_bb_subs_per_100": 1.0})
    rep = build_report(world, year=2025, plans=plans)
    fixed = _row(rep, "fixed_bb_subs_per_100")
    assert (fixed.actual, fixed.status) == (61.5, MET)
    commune = build_report(world, commune=B, year=2025, plans=plans)
    assert next(r for r in commune.rows if r.indicator == "mobile_bb_subs_per_100").actual == 90.0
    # A count target is the plan area's, not each commune's; a rate target applies to each commune.
    assert _row(commune, "sites_5g").status == NO_TARGET
    assert _row(commune, "bts_sharing_rate").status == MET


def test_default_year_is_the_latest_plan_year_reached(plans):
    import datetime as dt
    assert default_year(plans, dt.date(2026, 11, 23)) == 2025
    assert default_year(plans, dt.date(2031, 1, 1)) == 2030
    assert default_year(plans, dt.date(2024, 1, 1)) == 2025


# --------------------------------------------------------------------------- shipped data


def test_shipped_plans_load_and_map_to_2025_provinces():
    by_id = {p.plan: p for p in load_plans()}
    assert set(by_id) == {"binh_phuoc_2023_2025", "lang_son_2025_2030", "cao_loc_2023_2025", "ha_tinh_5g_2025"}
    assert by_id["binh_phuoc_2023_2025"].province == "75"  # Bình Phước merged into Đồng Nai
    assert len(by_id["binh_phuoc_2023_2025"].communes()) == 40
    assert by_id["cao_loc_2023_2025"].communes() == {"06184", "06187", "06196", "06211", "06220", "06286"}
    assert by_id["lang_son_2025_2030"].communes() is None
    ha_tinh = {t.indicator: t for t in by_id["ha_tinh_5g_2025"].targets}
    assert (ha_tinh["sites_5g"].target, ha_tinh["sites_5g_in_zones"].target) == (380, 66)
    cao = {t.indicator: t for t in by_id["cao_loc_2023_2025"].targets}
    assert (cao["village_mobile_broadband_rate"].baseline, cao["village_mobile_broadband_rate"].target) == (92, 98)
    assert {t.year for t in by_id["lang_son_2025_2030"].targets} == {2025, 2030}
    assert all(p.document_no or p.document_no_note for p in by_id.values())


def test_scope_rule_takes_communes_formed_mostly_from_the_former_units():
    assert scope_communes("20", ("06184-06250",)) == {"06184", "06187", "06196", "06211", "06220", "06286"}
    assert scope_communes("20", ("06247",)) == frozenset()  # Yên Trạch is 1 of Đông Kinh's 4


def test_hatinh_sample_shows_the_plan_baseline(sample_db_path):
    # The sample follows the Hà Tĩnh plan's status: 5G sites and 5G sites in zones, against 380/66.
    rep = build_report(sample_db_path, year=2025)
    g5 = _row(rep, "sites_5g")
    assert g5.plan == "ha_tinh_5g_2025" and g5.target == 380 and g5.status == NOT_MET


@pytest.mark.parametrize("patch, message", [
    (("indicator: bts_sharing_rate", "indicator: sharing"), "targets[0]: indicator"),
    (('document_no: "1/KH-UBND"', "document_no: null"), "document_no"),
    (("target: 25,", "target: 125,"), "targets[0] (bts_sharing_rate): target"),
    (('province: "42"', 'province: "70"'), "province"),
    (("year: 2030", "year: 2025"), "targets[4]"),
])
def test_bad_plan_files_name_the_file_and_entry(tmp_path, patch, message):
    path = tmp_path / "bad.yaml"
    path.write_text(PLAN.replace(*patch), encoding="utf-8")
    with pytest.raises(InvalidInputError) as err:
        load_plan(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_bad_coverage_file_names_the_entry(tmp_path):
    src = (Path(__file__).parents[2] / "resources" / "coverage.yaml").read_text(encoding="utf-8")
    path = tmp_path / "coverage.yaml"
    path.write_text(src.replace("5G: 400", "5G: -1"), encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"coverage.yaml: radius_m.urban.5G"):
        load_coverage_model(path)
    path.write_text(src.replace("urban:    {2G: 2000, 3G: 1200, 4G: 1000, 5G: 400}", "urban: {2G: 1}"),
                    encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"radius_m.urban: .*3G, 4G, 5G"):
        load_coverage_model(path)


# --------------------------------------------------------------------------- CLI and report


def test_cli_indicators_json_and_set_figure(world, capsys):
    assert main(["indicators", str(world), "--commune", B, "--year", "2025", "--set-figure",
                 "mobile_ispeed_mbps=71,5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["commune_code"] == B and doc["year"] == 2025
    rows = {r["indicator"]: r for r in doc["rows"]}
    assert rows["mobile_ispeed_mbps"]["actual"] == 71.5
    assert rows["bts_sharing_rate"]["numerator"] == 2 and rows["bts_sharing_rate"]["denominator"] == 3
    assert "bts_sharing_rate" in doc["definitions"]
    assert main(["indicators", str(world), "--commune", "00000"]) == 2
    assert "00000" in capsys.readouterr().err
    assert main(["indicators", str(world), "--set-figure", "speed=3"]) == 2


def test_report_workbook_reads_back_with_the_same_numbers(world, tmp_path):
    out = tmp_path / "chi_tieu.xlsx"
    summary = write_report(world, out, year=2025)
    assert summary["commune_sheets"] == 69 and out.exists()
    rep = build_report(world, year=2025)
    wb = load_workbook(out)
    ws = wb["Tổng hợp"]
    assert ws.print_title_rows == "$1:$4" and ws.page_setup.orientation == "landscape"
    read = {}
    for row in ws.iter_rows(min_row=5, values_only=True):
        if isinstance(row[0], int):
            read[(row[1], row[10])] = row[3:7]
    assert len(read) == len(rep.rows)
    for r in rep.rows:
        target, actual, _gap, status = read[(r.label_vi, r.document)]
        assert actual == (None if r.actual is None else pytest.approx(r.actual, abs=0.006))
        assert target == r.target
    assert ("Tỷ lệ dùng chung vị trí trạm BTS", None) in read and read[("Tỷ lệ dùng chung vị trí trạm BTS",
                                                                         None)][1] == 50
    b_sheet = next(n for n in wb.sheetnames if n.startswith(B))
    b_rows = {row[1]: row[4] for row in wb[b_sheet].iter_rows(min_row=4, values_only=True) if row[0]}
    assert b_rows["Tỷ lệ dùng chung vị trí trạm BTS"] == pytest.approx(66.67, abs=0.006)
    communes = {row[0]: row for row in wb["Theo xã, phường"].iter_rows(min_row=4, values_only=True)}
    assert communes[A][2] == 1 and communes[B][2] == 3  # operating sites
    defs = [row[1] for row in wb["Định nghĩa"].iter_rows(min_row=4, values_only=True) if row[1]]
    assert any("từ 2 doanh nghiệp" in d for d in defs)
    with zipfile.ZipFile(out) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) >= 2
