"""Each shipped rule: a record that breaks it and one that just does not (at the threshold)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hatang_desktop.core.rules import load_rules, run_check

from .rules_helpers import Builder, communes, province_template, rules_db  # noqa: F401 (fixtures)


@pytest.fixture
def build(rules_db):
    return Builder(rules_db, communes(rules_db, 1)[0])


def flagged(db, rule_id: str) -> set[str]:
    run_check(db, rule_ids=[rule_id])
    with db.session() as s:
        return {r[0] for r in s.execute(text(
            "SELECT target_uuid FROM findings WHERE rule_id = :r AND status = 'open' AND deleted = 0"),
            {"r": rule_id})}


def test_every_shipped_rule_is_covered_here():
    covered = {name[len("test_"):] for name in globals() if name.startswith("test_")}
    assert {r.id for r in load_rules()} <= covered


def test_cable_not_insulated(build):
    _, bad = build.pole(0, owner_kind="power", in_insulating_tube=False)
    _, ok = build.pole(50, owner_kind="power", in_insulating_tube=True)
    _, no_power = build.pole(100, owner_kind="lighting", carries_power=False, in_insulating_tube=False)
    _, unknown = build.pole(150, owner_kind="power")  # not recorded: not a breach
    assert flagged(build.db, "cable_not_insulated") == {bad}
    assert {ok, no_power, unknown}.isdisjoint(flagged(build.db, "cable_not_insulated"))


def test_crossing_without_height_sign(build):
    _, bad = build.pole(0, situation="crossing_road", has_height_sign=False)
    _, water = build.pole(50, situation="crossing_water", has_height_sign=False)
    _, ok = build.pole(100, situation="crossing_road", has_height_sign=True)
    _, along = build.pole(150, situation="along_road", has_height_sign=False)
    assert flagged(build.db, "crossing_without_height_sign") == {bad, water}
    assert ok and along


def test_cable_wound_on_pole(build):
    _, bad = build.pole(0, wound_on_pole=True)
    build.pole(50, wound_on_pole=False)
    assert flagged(build.db, "cable_wound_on_pole") == {bad}


def test_spare_cable_too_long(build):
    _, bad = build.pole(0, spare_cable_m=10.1)
    build.pole(50, spare_cable_m=10.0)  # exactly the limit: allowed
    build.pole(100)  # none recorded
    assert flagged(build.db, "spare_cable_too_long") == {bad}


def test_too_many_boxes(build):
    _, bad = build.pole(0, box_count=2)
    build.pole(50, box_count=1)
    assert flagged(build.db, "too_many_boxes") == {bad}


def test_cable_too_low(build):
    params = load_rules()["cable_too_low"].values["min_height_m"]
    _, low_along = build.pole(0, situation="along_road", lowest_height_m=params["along_road"] - 0.1)
    build.pole(50, situation="along_road", lowest_height_m=params["along_road"])
    _, low_cross = build.pole(100, situation="crossing_road", lowest_height_m=params["crossing_road"] - 0.1)
    build.pole(150, situation="crossing_road", lowest_height_m=params["crossing_road"])
    # The same height is fine along a road and too low crossing it: the minimum follows the situation.
    _, same = build.pole(200, situation="crossing_road", lowest_height_m=params["along_road"])
    assert params["along_road"] < params["crossing_road"]
    assert flagged(build.db, "cable_too_low") == {low_along, low_cross, same}


def test_cable_untagged(build):
    _, bad = build.pole(0, tagged=False)
    build.pole(50, tagged=True)
    assert flagged(build.db, "cable_untagged") == {bad}


def test_cable_abandoned(build):
    _, bad = build.pole(0, condition="abandoned")
    build.pole(50, condition="sagging")
    assert flagged(build.db, "cable_abandoned") == {bad}


def test_new_pole_beside_shared_pole(build):
    limit = load_rules()["new_pole_beside_shared_pole"].values["distance_m"]
    build.pole(0, owner_kind="power")
    bad, _ = build.pole(limit - 0.01, owner_kind="operator", operator="VTL")
    build.pole(1000, owner_kind="lighting", carries_power=False)
    at_limit, _ = build.pole(1000, limit + 0.01, owner_kind="operator", operator="MBF")
    build.pole(2000, owner_kind="operator", operator="VNPT")
    beside_operator, _ = build.pole(2000, 1, owner_kind="operator", operator="VTL")  # operators' poles
    assert flagged(build.db, "new_pole_beside_shared_pole") == {bad}
    assert at_limit and beside_operator


def test_aerial_route_in_undergrounding_area(build):
    build.zone(0, 0, 200)
    build.zone(1000, 0, 200, kind="industrial_park")
    bad = build.route([(-50, 100), (100, 100)])
    build.route([(-50, 300), (300, 300)])  # passes 100 m north of the zone
    build.route([(-50, 50), (100, 50)], method="duct")
    build.route([(950, 100), (1100, 100)])  # an industrial park is not an undergrounding area
    assert flagged(build.db, "aerial_route_in_undergrounding_area") == {bad}
    with build.db.session() as s:
        lat, lon = s.execute(text("SELECT lat, lon FROM findings WHERE target_uuid = :u"), {"u": bad}).one()
    sw, ne = build.at(0, 0), build.at(200, 200)
    assert sw[0] <= lon <= ne[0] and sw[1] <= lat <= ne[1]  # the point shown is inside the zone


def test_rooftop_mast_without_permit(build):
    rule = load_rules()["rooftop_mast_without_permit"]
    ratio, cap = rule.values["max_height_ratio"], rule.values["max_height_m"]
    building = cap / ratio  # both limits meet here
    common = dict(tower_type="rooftop_pole", permit_no=None, in_passive_plan=False)
    build.site(0, height_m=cap, building_height_m=building, **common)  # at both limits: exempt
    too_tall = build.site(100, height_m=cap + 0.1, building_height_m=building * 2, **common)
    too_big_share = build.site(200, height_m=2.1, building_height_m=10.0, **common)
    build.site(300, height_m=2.0, building_height_m=10.0, **common)  # exactly 20 %
    build.site(400, height_m=cap + 1, building_height_m=building, tower_type="rooftop_pole",
               permit_no="12/GPXD")
    build.site(500, height_m=cap + 1, building_height_m=building, status="dismantled",
               **{k: v for k, v in common.items()})
    assert flagged(build.db, "rooftop_mast_without_permit") == {too_tall, too_big_share}
    with build.db.session() as s:
        note = s.execute(text("SELECT note FROM findings WHERE target_uuid = :u"), {"u": too_big_share}).scalar()
    assert "tỷ lệ" in note and "quá mức tối đa" not in note  # says which limit was passed


def test_site_unplanned_without_permit(build):
    bad = build.site(0, in_passive_plan=False, permit_no=None)
    build.site(100, in_passive_plan=True, permit_no=None)
    build.site(200, in_passive_plan=False, permit_no="3/GPXD")
    build.site(300, in_passive_plan=False, permit_no=" ")  # blank is no permit
    build.site(400, in_passive_plan=False, permit_no=None, tower_type="small_cell")
    found = flagged(build.db, "site_unplanned_without_permit")
    assert bad in found and len(found) == 2


def test_towers_should_share(build):
    limit = load_rules()["towers_should_share"].values["distance_m"]
    a = build.site(0, operator="VTL")
    b = build.site(limit - 0.01, operator="MBF")
    build.site(0, 1000, operator="VTL")
    build.site(limit + 0.01, 1000, operator="MBF")  # just beyond the limit
    build.site(0, 2000, operator="VTL")
    build.site(50, 2000, operator="VTL")  # same operator: nothing to share
    build.site(0, 3000, operator="VTL", tenants=("VTL", "VNPT"))  # already shared
    build.site(50, 3000, operator="MBF")
    build.site(0, 4000, operator="VTL", tower_type="rooftop_pole", building_height_m=20, height_m=3)
    build.site(50, 4000, operator="MBF")
    assert flagged(build.db, "towers_should_share") == {a, b}
    with build.db.session() as s:
        note = s.execute(text("SELECT note FROM findings WHERE target_uuid = :u"), {"u": a}).scalar()
    assert "cách trạm S0002 100 m" in note  # the partner and the distance, rounded to 0.1 m


def test_site_record_incomplete(build, tmp_path):
    """Position, operator, technology: a finding per site. A missing photo is not this rule's
    (sites_without_photo counts those per commune)."""
    complete = build.site(0)
    no_photo = build.site(100)
    no_tech = build.site(200, techs=(False, False, False, False))
    build.site(300, status="planned", techs=(False, False, False, False))
    flagged_now = flagged(build.db, "site_record_incomplete")
    assert flagged_now == {no_tech}
    assert {complete, no_photo}.isdisjoint(flagged_now)
    with build.db.session() as s:
        notes = dict(s.execute(text("SELECT target_uuid, note FROM findings")).all())
    assert notes[no_tech].endswith("công nghệ")


def _photo(tmp_path):
    from PIL import Image

    picture = tmp_path / "tram.jpg"
    Image.new("RGB", (64, 48), (120, 160, 200)).save(picture)
    return picture


def _grouped(db, rule_id: str) -> dict:
    with db.session() as s:
        rows = s.execute(text(
            "SELECT commune_code, status, note, target_table, target_uuid, lat FROM findings "
            "WHERE rule_id = :r AND deleted = 0"), {"r": rule_id}).all()
    return {r[0]: r for r in rows}


def test_sites_without_photo(rules_db, tmp_path):
    """One finding per commune with the count and the codes, at the commune's centre, with no
    target record; a later run writes the new count into its note, and resolves it when every
    site there has a photo."""
    from hatang_desktop.core.photos import attach_photo

    first, second = communes(rules_db, 2)
    (code_a, _, lat_a), code_b = first, second[0]
    a, b = Builder(rules_db, first), Builder(rules_db, second)
    b.n = 100  # distinct site codes across the two communes
    a_sites = [a.site(100 * k) for k in range(3)]
    b_site = b.site(0)
    a.site(500, status="planned")  # not operating: not counted
    attach_photo(rules_db, "sites", a_sites[0], _photo(tmp_path))

    result = run_check(rules_db, rule_ids=["sites_without_photo"])
    assert result.found["sites_without_photo"] == 2 and result.records["sites_without_photo"] == 3
    found = _grouped(rules_db, "sites_without_photo")
    assert set(found) == {code_a, code_b}
    _, status, note, table, target, lat = found[code_a]
    assert (status, table, target) == ("open", None, None)
    assert lat == pytest.approx(lat_a)
    assert note.startswith("2 trạm chưa có ảnh ở ") and "S0002" in note and "S0003" in note and "S0001" not in note

    again = run_check(rules_db, rule_ids=["sites_without_photo"])
    assert again.changes.as_dict() == {"new": 0, "resolved": 0, "reopened": 0, "unchanged": 2}
    assert _grouped(rules_db, "sites_without_photo")[code_a][2] == note  # nothing new to say

    attach_photo(rules_db, "sites", a_sites[1], _photo(tmp_path))
    run_check(rules_db, rule_ids=["sites_without_photo"])
    lines = _grouped(rules_db, "sites_without_photo")[code_a][2].splitlines()
    assert lines[0] == note and "Cập nhật / now: 1 trạm chưa có ảnh ở " in lines[-1]
    assert lines[-1].endswith(": S0003")

    attach_photo(rules_db, "sites", a_sites[2], _photo(tmp_path))
    last = run_check(rules_db, rule_ids=["sites_without_photo"])
    assert last.changes.resolved == 1
    assert _grouped(rules_db, "sites_without_photo")[code_a][1] == "resolved"
    assert _grouped(rules_db, "sites_without_photo")[code_b][1] == "open"


def test_derived_fields_count_live_rows_only(build):
    """Counts a rule can test (tenants, technologies, operators and boxes on a pole) are read
    per record from the live rows of the other table; records with none read 0."""
    from hatang_desktop.core.model import PoleAttachment, SiteTenant
    from hatang_desktop.core.rules.records import read_frame

    shared = build.site(0, tenants=("VTL", "MBF", "VNPT"), techs=(False, True, True, False))
    alone = build.site(100)
    with build.db.session() as s:
        gone = s.execute(text("SELECT uuid FROM site_tenants WHERE site_uuid = :u AND operator_code = 'VNPT'"),
                         {"u": shared}).scalar_one()
    build.update(SiteTenant, gone, deleted=True)
    pole, _ = build.pole(200, operator_code="VTL", box_count=2)
    with build.db.operation("second attachment") as s:
        s.add(PoleAttachment(pole_uuid=pole, operator_code="MBF", cable_count=1, cable_type="fibre",
                             tagged=True, condition="ok", box_count=3))
    bare, _ = build.pole(300)

    sites = read_frame(build.db, "sites", {"tenant_count", "shared", "technology_count", "photo_count"})
    sites = sites.set_index("_uuid")
    assert sites.loc[shared, ["tenant_count", "shared", "technology_count", "photo_count"]].tolist() == [2, 1, 2, 0]
    assert sites.loc[alone, ["tenant_count", "shared", "technology_count", "photo_count"]].tolist() == [1, 0, 1, 0]
    poles = read_frame(build.db, "poles", {"operator_count", "shared", "box_count"}).set_index("_uuid")
    assert poles.loc[pole, ["operator_count", "shared", "box_count"]].tolist() == [2, 1, 5]
    assert poles.loc[bare, ["operator_count", "shared", "box_count"]].tolist() == [0, 0, 0]
