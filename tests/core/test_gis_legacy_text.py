"""Text typed in TCVN3 (ABC) or VNI in an old office's file, then saved as GeoJSON, GeoPackage or
CSV by a tool that took its bytes for Western text: every letter is there, spelled as
"§iÖn lùc". The import converts such a column to Unicode and says so; Unicode text beside it,
and Western text that is not Vietnamese, stay as they are."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from sqlalchemy import text

from hatang_desktop.core.gis import import_gis
from hatang_desktop.core.gis.values import convert_legacy

from .test_gis_validation_columns import _tcvn3 as as_tcvn3_read_as_latin1
from .test_gis_validation_columns import fresh as province  # noqa: F401 (a fixture: an empty province file)


ROADS = ["Đường Trần Phú", "Quốc lộ 1A", "Đường Hà Huy Tập", "Ngõ 12 Nguyễn Du", "Tỉnh lộ 8"]
NOTES = ["Cột bê tông ly tâm cạnh chợ", "Gần trường tiểu học", "Cột nghiêng, cần gia cố", "Đã sơn số hiệu"]


def _features(n: int = 60) -> list[dict]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        road, note = ROADS[i % len(ROADS)], NOTES[i % len(NOTES)]
        out.append({"type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [105.88 + rnd.random() * 0.03, 18.33 + rnd.random() * 0.03]},
                    "properties": {"SO_HIEU": f"C{i + 1}",
                                   # Every other owner typed in TCVN3, the rest in Unicode: one column, both.
                                   "CHU_SO_HUU": as_tcvn3_read_as_latin1("Điện lực") if i % 2 else "Điện lực",
                                   "DUONG": as_tcvn3_read_as_latin1(road),
                                   "GHI_CHU": as_tcvn3_read_as_latin1(note),
                                   # Western text that a TCVN3 reading would mangle: left alone.
                                   "NHA_SX": ["Société Générale d'Équipement", "Müller & Söhne", "São Paulo Ltda"][i % 3]}})
    return out


def _geojson(folder: Path) -> Path:
    path = folder / "cot_dien.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": _features()}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _gpkg(folder: Path) -> Path:
    """The same list through GDAL into a GeoPackage (read back then by GDAL's Arrow stream)."""
    import geopandas as gpd

    frame = gpd.GeoDataFrame.from_features(_features(), crs="EPSG:4326")
    path = folder / "cot_dien.gpkg"
    pyogrio.write_dataframe(frame, path, layer="cot_dien")
    return path


def _csv(folder: Path) -> Path:
    """The list as a spreadsheet saves it: lon/lat columns, the text as the tool misread it."""
    import csv

    path = folder / "cot_dien.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["SO_HIEU", "CHU_SO_HUU", "DUONG", "GHI_CHU", "NHA_SX", "lon", "lat"])
        for feature in _features():
            p, (x, y) = feature["properties"], feature["geometry"]["coordinates"]
            out.writerow([p["SO_HIEU"], p["CHU_SO_HUU"], p["DUONG"], p["GHI_CHU"], p["NHA_SX"], x, y])
    return path


@pytest.mark.parametrize("make", [_geojson, _gpkg, _csv], ids=["geojson", "geopackage", "csv"])
def test_tcvn3_columns_are_converted_and_said(province, tmp_path, make):
    path = make(tmp_path)
    mapping = {"SO_HIEU": "code", "CHU_SO_HUU": "owner_kind", "DUONG": "road", "GHI_CHU": "note", "NHA_SX": None}
    result = import_gis(province, path, as_record="poles", mapping=mapping, user="tester")
    assert not result.problems, [p.as_dict() for p in result.problems[:3]]
    with province.session() as s:
        rows = s.execute(text("SELECT code, owner_kind, road, note FROM poles WHERE deleted = 0 ORDER BY id")).all()
    assert len(rows) == 60
    assert {r.road for r in rows} == set(ROADS) and {r.note for r in rows} == set(NOTES)
    assert {r.owner_kind for r in rows} == {"power"}  # "Điện lực" in either spelling
    said = [w for w in result.warnings if "TCVN3" in w]
    assert {w.split("'")[3] for w in said} == {"CHU_SO_HUU", "DUONG", "GHI_CHU"}, said


def test_western_and_unicode_text_stay_as_they_are():
    western = np.array(["Société Générale", "Müller & Söhne", "São Paulo", None, "Điện lực"], dtype=object)
    cleaned = list(western)
    assert convert_legacy("NHA_SX", western, cleaned) is None and cleaned == list(western)
    tcvn3 = np.array([as_tcvn3_read_as_latin1(n) for n in NOTES] + ["Điện lực", None], dtype=object)
    cleaned = list(tcvn3)
    note = convert_legacy("GHI_CHU", tcvn3, cleaned)
    assert note and "TCVN3" in note and "GHI_CHU" in note
    assert cleaned == NOTES + ["Điện lực", None]
