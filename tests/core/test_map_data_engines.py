"""The map layers read the same from a file and from the server, whole or by box (issue 19)."""

import numpy as np
import pytest

from hatang_desktop.core import map_data as md
from hatang_desktop.core.storage.targets import open_database


@pytest.fixture
def both(sample_db_path, server_sample_url):
    with open_database(sample_db_path, readonly=True) as lite, open_database(server_sample_url, readonly=True) as pg:
        yield lite, pg


def _lonlat_box(extent: md.Extent) -> tuple[float, float, float, float]:
    (w, e), (s, n) = md.mercator_to_lonlat([extent.min_x, extent.max_x], [extent.min_y, extent.max_y])
    return float(w), float(s), float(e), float(n)


def test_whole_map_is_the_same_on_both_engines(both):
    lite, pg = both
    a, b = md.read_map(lite), md.read_map(pg)
    for key in ("sites", "poles", "routes", "zones", "findings", "villages", "boundaries", "commune_labels"):
        la, lb = getattr(a, key), getattr(b, key)
        assert list(la.uuid) == list(lb.uuid), key
        np.testing.assert_allclose(la.x, lb.x, atol=1e-6)
        for name in la.attrs:
            assert list(la.attrs[name]) == list(lb.attrs[name]), (key, name)
    # The R*Tree rounds its boxes outwards to float32: centimetres at this scale.
    for side in ("min_x", "min_y", "max_x", "max_y"):
        assert getattr(a.extent, side) == pytest.approx(getattr(b.extent, side), abs=5.0)


def test_box_read_holds_exactly_the_rows_in_the_box(both):
    lite, pg = both
    whole = md.read_map(lite)
    e = whole.extent
    quarter = md.Extent(e.min_x, e.min_y, (e.min_x + e.max_x) / 2, (e.min_y + e.max_y) / 2)
    inside = set(whole.sites.uuid[md.points_in_box(whole.sites, quarter)])
    assert 0 < len(inside) < len(whole.sites)
    box = _lonlat_box(quarter)
    for db in (lite, pg):
        part = md.read_survey(db, box)
        got = set(part["sites"].uuid)
        # SQLite's R*Tree rounds outwards: a point on the edge may come too, never one far off.
        assert inside <= got and len(got - inside) <= 2, db.dialect
        assert set(part["poles"].uuid) < set(whole.poles.uuid)
        routes = set(whole.routes.uuid[md.paths_in_box(whole.routes, quarter)])
        assert routes <= set(part["routes"].uuid)


def test_identify_on_the_server_finds_what_the_file_finds(both):
    lite, pg = both
    whole = md.read_map(lite)
    for i in (0, 100, 250):
        x, y = float(whole.sites.x[i]), float(whole.sites.y[i])
        fa, fb = md.identify(lite, x, y, 30.0), md.identify(pg, x, y, 30.0)
        assert (fa.table, fa.uuid) == (fb.table, fb.uuid) == ("sites", whole.sites.uuid[i])
        assert "shape" not in fb.attributes
        assert fa.attributes["tenants"] == fb.attributes["tenants"]
    commune = md.read_communes(lite)[3]
    cx, cy = (commune.bounds.min_x + commune.bounds.max_x) / 2, (commune.bounds.min_y + commune.bounds.max_y) / 2
    found = md.identify(pg, cx, cy, 1.0, accept=lambda table, _uuid: table == "admin_units")
    assert found is not None and found.table == "admin_units"
    assert md.read_communes(lite) == md.read_communes(pg)
