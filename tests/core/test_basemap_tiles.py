"""Tile arithmetic, source templates and the area of a commune or province for a basemap download."""

import pytest

from hatang_desktop.core import mbtiles
from hatang_desktop.core.basemap import areas
from hatang_desktop.core.basemap.sources import SourceRefused, load_presets, resolve_source
from hatang_desktop.core.basemap.tiles import BBox, estimate, parse_zoom_range, tile_ranges, tile_xy, tms_row
from hatang_desktop.core.errors import InvalidInputError


def test_tile_of_a_point_matches_the_map_reader():
    # core/mbtiles draws tiles by their Mercator bounds: the tile we compute must hold the point.
    from hatang_desktop.core.geo.projection import lonlat_to_mercator
    for lon, lat, z in [(105.9, 18.34, 14), (-0.1, 51.5, 10), (0.0, 0.0, 3), (179.9, -85, 5)]:
        x, y = tile_xy(lon, lat, z)
        x0, y0, x1, y1 = mbtiles.TileKey(z, x, y).bounds()
        mx, my = lonlat_to_mercator(lon, lat)
        assert x0 <= mx <= x1 and y0 <= my <= y1


def test_tms_row_flips_both_ways():
    assert tms_row(0, 0) == 0 and tms_row(3, 0) == 7 and tms_row(3, tms_row(3, 2)) == 2


def test_ranges_cover_the_box_and_stop_at_tile_lines():
    whole = tile_ranges(BBox(-180, -85, 180, 85), 0, 2)
    assert [r.count for r in whole] == [1, 4, 16]
    # A box ending exactly on a tile line does not take the next column/row.
    q = tile_ranges(BBox(0, 0, 180, 85), 1, 1)[0]
    assert (q.x0, q.x1, q.y0, q.y1) == (1, 1, 0, 0)
    assert estimate(BBox(105.85, 18.30, 105.95, 18.40), 10, 14, 15000).per_zoom == {
        10: 2, 11: 2, 12: 6, 13: 12, 14: 30}


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "106,18,105,19", "105,18,106,95"])
def test_bad_boxes_are_refused(text):
    with pytest.raises(InvalidInputError):
        BBox.parse(text)


def test_zoom_ranges():
    assert parse_zoom_range("10-17") == (10, 17) and parse_zoom_range("15") == (15, 15)
    for bad in ("17-10", "x", "0-23", "-3"):
        with pytest.raises(InvalidInputError):
            parse_zoom_range(bad)


def test_url_templates_xyz_and_tms():
    xyz = resolve_source("https://t.example.vn/a/{z}/{x}/{y}.jpg")
    assert xyz.tile_url(3, 5, 1) == "https://t.example.vn/a/3/5/1.jpg" and xyz.format == "jpg"
    assert resolve_source("https://t.example.vn/{z}/{x}/{-y}.png").tile_url(3, 5, 1).endswith("/3/5/6.png")
    assert resolve_source("https://t.example.vn/{z}/{x}/{y}.png", tms=True).tile_url(3, 5, 1).endswith("/3/5/6.png")
    wmts = resolve_source("https://t.example.vn/wmts/nen/GoogleMapsCompatible/{TileMatrix}/{TileRow}/{TileCol}.png")
    assert wmts.tile_url(3, 5, 1).endswith("/GoogleMapsCompatible/3/1/5.png")
    with pytest.raises(InvalidInputError, match="không nhận {Style}"):
        resolve_source("https://t.example.vn/wmts/{Style}/{TileMatrix}/{TileRow}/{TileCol}.png")
    assert xyz.attribution == "t.example.vn"  # the host, until the department names itself
    # A key in the URL is not what the part file remembers.
    assert "secret" not in resolve_source("https://t.example.vn/{z}/{x}/{y}.png?key=secret").key


def test_presets_shipped_are_all_refused_with_their_terms():
    presets = load_presets()
    assert presets and not any(s.offline for s in presets.values())
    assert all(s.terms.startswith("https://") for s in presets.values())
    with pytest.raises(SourceRefused, match="opentopomap.org/about"):
        resolve_source("opentopomap")


def test_a_preset_list_can_enable_a_source(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("sources:\n  - name: so\n    url: https://tiles.so.gov.vn/{z}/{x}/{y}.png\n    offline: true\n"
                 "    attribution: © Sở\n", encoding="utf-8")
    s = resolve_source("so", presets_path=f)
    assert s.offline and s.attribution == "© Sở"


def test_commune_box_from_the_unit_list_is_approximate_around_its_centre():
    a = areas.resolve_area(commune="18073", margin=0)  # Phường Thành Sen, 18.3419 N 105.903 E, 28 km²
    assert a.approximate and a.label == "Phường Thành Sen (18073)"
    assert a.bbox.west < 105.903 < a.bbox.east and a.bbox.south < 18.3419 < a.bbox.north
    side_km = (a.bbox.north - a.bbox.south) * areas.KM_PER_DEG_LAT
    assert side_km == pytest.approx(28.23 ** 0.5 * areas.APPROX_WIDEN, rel=1e-6)
    wide = areas.resolve_area(commune="18073").bbox  # the default margin: 10% each side
    assert (wide.north - wide.south) == pytest.approx((a.bbox.north - a.bbox.south) * 1.2)
    assert (wide.east + wide.west) / 2 == pytest.approx((a.bbox.east + a.bbox.west) / 2)


def test_province_box_holds_its_communes():
    a = areas.resolve_area(province="42")
    c = areas.resolve_area(commune="18073").bbox
    assert a.bbox.west <= c.west and a.bbox.east >= c.east and a.bbox.south <= c.south and a.bbox.north >= c.north


def test_commune_box_from_the_database_is_its_boundary(sample_db_path):
    from sqlalchemy import select

    from hatang_desktop.core.model import AdminUnit
    from hatang_desktop.core.storage.database import Database

    with Database.open(sample_db_path, readonly=True) as db, db.session() as s:
        u = s.scalars(select(AdminUnit).where(AdminUnit.code == "18073")).one()
        expected = (u.min_lon, u.min_lat, u.max_lon, u.max_lat)
    a = areas.resolve_area(commune="18073", db=sample_db_path, margin=0)
    assert (a.bbox.west, a.bbox.south, a.bbox.east, a.bbox.north) == expected
    assert a.approximate  # the sample's boundaries are synthetic


def test_unknown_units_and_two_areas_are_refused(sample_db_path):
    with pytest.raises(InvalidInputError, match="99999"):
        areas.resolve_area(commune="99999")
    with pytest.raises(InvalidInputError, match="99999"):
        areas.resolve_area(commune="99999", db=sample_db_path)
    with pytest.raises(InvalidInputError, match="đúng một"):
        areas.resolve_area(commune="18073", bbox="1,2,3,4")
