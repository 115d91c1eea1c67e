"""The QGIS project opened by QGIS itself (Debian's python3-qgis, run by /usr/bin/python3 in a
subprocess: its PyQt5 never meets the app's PySide6), against a throwaway PostGIS whose tables
have the schema's columns plus `shape`, as the department's server has.

Skipped, with the reason, where python3-qgis is not installed (`apt-get install python3-qgis`);
the PostGIS part also where PostgreSQL 15 + PostGIS 3 are missing. The XML itself is checked
everywhere by test_qgis_project.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from hatang_desktop.core import schema
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.operators import OPERATORS
from hatang_desktop.core.server.qgis_project import LAYERS, write_qgis_project
from hatang_desktop.core.storage.migrations import migrate

QGIS_PYTHON = "/usr/bin/python3"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _qgis_missing() -> str | None:
    if not Path(QGIS_PYTHON).exists():
        return f"{QGIS_PYTHON} not found"
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True,
                           env=_qgis_env(), timeout=60)
    return None if probe.returncode == 0 else "python3-qgis not installed (apt-get install python3-qgis)"


def _qgis_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PG"))}
    return env | {"QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": _runtime_dir()}


def _runtime_dir() -> str:
    """A private runtime folder, as Qt wants one (0700), shared by the test's QGIS runs."""
    path = Path(tempfile.gettempdir()) / f"hatang-qgis-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path)


pytestmark = pytest.mark.skipif(bool(reason := _qgis_missing()), reason=reason or "")

# Reads the project as QGIS does and says what it found, one JSON document.
LOAD = r"""
import json, sys
from qgis.core import (QgsApplication, QgsDataSourceUri, QgsExpression, QgsExpressionContext,
                       QgsExpressionContextUtils, QgsProject, QgsRenderContext, QgsSymbolLayer, QgsWkbTypes)
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
out = {"read": project.read(sys.argv[1]), "crs": project.crs().authid(), "title": project.title(),
       "tree": [n.name() for n in project.layerTreeRoot().findLayers()], "layers": {}}
formatters = QgsApplication.fieldFormatterRegistry()
probes = json.loads(sys.argv[2])
for layer in project.mapLayers().values():
    uri = QgsDataSourceUri(layer.source())
    fields = [f.name() for f in layer.fields()]
    info = {"name": layer.name(), "valid": layer.isValid(), "provider": layer.providerType(),
            "schema": uri.schema(), "table": uri.table(), "geometry_column": uri.geometryColumn(),
            "uri_type": QgsWkbTypes.displayString(uri.wkbType()), "sql": uri.sql(),
            "alias_map": layer.attributeAliases(), "renderer": layer.renderer().type()}
    if layer.isValid():
        info.update({
            "wkb": QgsWkbTypes.displayString(layer.wkbType()), "crs": layer.crs().authid(),
            "fields": fields, "count": sum(1 for _ in layer.getFeatures()),
            "aliases": {f: layer.attributeAlias(i) for i, f in enumerate(fields)},
            "widgets": {f: layer.editorWidgetSetup(i).type() for i, f in enumerate(fields)},
            "categories": [[c.value(), c.label(), c.symbol().color().name()]
                           for c in getattr(layer.renderer(), "categories", lambda: [])()],
            "shown": {}})
        # Every data-defined property (a site's shape, a route's dashes) evaluated on every feature.
        context = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
        evaluated = info["data_defined"] = {}
        for symbol in layer.renderer().symbols(QgsRenderContext()):
            for sl in symbol.symbolLayers():
                props = sl.dataDefinedProperties()
                for key in props.propertyKeys():
                    prop = props.property(key)
                    assert not QgsExpression(prop.expressionString()).hasParserError(), prop.expressionString()
                    for feature in layer.getFeatures():
                        context.setFeature(feature)
                        value, ok = prop.valueAsString(context, "")
                        assert ok, prop.expressionString()
                        evaluated.setdefault(str(key), set()).add(value)
        info["data_defined"] = {k: sorted(v) for k, v in evaluated.items()}
        for field, value in probes.get(uri.table(), {}).items():
            i = fields.index(field)
            setup = layer.editorWidgetSetup(i)
            formatter = formatters.fieldFormatter(setup.type())
            # No cache: the formatter builds its own (PyQGIS cannot carry a ValueRelation cache).
            info["shown"][field] = formatter.representValue(layer, i, setup.config(), None, value)
    out["layers"][uri.table()] = info
out["keys"] = {"name": int(QgsSymbolLayer.PropertyName), "strokeStyle": int(QgsSymbolLayer.PropertyStrokeStyle)}
print(json.dumps(out, ensure_ascii=False))
app.exitQgis()
"""


def open_in_qgis(project: Path, probes: dict | None = None) -> dict:
    result = subprocess.run([QGIS_PYTHON, "-c", LOAD, str(project), json.dumps(probes or {})],
                            capture_output=True, text=True, env=_qgis_env(), timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


EXPECTED = {s.table: s.wkb for s in LAYERS}


def test_qgis_reads_the_project_without_a_server(tmp_path):
    """No server answering: QGIS still reads every layer's source, style and aliases (a user
    whose VPN is down sees the layers marked unavailable, not a broken project)."""
    out = tmp_path / "offline.qgz"
    write_qgis_project({"host": "127.0.0.1", "port": "9", "dbname": "hatang"}, out,
                       province_name="Hà Tĩnh")
    found = open_in_qgis(out)
    assert found["read"] is True and found["crs"] == "EPSG:4326"
    assert found["title"] == "Hạ tầng viễn thông - Hà Tĩnh"
    assert found["tree"] == [schema.record_label(t, "vi", plural=True) for t in reversed(EXPECTED)]
    assert set(found["layers"]) == set(EXPECTED)
    for table, info in found["layers"].items():
        assert info["provider"] == "postgres" and info["schema"] == "public"
        assert info["geometry_column"] == "shape" and info["uri_type"] == EXPECTED[table]
        assert info["sql"].startswith("deleted = 0")
        assert info["renderer"] == ("singleSymbol" if table == "poles" else "categorizedSymbol")
        for column, label in info["alias_map"].items():
            if schema.field(table, column) is not None:
                assert label == schema.field_label(table, column), (table, column)


# -- against PostGIS ---------------------------------------------------------------------------

SQUARE = "MULTIPOLYGON(((105.8 18.2,106.0 18.2,106.0 18.4,105.8 18.4,105.8 18.2)))"
# Rows written as QGIS writes them: the shape only. The server's triggers fill the rest (uuid,
# version, lat/lon, WKB, bounding box, length, area), so the tables' NOT NULL columns hold.
QGIS_ROWS = f"""
    INSERT INTO admin_units (code, name, level, unit_type, parent_code, shape) VALUES
      ('42', 'Tỉnh Hà Tĩnh', 'province', 'Tỉnh', NULL, ST_GeomFromText('{SQUARE}', 4326)),
      ('18073', 'Phường Thành Sen', 'commune', 'Phường', '42', ST_GeomFromText('{SQUARE}', 4326)),
      ('1807301', 'Tổ dân phố 1', 'village', 'Tổ dân phố', '18073', NULL);
    INSERT INTO zones (code, name, kind, shape) VALUES
      ('KCN-1', 'KCN Vũng Áng', 'industrial_park', ST_GeomFromText('{SQUARE}', 4326));
    INSERT INTO fibre_routes (code, operator_code, method, level, shape) VALUES
      ('R1', 'VNPT', 'duct', 'access', ST_GeomFromText('LINESTRING(105.85 18.3,105.95 18.35)', 4326));
    INSERT INTO poles (code, owner_kind, shape) VALUES ('P1', 'power', ST_SetSRID(ST_MakePoint(105.9, 18.33), 4326));
    INSERT INTO sites (site_code, operator_code, tower_type, status, commune_code, in_passive_plan, deleted, shape)
    VALUES ('HT-1', 'VTL', 'ground_tower', 'operating', '18073', 1, 0, ST_SetSRID(ST_MakePoint(105.9, 18.3), 4326)),
           ('HT-2', 'MBF', 'rooftop_pole', 'operating', '18073', 0, 1, ST_SetSRID(ST_MakePoint(105.91, 18.3), 4326));
    INSERT INTO findings (severity, status, found_on, shape) VALUES
      ('violation', 'open', '2026-11-30', ST_SetSRID(ST_MakePoint(105.9, 18.31), 4326));
"""


@pytest.fixture
def postgis(pg_server):
    """A real server schema (`create_schema`, as `hatang server init` makes it) holding one row of
    each layer, written through `shape` as QGIS writes."""
    from hatang_desktop.core.server.database import create_schema
    from hatang_desktop.core.storage.targets import parse_server_url

    url = pg_server.new_database("qgis")
    create_schema(parse_server_url(url))
    dbname = url.rsplit("/", 1)[1]
    pg_server.sql(QGIS_ROWS, dbname)
    return {"host": "127.0.0.1", "port": str(pg_server.port), "dbname": dbname, "user": "postgres"}


def test_qgis_opens_every_layer_on_postgis(postgis, tmp_path):
    out = tmp_path / "server.qgz"
    write_qgis_project(postgis, out)
    probes = {"sites": {"status": "operating", "tower_type": "ground_tower", "operator_code": "VTL",
                        "in_passive_plan": 1, "commune_code": "18073"},
              "findings": {"severity": "violation"}, "admin_units": {"level": "commune"}}
    found = open_in_qgis(out, probes)
    assert found["read"] is True
    columns = {}
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    for spec in LAYERS:
        columns[spec.table] = [r[1] for r in conn.execute(f"PRAGMA table_info({spec.table})")]
    for table, info in found["layers"].items():
        assert info["valid"], table
        assert info["provider"] == "postgres" and info["table"] == table
        assert info["wkb"] == EXPECTED[table] and info["crs"] == "EPSG:4326"
        assert info["fields"] == columns[table]  # shape is the geometry, not a field
        for column in columns[table]:
            if schema.field(table, column) is not None:
                assert info["aliases"][column] == schema.field_label(table, column), (table, column)
    counts = {t: i["count"] for t, i in found["layers"].items()}
    # Tombstones and villages are not drawn: the deleted site and the village are left out.
    assert counts == {"admin_units": 2, "zones": 1, "fibre_routes": 1, "poles": 1, "sites": 1, "findings": 1}
    sites = found["layers"]["sites"]
    assert sites["widgets"]["status"] == "ValueMap" and sites["widgets"]["commune_code"] == "ValueRelation"
    assert sites["categories"] == [[op.code, op.brand, op.colour] for op in OPERATORS]
    assert sites["shown"] == {"status": "Đang hoạt động", "tower_type": "Cột tự đứng trên mặt đất",
                              "operator_code": "Viettel", "in_passive_plan": "Có",
                              "commune_code": "Phường Thành Sen"}
    assert found["layers"]["findings"]["shown"] == {"severity": "Vi phạm"}
    assert found["layers"]["admin_units"]["shown"] == {
        "level": load_forms().lists["admin_levels"].label("commune", "vi")}
    assert [c[0] for c in found["layers"]["fibre_routes"]["categories"]] == [op.code for op in OPERATORS]
    # The one live site is a ground tower: a triangle, as in the app; the route is in a duct: dashed.
    assert sites["data_defined"] == {str(found["keys"]["name"]): ["triangle"]}
    assert found["layers"]["fibre_routes"]["data_defined"] == {str(found["keys"]["strokeStyle"]): ["dash"]}
