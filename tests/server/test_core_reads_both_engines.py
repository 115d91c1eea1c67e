"""The core's read paths give the same answers from the sample file and from the same sample on
the server (engine_target): map layers, identify, search, bounding-box reads, duplicates, record
states, change sets, findings, the indicators' dataset. What may differ is said where it is
allowed: the R*Tree's 32-bit bounds and the order of a floating-point sum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import text

from hatang_desktop.core import changes, map_data, spatial
from hatang_desktop.core.editing import commune_at, find_duplicate_sites, route_near
from hatang_desktop.core.exchange.records import read_states
from hatang_desktop.core.forms import load_forms
from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.core.indicators.data import load_dataset
from hatang_desktop.core.rules.check import list_findings
from hatang_desktop.core.search import search
from hatang_desktop.core.storage.dialect import raw
from hatang_desktop.core.storage.targets import open_database

# The file against itself proves nothing: the server's copy of the sample is what is compared.
pytestmark = pytest.mark.parametrize("engine_target", ["postgresql"], indirect=True)


@pytest.fixture
def both(engine_target, sample_db_path):
    with open_database(sample_db_path, readonly=True) as file_db, open_database(engine_target, readonly=True) as db:
        yield file_db, db


def _a_site(db) -> tuple[float, float, str]:
    with db.session() as s:
        return tuple(s.execute(text("SELECT lon, lat, operator_code FROM sites WHERE deleted = 0 ORDER BY id "
                                    "LIMIT 1")).one())


def _same_layer(a, b) -> None:
    assert type(a) is type(b)
    for name, value in vars(a).items():
        other = getattr(b, name)
        if isinstance(value, dict):
            assert value.keys() == other.keys(), name
            for k in value:
                assert np.array_equal(value[k], other[k]), (name, k)
        elif isinstance(value, np.ndarray):
            assert np.array_equal(value, other), name
        else:
            assert value == other, name


@pytest.mark.parametrize("reader", ["read_sites", "read_poles", "read_villages", "read_findings", "read_routes",
                                    "read_zones", "read_boundaries", "read_commune_labels"])
def test_map_layers_are_the_same(both, reader):
    file_db, db = both
    expected, got = getattr(map_data, reader)(file_db), getattr(map_data, reader)(db)
    assert len(expected.uuid) > 0
    _same_layer(expected, got)


def test_a_few_records_and_the_communes_read_the_same(both):
    file_db, db = both
    with file_db.session() as s:
        some = set(s.execute(text("SELECT uuid FROM sites ORDER BY id LIMIT 7")).scalars())
    _same_layer(map_data.read_sites(file_db, some), map_data.read_sites(db, some))
    assert map_data.read_communes(file_db) == map_data.read_communes(db)


def test_full_extent_within_the_rtree_rounding(both):
    file_db, db = both
    expected, got = map_data.full_extent(file_db), map_data.full_extent(db)
    # The R*Tree keeps 32-bit floats rounded outwards: a metre or two at Việt Nam's longitudes.
    for name in ("min_x", "min_y", "max_x", "max_y"):
        assert getattr(got, name) == pytest.approx(getattr(expected, name), abs=5.0)


def test_identify_search_and_boxes_are_the_same(both):
    file_db, db = both
    lon, lat, operator = _a_site(file_db)
    x, y = (float(v) for v in lonlat_to_mercator(lon, lat))
    found = [map_data.identify(d, x, y, 50) for d in both]
    assert found[0] is not None and (found[1].table, found[1].uuid) == (found[0].table, found[0].uuid)
    assert found[1].attributes == found[0].attributes  # the server's shape column is not an attribute
    for query in ("phuong", "vtl", "thành sen"):
        assert search(db, query) == search(file_db, query)
    for table in ("sites", "poles", "fibre_routes", "zones", "admin_units", "findings"):
        boxes = []
        for d in both:
            with d.session() as s:
                boxes.append(sorted(spatial.uuids_in_bbox(s, table, lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)))
        assert boxes[1] == boxes[0], table
    assert commune_at(db, lat, lon) == commune_at(file_db, lat, lon)
    assert route_near(db, x, y, 2000) == route_near(file_db, x, y, 2000)
    duplicates = [[(d.uuid, round(d.distance_m, 6)) for d in find_duplicate_sites(d, operator, None, lat, lon,
                                                                                   radius_m=500)] for d in both]
    assert duplicates[0] and duplicates[1] == duplicates[0]


def test_record_states_findings_and_change_sets_are_the_same(both):
    file_db, db = both
    forms = load_forms()
    for record in ("sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones", "findings"):
        states = []
        for d in both:
            with d.session() as s:
                states.append(read_states(s, forms[record]))
        assert states[0] and states[1] == states[0], record
    expected, got = list_findings(file_db), list_findings(db)
    assert len(expected) > 0 and got.equals(expected)
    with file_db.session() as s:
        op = s.execute(text("SELECT max(operation_id) FROM change_log")).scalar()
    assert changes.changes_of_operation(db, op) == changes.changes_of_operation(file_db, op)


def test_the_indicators_read_the_same_data(both):
    datasets = []
    for d in both:
        with d.session() as s:
            datasets.append(load_dataset(raw(s)))
    a, b = datasets
    assert (a.province_code, a.operators, a.schema_version) == (b.province_code, b.operators, b.schema_version)
    assert np.array_equal(a.communes.code, b.communes.code) and np.array_equal(a.sites.uuid, b.sites.uuid)
    assert np.array_equal(a.villages.uuid, b.villages.uuid) and a.figures == b.figures
    assert np.array_equal(a.pole_groups, b.pole_groups)
    # Sums of route lengths, grouped: the server may add them in another order.
    fa, fb = (sorted(map(tuple, g[:, :3].tolist())) for g in (a.fibre_groups, b.fibre_groups))
    assert fa == fb
    ka = {tuple(r[:3]): r[3] for r in a.fibre_groups.tolist()}
    assert all(math.isclose(ka[tuple(r[:3])], r[3], rel_tol=1e-12) for r in b.fibre_groups.tolist())
