"""Every GIS export has the same layers with the same attribute types, whatever values it holds,
so that the department appends the communes' files into one GeoPackage (ogr2ogr -append, as QGIS
users merge layers) and keeps numbers as numbers.

Before the types were the forms', a commune where no site had a GPS fix exported "Độ chính xác
GPS (m)" and "Số vệ tinh GPS" as String (an integer field with a gap became Real): appending the
next commune's file into it stored its 2.5 m as the text "2.5", which QGIS sorts and filters as
text."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pyogrio
import pytest

from hatang_desktop.core.gis.layers import LAYER_ORDER

from .fault_env import hatang

HEIGHT, ACCURACY, SATELLITES = "Chiều cao cột (m)", "Độ chính xác GPS (m)", "Số vệ tinh GPS"


def _two_communes(path) -> tuple[str, str]:
    """The sample's two largest communes, bent apart: in the first every height is a whole number
    and no site has a GPS fix; in the second one site is 30.5 m with a fix of 2.5 m, 9 satellites."""
    con = sqlite3.connect(path)
    first, second = [c for (c,) in con.execute(
        "SELECT commune_code FROM sites GROUP BY commune_code ORDER BY count(*) DESC LIMIT 2")]
    con.execute("UPDATE sites SET height_m = round(coalesce(height_m, 30)), gnss_accuracy_m = NULL, "
                "gnss_satellites = NULL WHERE commune_code = ?", (first,))
    con.execute("UPDATE poles SET height_m = 8 WHERE commune_code = ?", (first,))
    con.execute("UPDATE sites SET gnss_accuracy_m = NULL, gnss_satellites = NULL WHERE commune_code = ?", (second,))
    con.execute("UPDATE sites SET height_m = 30.5, gnss_accuracy_m = 2.5, gnss_satellites = 9, name = 'Trạm nửa mét' "
                "WHERE id = (SELECT min(id) FROM sites WHERE commune_code = ?)", (second,))
    con.commit()
    con.close()
    return first, second


def _schema(path) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for layer in LAYER_ORDER:
        info = pyogrio.read_info(path, layer=layer)
        out[layer] = list(zip(info["fields"], map(str, info["dtypes"]), strict=True))
    return out


def test_commune_exports_share_one_schema_and_append_without_loss(sample_db_path, tmp_path):
    first, second = _two_communes(sample_db_path)
    files = {}
    for commune in (first, second):
        files[commune] = tmp_path / f"xa_{commune}.gpkg"
        done = hatang("export", sample_db_path, files[commune], "--commune", commune)
        assert done.returncode == 0, done.stderr
    whole = tmp_path / "ca_tinh.gpkg"
    assert hatang("export", sample_db_path, whole).returncode == 0

    schemas = [_schema(p) for p in (files[first], files[second], whole)]
    assert schemas[0] == schemas[1] == schemas[2]
    sites = dict(schemas[0]["sites"])
    assert sites[HEIGHT] == sites[ACCURACY] == "float64" and sites[SATELLITES] == "int64"
    assert dict(schemas[0]["poles"])[HEIGHT] == "float64"

    if shutil.which("ogr2ogr") is None:
        pytest.skip("GDAL's ogr2ogr is not installed")
    merged = tmp_path / "so.gpkg"
    shutil.copyfile(files[first], merged)
    done = subprocess.run(["ogr2ogr", "-append", "-nln", "sites", str(merged), str(files[second]), "sites"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    frame = pyogrio.read_dataframe(merged, layer="sites")
    half = frame[frame["Tên trạm"] == "Trạm nửa mét"]
    assert len(half) == 1
    assert half[HEIGHT].iloc[0] == 30.5 and half[ACCURACY].iloc[0] == 2.5 and half[SATELLITES].iloc[0] == 9
    counts = {c: int((frame["UUID"].isin(pyogrio.read_dataframe(files[c], layer="sites")["UUID"])).sum())
              for c in (first, second)}
    assert counts == {c: pyogrio.read_info(files[c], layer="sites")["features"] for c in (first, second)}
