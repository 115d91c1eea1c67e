"""Administrative boundaries as people's files have them (issue 17): commune polygons with a
province code column and population, unpadded codes, pre-2025 codes and names, an unknown code
with a near name, a commune polygon that would have replaced the province's boundary, a commune
in several features. Every file is written here, in the shapes those files have."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import shapely
from sqlalchemy import text

from hatang_desktop.cli import main
from hatang_desktop.core import admin_units
from hatang_desktop.core.geo.geodesy import geodesic_area_m2
from hatang_desktop.core.gis import InvalidGisFileError, import_gis, preview_gis
from hatang_desktop.core.provinces_db import init_province_database
from hatang_desktop.core.storage.database import Database

CENTRES = {c.code: (c.centre_lon, c.centre_lat) for p in ("19", "42", "52") for c in admin_units.communes(p)}


def square(code: str, half: float = 0.015, dx: float = 0.0) -> dict:
    """A commune-sized square (about 10 km²) at the commune's official centre."""
    x, y = CENTRES[code]
    x += dx
    return {"type": "Polygon", "coordinates": [[[x - half, y - half], [x + half, y - half], [x + half, y + half],
                                                [x - half, y + half], [x - half, y - half]]]}


def write(path: Path, features: list[tuple[dict, dict]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features]},
        ensure_ascii=False), encoding="utf-8")
    return path


def fresh(tmp_path: Path, province: str) -> Path:
    path = tmp_path / f"p{province}.db"
    init_province_database(path, province, user="tester").close()
    return path


def units(path: Path, *codes: str) -> dict:
    with Database.open(path, readonly=True) as db, db.session() as s:
        rows = s.execute(text("SELECT code, boundary, boundary_synthetic, population, households, area_type "
                              "FROM admin_units")).all()
    out = {r.code: r for r in rows}
    return {c: out[c] for c in codes} if codes else out


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.stem}.*.bak{path.suffix}"))


def run_json(capsys, *argv) -> tuple[int, dict, str]:
    code = main(["import", *map(str, argv), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


HA_TINH = [("18073", "Phường Thành Sen", "Phường", 45310, 12100, "thành thị"),
           ("18100", "Phường Trần Phú", "Phường", 39120, 10200, "thành thị"),
           ("18133", "Xã Hương Sơn", "Xã", 15400, 4100, "miền núi"),
           ("18163", "Xã Sơn Tiến", "Xã", 12050, 3020, "miền núi"),
           ("18202", "Xã Tứ Mỹ", "Xã", 9800, 2500, "nông thôn")]


# -- a province's commune polygons, as published ---------------------------------------------

def test_commune_polygons_with_a_province_code_column_keep_population(tmp_path, capsys):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "ha_tinh_xa.geojson", [
        ({"code": code, "name": name, "type": kind, "province_code": "42", "population": pop,
          "so_ho": households, "loai_dia_ban": area, "area_km2": 12.5}, square(code))
        for code, name, kind, pop, households, area in HA_TINH])
    code, doc, _err = run_json(capsys, db_path, path)
    assert code == 0, doc["errors"]
    layer = doc["layers"][0]
    assert layer["record"] == "boundaries"                      # without --as
    assert layer["columns"]["code"] == "Mã đơn vị hành chính"
    assert layer["columns"]["province_code"] is None            # never the commune's code
    assert layer["columns"]["population"] == "Dân số (người)"
    # What an admin unit does not hold is listed as ignored.
    assert any("type" in n and "province_code" in n and "area_km2" in n for n in layer["notes"])
    assert doc["by_type"]["boundaries"]["updated"] == 5 and doc["applied"]
    assert {b["code"] for b in doc["boundaries"]} == {c for c, *_ in HA_TINH}
    got = units(db_path)
    for c, _name, _kind, pop, households, area in HA_TINH:
        assert got[c].boundary is not None and not got[c].boundary_synthetic
        assert (got[c].population, got[c].households) == (pop, households)
        assert got[c].area_type == {"thành thị": "urban", "miền núi": "mountain", "nông thôn": "rural"}[area]
    assert got["42"].boundary is None                            # the province untouched
    assert got["18118"].population is None                       # a commune the file lacks untouched

    # The same file again changes nothing; a new population is an update of that field only.
    with Database.open(db_path) as db:
        assert import_gis(db, path, dry_run=True).counts["boundaries"]["unchanged"] == 5
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][0]["properties"]["population"] = "46.000"   # Vietnamese thousands separator
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with Database.open(db_path) as db:
        result = import_gis(db, path)
    assert result.counts["boundaries"] == {**result.counts["boundaries"], "updated": 1, "unchanged": 4}
    assert [b.changes for b in result.boundaries if b.action == "update"] == [{"population": (45310, 46000)}]
    assert units(db_path, "18073")["18073"].population == 46000


def test_a_population_that_is_not_a_number_is_named(tmp_path):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "xa.geojson", [
        ({"ma_xa": "18073", "ten_xa": "Phường Thành Sen", "dan_so": "khoảng 45 nghìn"}, square("18073")),
        ({"ma_xa": "18100", "ten_xa": "Phường Trần Phú", "dan_so": 39120}, square("18100"))])
    before = digest(db_path)
    with Database.open(db_path) as db, pytest.raises(InvalidGisFileError) as exc:
        import_gis(db, path)
    [problem] = exc.value.problems
    assert (problem.feature, problem.attribute, problem.value) == (1, "dan_so", "khoảng 45 nghìn")
    assert digest(db_path) == before and not backups(db_path)


# -- codes and names as people write them ------------------------------------------------------

def test_unpadded_code_is_boundaries_without_as(tmp_path, capsys):
    # Xã Văn Lăng is 05665; published as 5665, with a "loại" column of "Xã" that reads as a zone's
    # kind (it used to become a zone and be refused: "Loại khu" required).
    db_path = fresh(tmp_path, "19")
    path = write(tmp_path / "van_lang.geojson", [
        ({"ma": "5665", "ten": "Xã Văn Lăng", "loai": "Xã", "province_code": "19", "population": 8200},
         square("05665"))])
    code, doc, _err = run_json(capsys, db_path, path)
    assert code == 0, doc["errors"]
    assert doc["layers"][0]["record"] == "boundaries"
    assert doc["layers"][0]["columns"]["ma"] == "Mã đơn vị hành chính"
    got = units(db_path, "05665")["05665"]
    assert got.boundary is not None and got.population == 8200


def test_codes_and_names_match_as_typed():
    from hatang_desktop.core.gis.boundaries import code_text, name_keys

    assert code_text(5665) == code_text("5665") == code_text(5665.0) == code_text(" 5665 ") == "5665"
    assert code_text("5665a") is None and code_text(56.5) is None
    # Prefixes, case, decomposed letters, old-style tone marks, apostrophes, hyphens.
    assert name_keys("Phường Thành Sen") == name_keys("P. Thành Sen") == name_keys("P.thành sen") \
        == name_keys("THÀNH SEN")
    assert name_keys("Xã Thủy Nguyên")[0] == name_keys("xã Thuỷ Nguyên")[0]
    assert name_keys("Xã Ea H’leo") == name_keys("Ea H'leo")
    assert name_keys("Phường Văn Miếu - Quốc Tử Giám") == name_keys("Văn Miếu-Quốc Tử Giám")
    # Strict keeps what tells Văn Lăng from Văn Lang (two communes of Thái Nguyên); loose does not.
    assert name_keys("Văn Lăng")[0] != name_keys("Văn Lang")[0]
    assert name_keys("Văn Lăng")[1] == name_keys("Van Lang")[1]


def test_names_alone_match_without_diacritics_or_prefix(tmp_path):
    db_path = fresh(tmp_path, "19")
    path = write(tmp_path / "ten.geojson", [({"ten": "Văn Lăng"}, square("05665"))])
    with Database.open(db_path) as db:
        result = import_gis(db, path, as_record="boundaries")
    assert [b.code for b in result.boundaries] == ["05665"]
    # Without diacritics "Van Lang" is Xã Văn Lăng or Xã Văn Lang: both are named, nothing written.
    path = write(tmp_path / "khong_dau.geojson", [({"ten": "Van Lang"}, square("05665", dx=0.05))])
    with Database.open(db_path) as db, pytest.raises(InvalidGisFileError) as exc:
        import_gis(db, path, as_record="boundaries")
    [problem] = exc.value.problems
    assert "05665 Xã Văn Lăng" in problem.message and "Xã Văn Lang" in problem.message

    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "p.geojson", [({"name": "P. Thanh Sen"}, square("18073")),
                                          ({"name": "xa tu my"}, square("18202"))])
    with Database.open(db_path) as db:
        result = import_gis(db, path)
    assert result.groups[0].record == "boundaries"
    assert sorted(b.code for b in result.boundaries) == ["18073", "18202"]


# -- pre-2025 codes and names ------------------------------------------------------------------

def test_pre_2025_communes_are_mapped_through_the_merges_table(tmp_path, capsys):
    # Xã Sơn Hồng (2025, code 18160) = the old Xã Sơn Hồng (18139) + Xã Sơn Lĩnh (18160: the old
    # code was reused by the new commune). A 2024 file has both, with the old codes and names.
    db_path = fresh(tmp_path, "42")
    a = square("18160", dx=-0.015)
    b = square("18160", dx=0.015)
    path = write(tmp_path / "xa_2024.geojson", [
        ({"MA_XA": "18139", "TEN_XA": "Xã Sơn Hồng", "DAN_SO": 3100}, a),
        ({"MA_XA": "18160", "TEN_XA": "Xã Sơn Lĩnh", "DAN_SO": 2900}, b),
        ({"MA_XA": "18196", "TEN_XA": "Xã Sơn Kim 1", "DAN_SO": 5100}, square("18196"))])  # unchanged in 2025
    code, doc, _err = run_json(capsys, db_path, path)
    assert code == 0, doc["errors"]
    assert doc["layers"][0]["record"] == "boundaries"
    notes = " | ".join(doc["warnings"])
    assert "18160 'Xã Sơn Lĩnh'" in notes and "trước 2025" in notes and "18160 Xã Sơn Hồng" in notes
    assert "bảng sáp nhập" in notes
    got = units(db_path, "18160", "18196")
    shape = shapely.from_wkb(got["18160"].boundary)
    assert shape.equals(shapely.union_all([shapely.geometry.shape(a), shapely.geometry.shape(b)]))
    assert got["18160"].population == 6000                    # the old communes add up
    assert got["18196"].boundary is not None and got["18196"].population == 5100
    assert not any("18196" in w for w in doc["warnings"])     # nothing to say of an unchanged commune


def test_a_pre_2025_file_missing_part_of_a_new_commune_is_refused(tmp_path, capsys):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "xa_2024.geojson", [
        ({"MA_XA": "18160", "TEN_XA": "Xã Sơn Lĩnh"}, square("18160"))])
    before = digest(db_path)
    code, doc, err = run_json(capsys, db_path, path)
    assert code == 2 and not doc["applied"]
    [error] = doc["errors"]
    assert "18139 Xã Sơn Hồng" in error["message"] and "thiếu" in error["message"]
    assert digest(db_path) == before and not backups(db_path)


# -- an unknown code -------------------------------------------------------------------------------

def test_unknown_code_is_named_with_the_likely_unit_and_not_written(tmp_path, capsys):
    # The file: Ia Mơ with the code other lists give it (23938; the official 2025 code is
    # 23737) and Gia Lai's code in a province_code column, into Gia Lai with --as boundaries.
    db_path = fresh(tmp_path, "52")
    x, y = 107.72, 13.45
    polygon = {"type": "Polygon", "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]]}
    path = write(tmp_path / "ia_mo.geojson", [
        ({"code": "23938", "name": "Ia Mơ", "type": "Xã", "province_code": "52", "population": 10500,
          "area_km2": 435.6}, polygon)])
    before = digest(db_path)
    code, doc, err = run_json(capsys, db_path, path, "--as", "boundaries")
    assert code == 2 and not doc["applied"]
    [error] = doc["errors"]
    assert error["message"].startswith("23938 'Ia Mơ': không có mã này trong danh mục 2025 / no such code in "
                                       "2025; có phải / did you mean 23737 Xã Ia Mơ?")
    assert error["suggestion"] == {"code": "23737", "name": "Xã Ia Mơ"}
    assert "--accept-name-match" in err
    assert digest(db_path) == before and not backups(db_path)   # the province's boundary neither

    # Without --as it is recognised as boundaries all the same (its name is a 2025 commune's).
    with Database.open(db_path, readonly=True) as db:
        result = preview_gis(db, path)
    assert result.groups[0].record == "boundaries" and result.problems[0].suggestion[0] == "23737"

    # Taking the suggestion writes the commune, with a note; the province stays without a boundary.
    code, doc, _err = run_json(capsys, db_path, path, "--accept-name-match")
    assert code == 0 and doc["applied"]
    assert any("23737 Xã Ia Mơ" in w for w in doc["warnings"])
    got = units(db_path, "23737", "52")
    assert got["23737"].boundary is not None and got["23737"].population == 10500
    assert got["52"].boundary is None


def test_unknown_code_with_a_near_name(tmp_path):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "xa.geojson", [
        ({"ma_xa": "18073", "ten_xa": "Phường Thành Sen"}, square("18073")),
        ({"ma_xa": "18999", "ten_xa": "Phuong Tran Phu"}, square("18100")),     # the name without marks
        ({"ma_xa": "18998", "ten_xa": "Xa Tu Mi"}, square("18202"))])            # a typo
    with Database.open(db_path) as db, pytest.raises(InvalidGisFileError) as exc:
        import_gis(db, path)
    messages = sorted(p.message for p in exc.value.problems)
    assert messages == [
        "18998 'Xa Tu Mi': không có mã này trong danh mục 2025 / no such code in 2025; có phải / did you mean "
        "18202 Xã Tứ Mỹ?",
        "18999 'Phuong Tran Phu': không có mã này trong danh mục 2025 / no such code in 2025; có phải / did you "
        "mean 18100 Phường Trần Phú?"]
    with Database.open(db_path) as db:
        result = import_gis(db, path, accept_name_match=True)
    assert sorted(b.code for b in result.boundaries) == ["18073", "18100", "18202"]


# -- the province's boundary -------------------------------------------------------------------

def province_polygon() -> dict:
    """Hà Tĩnh's communes' centres, hulled and widened: a province-sized polygon."""
    hull = shapely.MultiPoint([CENTRES[c.code] for c in admin_units.communes("42")]).convex_hull.buffer(0.12)
    assert geodesic_area_m2(hull) / 1e6 > 3500
    return shapely.geometry.mapping(hull)


def test_a_commune_polygon_never_replaces_the_province_boundary(tmp_path, capsys):
    db_path = fresh(tmp_path, "42")
    province = write(tmp_path / "tinh.geojson", [({"MA_TINH": "42", "TEN_TINH": "Tỉnh Hà Tĩnh"}, province_polygon())])
    code, doc, _err = run_json(capsys, db_path, province)
    assert code == 0 and doc["by_type"]["boundaries"]["updated"] == 1
    stored = units(db_path, "42")["42"].boundary                # a province's own polygon is taken
    assert stored is not None
    before = digest(db_path)
    n_backups = len(backups(db_path))

    # One commune's polygon whose only unit code is the province's, with --as boundaries (it used
    # to replace the province's boundary, exit 0).
    path = write(tmp_path / "mot_xa.geojson", [({"MA_TINH": "42", "TEN_TINH": "Hà Tĩnh", "GHI_CHU": "ranh giới xã"},
                                                square("18073"))])
    code, doc, err = run_json(capsys, db_path, path, "--as", "boundaries")
    assert code == 2 and not doc["applied"]
    [error] = doc["errors"]
    assert error["feature"] == 1 and "42 Tỉnh Hà Tĩnh" in error["message"]
    assert "không bao giờ thay ranh giới tỉnh" in error["message"] and "never replaces" in error["message"]
    assert "km²" in error["message"]
    assert digest(db_path) == before and len(backups(db_path)) == n_backups
    assert units(db_path, "42")["42"].boundary == stored

    # Nor does it with the province's name as its name, nor with --accept-name-match.
    path = write(tmp_path / "ten_tinh.geojson", [({"code": "42", "name": "Hà Tĩnh"}, square("18100"))])
    with Database.open(db_path) as db, pytest.raises(InvalidGisFileError) as exc:
        import_gis(db, path, as_record="boundaries", accept_name_match=True)
    assert "never replaces" in exc.value.problems[0].message
    assert digest(db_path) == before


def test_a_province_sized_polygon_is_never_a_commune(tmp_path):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "to.geojson", [({"ma_xa": "18073", "ten_xa": "Phường Thành Sen"}, province_polygon())])
    with Database.open(db_path) as db, pytest.raises(InvalidGisFileError) as exc:
        import_gis(db, path, as_record="boundaries")
    assert "cỡ một tỉnh" in exc.value.problems[0].message and "18073" in exc.value.problems[0].message


# -- several polygons for one commune, communes of other provinces -----------------------------------

def test_a_commune_in_several_features_is_one_multipolygon(tmp_path, capsys):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "dao.geojson", [
        ({"code": "18073", "name": "Phường Thành Sen", "population": 45310}, square("18073", 0.01, dx=-0.03)),
        ({"code": "18073", "name": "Phường Thành Sen", "population": 45310}, square("18073", 0.01, dx=0.03)),
        ({"code": "18100", "name": "Phường Trần Phú", "population": 39120}, square("18100"))])
    code, doc, _err = run_json(capsys, db_path, path)
    assert code == 0, doc["errors"]
    assert doc["by_type"]["boundaries"]["updated"] == 2
    assert any("18073 Phường Thành Sen: 2 đối tượng (1, 2)" in w and "MultiPolygon" in w for w in doc["warnings"])
    got = units(db_path, "18073")["18073"]
    shape = shapely.from_wkb(got.boundary)
    assert shape.geom_type == "MultiPolygon" and len(shape.geoms) == 2 and got.population == 45310

    # Parts that disagree on the population are named; nothing is written.
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][1]["properties"]["population"] = 100
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with Database.open(db_path) as db, pytest.raises(InvalidGisFileError) as exc:
        import_gis(db, path)
    assert "45310 (đối tượng 1), 100 (đối tượng 2)" in exc.value.problems[0].message


def test_communes_of_other_provinces_are_skipped_and_listed(tmp_path):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "ca_nuoc.geojson", [
        ({"code": "18073", "name": "Phường Thành Sen"}, square("18073")),
        ({"code": "05665", "name": "Xã Văn Lăng"}, square("05665"))])
    with Database.open(db_path) as db:
        result = import_gis(db, path)
    assert [b.code for b in result.boundaries] == ["18073"]
    assert any("05665" in w and "Thái Nguyên" in w and "tỉnh khác" in w for w in result.warnings)
    only_other = write(tmp_path / "thai_nguyen.geojson", [({"code": "05665", "name": "Xã Văn Lăng"},
                                                           square("05665"))])
    with Database.open(db_path) as db, pytest.raises(InvalidGisFileError) as exc:
        import_gis(db, only_other, as_record="boundaries")
    assert "42 Tỉnh Hà Tĩnh" in exc.value.problems[0].message


def test_feature_ids_are_not_unit_codes(tmp_path):
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "xa.geojson", [({"id": n, "name": name}, square(code)) for n, (code, name, *_r)
                                           in enumerate(HA_TINH, start=1)])
    with Database.open(db_path) as db:
        result = import_gis(db, path)
    assert result.groups[0].record == "boundaries" and result.groups[0].mapping["id"] is None
    assert sorted(b.code for b in result.boundaries) == sorted(c for c, *_r in HA_TINH)


def test_zones_carrying_their_commune_code_are_not_boundaries(tmp_path):
    # Undergrounding areas without a kind column: two in one commune, each with its commune's
    # code. Their polygons must never become the commune's boundary.
    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "ngam_hoa.geojson", [
        ({"ma_khu": f"NH-{k}", "ten_khu": f"Tuyến phố {k}", "ma_xa": "18073"}, square("18073", 0.003, dx=0.01 * k))
        for k in range(2)])
    with Database.open(db_path, readonly=True) as db:
        result = preview_gis(db, path)
    assert result.groups[0].record != "boundaries" and not result.boundaries


def test_a_name_that_begins_like_a_unit_type_keeps_it():
    from hatang_desktop.core.gis.boundaries import name_keys, name_variants

    # Phương Liệt, Tĩnh Gia, Xa Dung are names, not "Phường", "Tỉnh", "Xã" before a name.
    assert name_keys("Phường Phương Liệt") == name_keys("Phương Liệt") != name_keys("Liệt")
    assert name_keys("Phường Tĩnh Gia") == name_keys("Tĩnh Gia")
    # Typed without marks, "Phuong Liet" may be either: both readings are tried.
    assert name_keys("Phương Liệt")[1] in {v[1] for v in name_variants("Phuong Liet")}
    assert name_keys("Xã Xa Dung")[1] in {v[1] for v in name_variants("Xa Dung")}


def test_a_figure_written_after_the_file_was_read_is_compared_again(tmp_path, monkeypatch):
    # The file is read (and matched) before the write lock is taken; what is written is planned
    # again under the lock, against the units as they are then.
    from hatang_desktop.core.gis import importer

    db_path = fresh(tmp_path, "42")
    path = write(tmp_path / "xa.geojson", [({"code": "18073", "name": "Phường Thành Sen", "population": 45310},
                                            square("18073"))])
    with Database.open(db_path) as db:
        import_gis(db, path)
    read = importer._read

    def read_then_someone_writes(*args, **kwargs):
        out = read(*args, **kwargs)
        with Database.open(db_path) as other, other.operation("sửa dân số", user="other") as s:
            s.execute(text("UPDATE admin_units SET population = 40000 WHERE code = '18073'"))
        return out

    monkeypatch.setattr(importer, "_read", read_then_someone_writes)
    with Database.open(db_path) as db:
        result = import_gis(db, path)
    assert result.applied and [b.changes for b in result.boundaries] == [{"population": (40000, 45310)}]
    assert units(db_path, "18073")["18073"].population == 45310
