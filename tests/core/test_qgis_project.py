"""`hatang server qgis-project`: the QGIS project's XML, read back as QGIS would find it.

The tables and columns are read here from the schema's SQL files themselves (not through the
module under test), so a layer naming a table or column the schema lacks is caught.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from hatang_desktop.core import schema
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.operators import OPERATORS
from hatang_desktop.core.storage.targets import parse_server_url
from hatang_desktop.core.server.qgis_project import (
    ServerUrlError,
    check_conninfo,
    write_qgis_project,
)

STORAGE = Path(schema.__file__).parent / "storage"
EXPECTED = {  # table -> geometry type, bottom to top
    "admin_units": "MultiPolygon", "zones": "MultiPolygon", "fibre_routes": "LineString",
    "poles": "Point", "sites": "Point", "findings": "Point",
}
CONNINFO = {"host": "so-tt.example", "port": "5433", "dbname": "hatang", "user": "analyst"}


def schema_columns() -> dict[str, list[str]]:
    """Tables and their columns, from schema_0001.sql .. schema_0005.sql as written."""
    tables: dict[str, list[str]] = {}
    for path in sorted(STORAGE.glob("schema_000*.sql")):
        sql = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
        for name, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", sql, re.S):
            tables[name] = []
            for line in body.splitlines():  # one column a line, or several ("min_lon REAL, min_lat REAL")
                typed = re.findall(r"(?:^|,)\s*(\w+)\s+(?:INTEGER|TEXT|REAL|BLOB|DATE)\b", line.strip())
                untyped = re.findall(r"^\s*(\w+),?\s*$", line)  # change_log's old_value, new_value
                tables[name] += typed or untyped
        for name, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", sql):
            tables[name].append(column)
    return tables


def read_qgs(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert len(names) == 1 and names[0].endswith(".qgs")
        return etree.fromstring(z.read(names[0]))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    out = tmp_path_factory.mktemp("qgis") / "ha_tinh.qgz"
    names = write_qgis_project(CONNINFO, out, province_name="Hà Tĩnh")
    return out, read_qgs(out), names


def layers(root) -> dict[str, etree._Element]:
    found = {}
    for layer in root.iter("maplayer"):
        table = re.search(r'table="public"\."(\w+)"', layer.findtext("datasource")).group(1)
        found[table] = layer
    return found


def test_the_file_is_a_zip_with_one_qgs_named_after_it(project):
    out, _, _ = project
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == ["ha_tinh.qgs"]
        assert z.testzip() is None


def test_project_crs_title_and_layer_order(project):
    _, root, names = project
    assert root.tag == "qgis" and root.get("version").startswith("3.")
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:4326"
    assert root.findtext("title") == "Hạ tầng viễn thông - Hà Tĩnh"
    tree = [n.get("id") for n in root.find("layer-tree-group").iter("layer-tree-layer")]
    assert tree == [f"hatang_{t}" for t in reversed(EXPECTED)]  # the panel lists the top layer first
    assert names == [schema.record_label(t, "vi", plural=True) for t in reversed(EXPECTED)]
    assert [n.get("name") for n in root.find("layer-tree-group").iter("layer-tree-layer")] == names
    assert [e.get("id") for e in root.find("layerorder")] == tree
    assert {layer.findtext("id") for layer in root.iter("maplayer")} == set(tree)


def test_every_layer_reads_an_existing_table_through_shape(project):
    _, root, _ = project
    tables = schema_columns()
    found = layers(root)
    assert list(found) == list(EXPECTED)  # projectlayers: bottom to top
    for table, layer in found.items():
        assert table in tables
        assert layer.findtext("provider") == "postgres"
        source = layer.findtext("datasource")
        assert f'table="public"."{table}" (shape)' in source
        assert f"type={EXPECTED[table]} " in source and "srid=4326 " in source and "key='id' " in source
        assert "checkPrimaryKeyUnicity='0'" in source
        assert source.startswith("dbname='hatang' host='so-tt.example' port=5433 user='analyst' ")
        assert source.split(" sql=", 1)[1].startswith("deleted = 0")
        assert layer.get("wkbType") == EXPECTED[table]
        assert layer.findtext("srs/spatialrefsys/authid") == "EPSG:4326"
        assert layer.findtext("layername") == schema.record_label(table, "vi", plural=True)
        # The tree's source is the layer's own.
        node = root.find(f"layer-tree-group/layer-tree-layer[@id='hatang_{table}']")
        assert node.get("source") == source and node.get("providerKey") == "postgres"
    assert found["admin_units"].findtext("datasource").endswith(
        "sql=deleted = 0 AND level IN ('province','commune')")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_aliases_are_the_forms_labels_for_every_field(tmp_path, lang):
    out = tmp_path / "p.qgz"
    write_qgis_project(CONNINFO, out, lang=lang)
    tables = schema_columns()
    labelled = 0
    for table, layer in layers(read_qgs(out)).items():
        aliases = {a.get("field"): a.get("name") for a in layer.find("aliases")}
        assert list(aliases) == tables[table]  # every column, in the table's order
        assert [f.get("name") for f in layer.find("fieldConfiguration")] == tables[table]
        for column in tables[table]:
            if schema.field(table, column) is not None:
                assert aliases[column] == schema.field_label(table, column, lang), (table, column)
                labelled += 1
        assert layer.findtext("layername") == schema.record_label(table, lang, plural=True)
    assert labelled > 60
    sites = layers(read_qgs(out))["sites"]
    height = sites.find("aliases/alias[@field='height_m']").get("name")
    assert height == ("Chiều cao cột (m)" if lang == "vi" else "Tower height (m)")


def symbol_colour(renderer, symbol_name: str) -> str:
    layer = renderer.find(f"symbols/symbol[@name='{symbol_name}']/layer")
    props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
    options = {o.get("name"): o.get("value") for o in layer.find("Option")}
    assert props == options  # both spellings of the properties agree
    return props.get("color") or props.get("line_color")


def rgba(hex_colour: str) -> str:
    return ",".join(str(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5)) + ",255"


@pytest.mark.parametrize("table", ["sites", "fibre_routes"])
def test_operator_categories_cover_every_operator_with_its_colour(project, table):
    _, root, _ = project
    renderer = layers(root)[table].find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "operator_code"
    categories = {c.get("value"): c for c in renderer.find("categories")}
    assert list(categories) == [op.code for op in OPERATORS]
    for op in OPERATORS:
        c = categories[op.code]
        assert c.get("label") == op.brand and c.get("render") == "true"
        assert symbol_colour(renderer, c.get("symbol")) == rgba(op.colour)


def data_defined(layer, key: str) -> str:
    expr = layer.find(f"data_defined_properties/Option/Option[@name='properties']/Option[@name='{key}']")
    assert expr.find("Option[@name='active']").get("value") == "true"
    return expr.find("Option[@name='expression']").get("value")


def test_site_marker_shape_follows_the_tower_type(project):
    _, root, _ = project
    renderer = layers(root)["sites"].find("renderer-v2")
    for symbol in renderer.find("symbols"):
        expression = data_defined(symbol.find("layer"), "name")
        for tower in load_forms().lists["tower_types"].codes:
            assert f"WHEN \"tower_type\" = '{tower}' THEN " in expression
        assert "WHEN \"tower_type\" = 'ground_tower' THEN 'triangle'" in expression
    route = layers(root)["fibre_routes"].find("renderer-v2/symbols/symbol/layer")
    assert "WHEN \"method\" = 'duct' THEN 'dash'" in data_defined(route, "outlineStyle")


def test_findings_zones_and_boundaries_styles(project):
    _, root, _ = project
    found = layers(root)
    findings = found["findings"].find("renderer-v2")
    assert findings.get("attr") == "severity"
    severities = load_forms().lists["severities"]
    assert [c.get("value") for c in findings.find("categories")] == list(severities.codes)
    sizes = []
    for c in findings.find("categories"):
        layer = findings.find(f"symbols/symbol[@name='{c.get('symbol')}']/layer")
        props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
        assert props["name"] == "triangle" and props["color"].startswith("215,25,28,")  # the app's red
        sizes.append(float(props["size"]))
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # a violation stands out more than a note
    zones = found["zones"].find("renderer-v2")
    assert zones.get("attr") == "kind"
    assert {c.get("value") for c in zones.find("categories")} == set(load_forms().lists["zone_kinds"].codes)
    for layer in zones.iter("layer"):
        alpha = int({p.get("k"): p.get("v") for p in layer.findall("prop")}["color"].split(",")[3])
        assert 0 < alpha < 255  # translucent: what lies under a zone stays visible
    admin = found["admin_units"].find("renderer-v2")
    assert {c.get("value") for c in admin.find("categories")} == {"province", "commune"}
    for layer in admin.iter("layer"):
        assert {p.get("k"): p.get("v") for p in layer.findall("prop")}["style"] == "no"  # outline only
    assert found["admin_units"].get("readOnly") == "1"


def value_maps(layer) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for field in layer.find("fieldConfiguration"):
        widget = field.find("editWidget")
        if widget.get("type") == "ValueMap":
            entries = widget.find("config/Option/Option[@name='map']")
            assert entries.get("type") == "List"
            out[field.get("name")] = [(o.get("value"), o.get("name")) for e in entries for o in e]
    return out


def test_value_maps_hold_every_value_of_the_lists(project):
    _, root, _ = project
    lists = load_forms().lists
    seen = 0
    for table, layer in layers(root).items():
        maps = value_maps(layer)
        for column in schema_columns()[table]:
            d = schema.field(table, column)
            if d is None:
                assert column not in maps
            elif d.type == "choice":
                assert maps[column] == [(c, lists[d.values].label(c, "vi")) for c in lists[d.values].codes]
                seen += 1
            elif d.type == "boolean":
                assert maps[column] == [("1", "Có"), ("0", "Không")]
                seen += 1
            elif d.type == "operator":
                assert maps[column] == [(op.code, op.brand) for op in OPERATORS]
                seen += 1
    assert seen >= 15
    sites = value_maps(layers(root)["sites"])
    assert ("to_verify", "Cần xác minh") in sites["status"]
    assert sites["tower_type"][0] == ("ground_tower", "Cột tự đứng trên mặt đất")


def test_commune_codes_show_commune_names_from_the_admin_layer(project):
    _, root, _ = project
    field = layers(root)["sites"].find("fieldConfiguration/field[@name='commune_code']/editWidget")
    assert field.get("type") == "ValueRelation"
    config = {o.get("name"): o.get("value") for o in field.find("config/Option")}
    assert config["Layer"] == "hatang_admin_units" and config["Key"] == "code" and config["Value"] == "name"


def test_the_sync_identity_and_derived_columns_are_not_editable(project):
    _, root, _ = project
    sites = layers(root)["sites"]
    editable = {f.get("name"): f.get("editable") for f in sites.find("editable")}
    for column in ("id", "uuid", "version", "updated_at", "deleted", "lat", "lon", "in_industrial_zone",
                   "gnss_hdop", "source_ref"):
        assert editable[column] == "0", column
    for column in ("site_code", "operator_code", "tower_type", "height_m", "status", "note"):
        assert editable[column] == "1", column
    routes = layers(root)["fibre_routes"]
    hidden = {f.get("name") for f in routes.find("fieldConfiguration")
              if f.find("editWidget").get("type") == "Hidden"}
    assert hidden == {"geom", "min_lon", "min_lat", "max_lon", "max_lat"}


def test_a_service_is_written_as_service_and_no_password_anywhere(tmp_path):
    out = tmp_path / "svc.qgz"
    write_qgis_project({"service": "hatang_ht"}, out)
    with zipfile.ZipFile(out) as z:
        document = z.read(z.namelist()[0]).decode("utf-8")
    assert "password" not in document.lower()
    sources = [layer.findtext("datasource") for layer in read_qgs(out).iter("maplayer")]
    assert len(sources) == 6 and all(s.startswith("service='hatang_ht' key='id' ") for s in sources)
    for conninfo in ({"service": "s", "password": "secret"}, {"dbname": "d", "sslpassword": "x"}, {"host": "h"}):
        with pytest.raises(ServerUrlError):
            write_qgis_project(conninfo, tmp_path / "refused.qgz")
    assert not (tmp_path / "refused.qgz").exists()


def test_values_are_quoted_as_qgis_quotes_them(tmp_path):
    out = tmp_path / "q.qgs"
    write_qgis_project({"dbname": "so o'brien", "user": "a\\b"}, out)
    source = etree.parse(str(out)).getroot().find("projectlayers/maplayer").findtext("datasource")
    assert source.startswith("dbname='so o\\'brien' user='a\\\\b' key='id'")


def test_a_bad_name_is_refused_and_a_rewrite_replaces_the_file_whole(tmp_path):
    with pytest.raises(InvalidInputError):
        write_qgis_project(CONNINFO, tmp_path / "project.txt")
    assert list(tmp_path.iterdir()) == []
    out = tmp_path / "p.qgz"
    write_qgis_project({"service": "old"}, out)
    write_qgis_project({"service": "new"}, out)
    assert [p.name for p in tmp_path.iterdir()] == ["p.qgz"]  # no temporary file left beside it
    assert all("service='new'" in layer.findtext("datasource") for layer in read_qgs(out).iter("maplayer"))


@pytest.mark.parametrize("url, expected", [
    ("postgresql://analyst@so-tt.example:5433/hatang",
     {"user": "analyst", "host": "so-tt.example", "port": "5433", "dbname": "hatang"}),
    ("postgres://db.local/hatang_ht", {"host": "db.local", "dbname": "hatang_ht"}),
    ("postgresql:///?service=hatang_ht", {"service": "hatang_ht"}),
    ("postgresql:///hatang?host=/var/run/postgresql", {"dbname": "hatang", "host": "/var/run/postgresql"}),
])
def test_urls(url, expected):
    assert parse_server_url(url).conninfo == expected


@pytest.mark.parametrize("url", [
    "postgresql://analyst:secret@host/db", "postgresql://analyst:@host/db",
    "postgresql://host/db?password=secret", "postgresql:///?service=s&password=secret",
])
def test_a_password_in_the_url_is_refused_without_echoing_it(url):
    with pytest.raises(InvalidInputError) as info:
        parse_server_url(url)
    assert "secret" not in str(info.value)
    assert "mật khẩu" in str(info.value) and "password" in str(info.value)


@pytest.mark.parametrize("url", ["postgresql://host:port/db", "postgresql://host/", "postgresql://h/d?nonsense=1"])
def test_other_bad_urls_are_refused(url):
    with pytest.raises(InvalidInputError):
        parse_server_url(url)


def test_check_conninfo_drops_empty_values():
    assert check_conninfo({"service": "s", "host": "", "port": None}) == {"service": "s"}


# -- the command ------------------------------------------------------------------------------

def hatang(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hatang_desktop", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_writes_the_project(tmp_path):
    out = tmp_path / "so.qgz"
    result = hatang("server", "qgis-project", "postgresql://analyst@127.0.0.1:5433/hatang", out,
                    "--province-name", "Hà Tĩnh", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["path"] == str(out) and doc["layers"][0] == "Vi phạm" and len(doc["layers"]) == 6
    root = read_qgs(out)
    assert root.findtext("title") == "Hạ tầng viễn thông - Hà Tĩnh"
    assert all(layer.findtext("datasource").startswith("dbname='hatang' host='127.0.0.1' port=5433 user='analyst'")
               for layer in root.iter("maplayer"))
    english = hatang("server", "qgis-project", "postgresql:///?service=hatang_ht", tmp_path / "en.qgs",
                     "--lang", "en")
    assert english.returncode == 0, english.stderr
    assert "BTS sites" in english.stdout and "QGIS project written" in english.stdout
    assert etree.parse(str(tmp_path / "en.qgs")).getroot().find("projectlayers/maplayer").findtext(
        "layername") == "Administrative unit"


def test_cli_refuses_a_password_and_writes_nothing(tmp_path):
    out = tmp_path / "so.qgz"
    result = hatang("server", "qgis-project", "postgresql://analyst:hunter2@127.0.0.1/hatang", out)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "mật khẩu" in result.stderr and "password" in result.stderr and "hunter2" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    as_json = hatang("server", "qgis-project", "postgresql://analyst:hunter2@127.0.0.1/hatang", out, "--json")
    assert as_json.returncode == 2 and as_json.stdout == "" and "hunter2" not in as_json.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_argument_errors_exit_2(tmp_path):
    assert hatang("server").returncode == 2
    missing = hatang("server", "qgis-project", "postgresql:///?service=s")
    assert missing.returncode == 2 and "argument error" in missing.stderr
    nowhere = hatang("server", "qgis-project", "postgresql:///?service=s", tmp_path / "no" / "p.qgz")
    assert nowhere.returncode == 2 and "the folder does not exist" in nowhere.stderr
    bad = hatang("server", "qgis-project", "http://host/db", tmp_path / "p.qgz")
    assert bad.returncode == 2 and "postgresql://" in bad.stderr
    assert list(tmp_path.iterdir()) == []
