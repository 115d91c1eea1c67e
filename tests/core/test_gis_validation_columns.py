"""The GIS import validates a column at a time (parse_sheet's column-wise path, form_columns)
and finds what the row-by-row path finds: the same rows and the same problems (layer, feature,
attribute, value, message), in the same order, on files this project did not write and that
hold every kind of bad value."""

from __future__ import annotations

import itertools
import json
import uuid as uuidlib
from pathlib import Path

import pytest

from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.gis.importer import _read
from hatang_desktop.core.legacy_encodings import TCVN3_TO_UNICODE
from hatang_desktop.core.provinces_db import init_province_database


@pytest.fixture
def fresh(tmp_path):
    db = init_province_database(tmp_path / "empty.db", "42", user="tester")
    yield db
    db.close()


def _tcvn3(text: str) -> str:
    """Text typed in TCVN3 and read as Latin-1, as an old office file holds it."""
    back = {ch: b for b, ch in TCVN3_TO_UNICODE.items()}
    return bytes(back[ch] if ch in back else ord(ch) for ch in text).decode("latin-1")


def _write(path: Path, features: list[dict]) -> Path:
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    path.write_text(text.replace('"__NaN__"', "NaN"), encoding="utf-8")   # a bare NaN, as some tools write
    return path


def _point(x: float, y: float, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": props}


def _office_poles(folder: Path) -> Path:
    """An office's pole list: its own headers, unpadded codes, heights as numbers, text, NaN or
    nothing, materials and owners outside the lists, TCVN3 text, a key some features lack, a
    point outside Vietnam and one without geometry."""
    heights = [8.5, "10", "mười", None, "__NaN__", "NaN", -3, "1e9", 12]
    materials = ["Bê tông ly tâm", "betong", "Gỗ", None, "  ", "sắt???"]
    owners = ["Điện lực", _tcvn3("Điện lực Hà Tĩnh"), "EVN", None]
    features = []
    for i in range(240):
        props = {"SO_HIEU": str(i + 1) if i % 7 else f"  {i + 1:05d} ", "VAT_LIEU": materials[i % len(materials)],
                 "CHU_SO_HUU": owners[i % len(owners)], "CAO_M": heights[i % len(heights)],
                 "GHI_CHU": [None, "NaN", "cột bê tông ly tâm", ""][i % 4]}
        if i % 11 == 0:
            del props["CAO_M"]       # a key the feature does not have
        x, y = 105.88 + (i % 17) * 0.002, 18.33 + (i % 13) * 0.002
        if i == 50:
            x, y = 2.35, 48.85      # outside Vietnam
        features.append(_point(x, y, **props))
    features.append({"type": "Feature", "geometry": None, "properties": {"SO_HIEU": "999", "CAO_M": 9}})
    return _write(folder / "cot_dien.geojson", features)


def _office_zones(folder: Path) -> Path:
    """Zones with a self-intersecting ring, a ring of two points, a code missing, text in the
    fields the forms restrict."""
    square = [[105.9, 18.3], [105.91, 18.3], [105.91, 18.31], [105.9, 18.31], [105.9, 18.3]]
    bowtie = [[105.92, 18.3], [105.93, 18.31], [105.93, 18.3], [105.92, 18.31], [105.92, 18.3]]
    flat = [[105.94, 18.3], [105.95, 18.3], [105.94, 18.3]]
    features = []
    for i, ring in enumerate([square, bowtie, flat, square, square]):
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"Mã vùng": None if i == 3 else f"Z{i}", "Tên vùng": f"Vùng {i}",
                                        "Loại vùng": ["khu công nghiệp", "không biết", None, "KCN", 7][i]}})
    return _write(folder / "vung.geojson", features)


def _site_list(folder: Path) -> Path:
    """A plain table of sites (CSV): positions in DMS, swapped, blank; operators outside the list."""
    lines = ["Mã trạm,Doanh nghiệp,Vĩ độ,Kinh độ,Chiều cao cột (m)",
             "HT1,Viettel,18.36,105.81,30",
             "HT2,VNPT,105.9,18.34,ba mươi",
             "HT3,Công ty lạ,18°21'10\"N,105°48'30\"E,",
             "HT4,MobiFone,,105.8,25",
             "HT5,Viettel,48.85,2.35,NaN",
             ",Viettel,18.35,105.82,20"]
    path = folder / "tram.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _both(db, path: Path, monkeypatch, **how):
    """_read of `path` column-wise and row by row, new UUIDs drawn from the same sequence."""
    forms = load_forms()
    out = []
    for columnwise in (True, False):
        drawn = itertools.count(1)
        with monkeypatch.context() as m:
            m.setattr(uuidlib, "uuid4", lambda: uuidlib.UUID(int=next(drawn)))
            result, rows = _read(db, path, how.get("as_record"), how.get("mapping"), forms,
                                 lambda _s, _f: None, columnwise=columnwise)
        out.append((result, rows))
    return out


def _shown(rows) -> list:
    return [(r.record, r.row, r.uuid, r.is_new, r.version, r.deleted, r.values, r.parent_code,
             {k: v for k, v in r.extra.items() if k != "parent_row"}) for r in rows]


@pytest.mark.parametrize("make, how, at_least", [
    (_office_poles, {"as_record": "poles", "mapping": {"SO_HIEU": "code", "VAT_LIEU": "material",
                                                       "CHU_SO_HUU": "owner_kind", "CAO_M": "height_m",
                                                       "GHI_CHU": "note"}}, 60),
    (_office_zones, {"as_record": "zones"}, 3),
    (_site_list, {"as_record": "sites"}, 3),
], ids=["office_poles", "office_zones", "site_list"])
def test_columnwise_validation_finds_what_the_row_path_finds(make, how, at_least, fresh, tmp_path, monkeypatch):
    path = make(tmp_path)
    (quick, quick_rows), (careful, careful_rows) = _both(fresh, path, monkeypatch, **how)
    shown = [p.as_dict() for p in careful.problems]
    assert [p.as_dict() for p in quick.problems] == shown
    assert len(shown) >= at_least        # the file is as bad as it was made to be
    assert {p["where"] for p in shown} == {path.stem}
    assert _shown(quick_rows) == _shown(careful_rows)
    assert quick.warnings == careful.warnings


def test_poles_problems_name_each_kind_of_bad_value(fresh, tmp_path, monkeypatch):
    """What the comparison above covers: text in a number field, NaN, values outside the lists,
    a point outside Vietnam and a feature without geometry each get their message."""
    path = _office_poles(tmp_path)
    (result, rows), _ = _both(fresh, path, monkeypatch, as_record="poles",
                              mapping={"SO_HIEU": "code", "VAT_LIEU": "material", "CHU_SO_HUU": "owner_kind",
                                       "CAO_M": "height_m", "GHI_CHU": "note"})
    by_value = {}
    for p in result.problems:
        by_value.setdefault(p.value, []).append(p)
    assert "mười" in by_value and "sắt???" in by_value
    assert any("ngoài lãnh thổ" in p.message for p in result.problems)
    assert any("không có hình học" in p.message for p in result.problems)
    assert all(p.row is not None for p in result.problems)
