"""Reference layers (core/reflayers): files other tools wrote, drawn where they belong, and the
list with its styles kept in the database across closing and reopening it."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from hatang_desktop.cli.main import main as hatang
from hatang_desktop.core import reflayers
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.geo import vn2000
from hatang_desktop.core.geo.projection import mercator_to_lonlat
from hatang_desktop.core.reflayers.raster import read_geotiff
from hatang_desktop.core.reflayers.vector import read_vector
from hatang_desktop.core.storage.database import Database

HA_TINH = 105.5
ESRI_PRJ = ('PROJCS["VN_2000_TM3_Ha_Tinh",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",'
            '6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
            'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
            'PARAMETER["Central_Meridian",105.5],PARAMETER["Scale_Factor",0.9999],'
            'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
# Known points of Hà Tĩnh (lon, lat): the road is drawn through them.
ROAD = [(105.8871, 18.3430), (105.9012, 18.3401), (105.9205, 18.3502)]


def lonlat(x, y):
    lon, lat = mercator_to_lonlat(np.asarray(x), np.asarray(y))
    return np.column_stack([lon, lat])


def write_vn2000_shapefile(folder: Path) -> Path:
    """Roads as a district office has them: a shapefile in VN-2000 TM-3 metres with ArcGIS's .prj."""
    north, east = vn2000.wgs84_to_vn2000([p[1] for p in ROAD], [p[0] for p in ROAD], meridian=HA_TINH)
    line = shapely.LineString(np.column_stack([east, north]))
    assert 500_000 < line.coords[0][0] < 600_000 and 2_000_000 < line.coords[0][1] < 2_100_000
    path = folder / "duong_bo.shp"
    frame = gpd.GeoDataFrame({"ten": ["Quốc lộ 1A"], "cap": [1]}, geometry=[line], crs=None)
    with warnings.catch_warnings():  # no CRS on purpose: the .prj is ArcGIS's, written below
        warnings.simplefilter("ignore", UserWarning)
        pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    path.with_suffix(".prj").write_text(ESRI_PRJ)
    return path


def test_a_vn2000_shapefile_is_drawn_through_its_known_points(tmp_path):
    data = read_vector(write_vn2000_shapefile(tmp_path))
    assert data.count == 1 and data.lines is not None and data.points is None
    got = lonlat(data.lines.x, data.lines.y)
    assert np.allclose(got, np.array(ROAD), atol=1e-6)  # ~0.1 m
    assert list(data.label_texts("ten")) == ["Quốc lộ 1A"]


def test_geojson_with_a_self_intersecting_polygon_and_a_nan(tmp_path):
    path = tmp_path / "thua_dat.geojson"
    # Written as web tools write it: a bow-tie parcel, a bare NaN in the properties.
    path.write_text("""{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"so_thua": 12, "dien_tich": NaN},
       "geometry": {"type": "Polygon", "coordinates": [[[105.90, 18.34], [105.91, 18.35], [105.91, 18.34],
                                                       [105.90, 18.35], [105.90, 18.34]]]}},
      {"type": "Feature", "properties": {"so_thua": 13, "dien_tich": 250.5},
       "geometry": {"type": "Polygon", "coordinates": [[[105.92, 18.34], [105.93, 18.34], [105.93, 18.35],
                                                       [105.92, 18.35], [105.92, 18.34]]]}}]}""")
    data = read_vector(path)
    assert data.count == 2
    rings = lonlat(data.polygons.x, data.polygons.y)
    # The bow-tie is drawn as its two triangles, both touching the crossing at (105.905, 18.345).
    bow = rings[data.polygons.vertex_feature == 0]
    assert np.isclose(bow[:, 0], 105.905, atol=1e-9).sum() >= 2
    assert shapely.is_valid(shapely.polygons(rings[data.polygons.vertex_feature == 1]))
    assert list(data.label_texts("dien_tich")) == ["", "250.5"]
    assert list(data.label_texts("so_thua")) == ["12", "13"]
    # Each parcel's label sits inside it.
    west, south, east, north = data.lonlat_bounds
    assert (west, south, east, north) == pytest.approx((105.90, 18.34, 105.93, 18.35))
    inside = lonlat(data.polygon_points.x, data.polygon_points.y)
    assert 105.92 < inside[1, 0] < 105.93 and 18.34 < inside[1, 1] < 18.35


def test_a_kmz_with_points_and_lines_in_folders(tmp_path):
    kml = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Folder><name>Cầu</name><Placemark><name>Cầu Cày</name>
  <Point><coordinates>105.9100,18.3450,0</coordinates></Point></Placemark></Folder>
<Folder><name>Sông</name><Placemark><name>Sông Rào Cái</name>
  <LineString><coordinates>105.88,18.33,0 105.95,18.36,0</coordinates></LineString></Placemark></Folder>
</Document></kml>"""
    path = tmp_path / "giao_thong.kmz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("doc.kml", kml)
    data = read_vector(path)
    assert data.count == 2
    assert lonlat(data.points.x, data.points.y) == pytest.approx(np.array([[105.91, 18.345]]), abs=1e-9)
    assert lonlat(data.lines.x, data.lines.y) == pytest.approx(np.array([[105.88, 18.33], [105.95, 18.36]]), abs=1e-9)
    assert set(data.label_texts("Name")) == {"Cầu Cày", "Sông Rào Cái"} or set(data.label_texts("name")) == {
        "Cầu Cày", "Sông Rào Cái"}


def write_two_layer_geopackage(folder: Path) -> Path:
    path = folder / "quy_hoach.gpkg"
    roads = gpd.GeoDataFrame({"ten": ["Đường Hà Huy Tập"]}, geometry=[shapely.LineString(ROAD)], crs=4326)
    parcels = gpd.GeoDataFrame({"ma": ["TS-01"]}, geometry=[shapely.box(105.90, 18.34, 105.91, 18.35)], crs=4326)
    # The parcels layer in Web Mercator: each layer keeps its own CRS.
    pyogrio.write_dataframe(roads, path, layer="duong", driver="GPKG")
    pyogrio.write_dataframe(parcels.to_crs(3857), path, layer="thua", driver="GPKG", append=True)
    return path


def test_a_geopackage_with_two_layers_needs_one_chosen(tmp_path):
    path = write_two_layer_geopackage(tmp_path)
    with pytest.raises(InvalidInputError, match="2 lớp.*duong.*thua|choose one"):
        read_vector(path)
    parcels = read_vector(path, "thua")
    assert parcels.lonlat_bounds == pytest.approx((105.90, 18.34, 105.91, 18.35), abs=1e-9)
    assert read_vector(path, "duong").lines is not None
    with pytest.raises(InvalidInputError, match="không có lớp 'song'"):
        read_vector(path, "song")


gdal_translate = shutil.which("gdal_translate")


def make_geotiff(folder: Path, srs: str, ullr: tuple[float, float, float, float]) -> Path:
    """A 40x60 image, red on its north half and blue on its south half, georeferenced by GDAL."""
    from PIL import Image

    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:20, :, 0] = 255
    pixels[20:, :, 2] = 255
    png = folder / "plan.png"
    Image.fromarray(pixels).save(png)
    out = folder / f"plan_{srs.replace(':', '_')}.tif"
    subprocess.run([gdal_translate, "-q", "-of", "GTiff", "-co", "COMPRESS=DEFLATE", "-a_srs", srs, "-a_ullr",
                    *map(str, ullr), str(png), str(out)], check=True)
    return out


def colour_at(raster, lon: float, lat: float) -> tuple[int, ...]:
    from hatang_desktop.core.geo.projection import lonlat_to_mercator

    x, y = lonlat_to_mercator(lon, lat)
    x0, y0, x1, y1 = raster.bounds
    rows, cols = raster.rgba.shape[:2]
    col = int((float(x) - x0) / (x1 - x0) * cols)
    row = int((y1 - float(y)) / (y1 - y0) * rows)
    return tuple(int(v) for v in raster.rgba[row, col])


@pytest.mark.skipif(gdal_translate is None, reason="GDAL's gdal_translate is not installed")
def test_a_geotiff_in_wgs84_is_drawn_on_its_place(tmp_path):
    raster = read_geotiff(make_geotiff(tmp_path, "EPSG:4326", (105.90, 18.36, 105.96, 18.32)))
    assert raster.lonlat_bounds == pytest.approx((105.90, 18.32, 105.96, 18.36), abs=1e-6)
    assert colour_at(raster, 105.93, 18.355) == (255, 0, 0, 255)   # north half
    assert colour_at(raster, 105.93, 18.325) == (0, 0, 255, 255)   # south half


@pytest.mark.skipif(gdal_translate is None, reason="GDAL's gdal_translate is not installed")
def test_a_geotiff_in_vn2000_is_warped_with_the_official_parameters(tmp_path):
    north, east = vn2000.wgs84_to_vn2000(18.34, 105.92, meridian=HA_TINH)
    ullr = (east - 3000, north + 2000, east + 3000, north - 2000)  # 6 x 4 km around the point
    raster = read_geotiff(make_geotiff(tmp_path, "EPSG:9209", ullr))  # VN-2000 / TM-3 105-30
    # The image's middle row (north edge of the blue half) is the point's northing.
    assert colour_at(raster, 105.92, 18.34 + 0.002) == (255, 0, 0, 255)
    assert colour_at(raster, 105.92, 18.34 - 0.002) == (0, 0, 255, 255)
    west, south, east_, north_ = raster.lonlat_bounds
    assert west < 105.92 - 0.027 and east_ > 105.92 + 0.027 and south < 18.34 - 0.017 < 18.34 + 0.017 < north_


def test_a_tiff_without_georeferencing_is_refused_with_a_reason(tmp_path):
    from PIL import Image

    path = tmp_path / "scan.tif"
    Image.new("RGB", (10, 10), "white").save(path)
    with pytest.raises(InvalidInputError, match="không có thông tin vị trí.*no georeferencing"):
        read_geotiff(path)


# -- the list in the database --------------------------------------------------------------------


def test_style_and_order_survive_closing_and_reopening(sample_db_path, tmp_path, tmp_path_factory):
    inside = sample_db_path.parent / "lop" / "thua_dat.gpkg"
    inside.parent.mkdir()
    shutil.copy(write_two_layer_geopackage(tmp_path), inside)
    outside = write_vn2000_shapefile(tmp_path_factory.mktemp("elsewhere"))
    with Database.open(sample_db_path) as db:
        roads, opened = reflayers.add_layer(db, outside, colour="#d04010", width=2.5, label="ten")
        assert opened.vector.count == 1
        parcels, _ = reflayers.add_layer(db, inside, layer="thua", name="Thửa đất", fill=True)
        reflayers.update_layer(db, "Thửa đất", opacity=0.6, label="ma", visible=False)
    with Database.open(sample_db_path, readonly=True) as db:
        layers = reflayers.load(db)
        raw = json.loads(db.meta("reference_layers"))
    assert [x.name for x in layers] == ["Thửa đất", "duong_bo"]   # the last added on top
    top, bottom = layers
    assert top.path == "lop/thua_dat.gpkg" and top.layer == "thua"      # relative: under the db's folder
    assert (top.fill, top.opacity, top.label, top.visible) == (True, 0.6, "ma", False)
    assert Path(bottom.path).is_absolute() and bottom.path == str(outside.resolve())
    assert (bottom.colour, bottom.width, bottom.label) == ("#d04010", 2.5, "ten")
    assert raw[0]["name"] == "Thửa đất"
    # The database's folder moved elsewhere: the relative layer still opens.
    moved = tmp_path / "moved"
    shutil.copytree(sample_db_path.parent, moved, ignore=shutil.ignore_patterns("*.bak*"))
    with Database.open(moved / sample_db_path.name, readonly=True) as db:
        entry = reflayers.load(db)[0]
        assert reflayers.open_layer(entry, db.path).vector.lonlat_bounds == pytest.approx(
            (105.90, 18.34, 105.91, 18.35), abs=1e-9)


def test_a_missing_file_is_a_bilingual_error_not_a_crash(sample_db_path, tmp_path):
    shp = write_vn2000_shapefile(tmp_path)
    with Database.open(sample_db_path) as db:
        entry, _ = reflayers.add_layer(db, shp)
    for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        shp.with_suffix(suffix).unlink(missing_ok=True)
    with Database.open(sample_db_path, readonly=True) as db:
        (entry,) = reflayers.load(db)
        with pytest.raises(InvalidInputError) as caught:
            reflayers.open_layer(entry, db.path)
    assert "không tìm thấy tệp" in str(caught.value) and "file not found" in str(caught.value)


def test_a_table_without_geometry_is_refused(sample_db_path, tmp_path):
    import pandas as pd

    path = tmp_path / "bang.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"ma": ["A", "B"]}), path, layer="bang", driver="GPKG")
    with Database.open(sample_db_path) as db:
        with pytest.raises(InvalidInputError, match="nothing with a geometry to draw"):
            reflayers.add_layer(db, path)
        assert reflayers.load(db) == []


def test_a_damaged_list_counts_as_none(sample_db_path):
    from hatang_desktop.core.storage.database import set_meta

    with Database.open(sample_db_path) as db:
        with db.operation("test") as s:
            set_meta(s, "reference_layers", '[{"name": "a", "path": "a.geojson", "colour": "đỏ"}, 7, "x"')
        assert reflayers.load(db) == []
        with db.operation("test") as s:
            set_meta(s, "reference_layers", '[{"name": "a", "path": "a.geojson", "colour": "đỏ"}, 7]')
        (only,) = reflayers.load(db)
        assert only.name == "a" and only.colour == reflayers.RefLayer("a", "a").colour


def test_the_command(sample_db_path, tmp_path, capsys):
    gpkg = write_two_layer_geopackage(tmp_path)
    db = str(sample_db_path)
    assert hatang(["layers", "add", db, str(gpkg)]) == 2
    assert "chọn một" in capsys.readouterr().err
    assert hatang(["layers", "add", db, str(gpkg), "--layer", "duong", "--name", "Đường", "--colour", "#3366cc",
                   "--width", "3", "--label", "ten"]) == 0
    assert "Đã thêm lớp tham chiếu" in capsys.readouterr().out
    assert hatang(["layers", "add", db, str(gpkg), "--layer", "thua", "--fill", "--label", "khong_co"]) == 2
    assert "no attribute 'khong_co'" in capsys.readouterr().err
    assert hatang(["layers", "add", db, str(gpkg), "--layer", "thua", "--colour", "blue"]) == 2
    assert "#RRGGBB" in capsys.readouterr().err
    assert hatang(["layers", "add", db, str(tmp_path / "khong_co.geojson")]) == 2
    assert "file not found" in capsys.readouterr().err
    assert hatang(["layers", "add", db, str(gpkg), "--layer", "thua", "--fill"]) == 0
    capsys.readouterr()
    assert hatang(["layers", "list", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(x["name"], x["fill"], x["found"]) for x in listed] == [("thua", True, True), ("Đường", False, True)]
    assert listed[1]["colour"] == "#3366cc" and listed[1]["width"] == 3.0 and listed[1]["label"] == "ten"
    assert hatang(["layers", "remove", db, "Sông"]) == 2
    assert "no reference layer 'Sông'" in capsys.readouterr().err
    assert hatang(["layers", "remove", db, "thua"]) == 0
    capsys.readouterr()
    assert hatang(["layers", "list", db]) == 0
    out = capsys.readouterr().out
    assert "Đường" in out and "thua" not in out
