"""Every core write says what it changed (core.changes, read from the change log); undo works on
those operations (core.undo), an import included; the map's layers patched from a change equal
the layers read whole (core.map_patch)."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
import shapely

from hatang_desktop.core import editing
from hatang_desktop.core.changes import changes_of_operation
from hatang_desktop.core.editing import StaleEdit
from hatang_desktop.core.exchange.export import export_workbook
from hatang_desktop.core.exchange.importer import import_workbook
from hatang_desktop.core.map_data import read_poles, read_routes, read_sites
from hatang_desktop.core.map_patch import drop_mask, patch_paths, patch_points, patched_paths, read_updates
from hatang_desktop.core.rules import run_check, set_status
from hatang_desktop.core.undo import undo_operation

from .test_editing import NEW_SITE, an_existing, data_rows, db, live  # noqa: F401  (db: the fixture)


def test_a_save_a_tenant_edit_a_move_and_a_delete_each_say_what_they_changed(db):
    new = editing.save_record(db, "sites", NEW_SITE, children=[{"operator_code": "VTL"}, {"operator_code": "MBF"}])
    tenants = {t["uuid"] for t in editing.read_children(db, "sites", new.uuid)}
    c = new.changes
    assert c.operation_id == new.operation_id and c.description == "Thêm trạm BTS HT-TEST-001"
    assert c.inserted == {"sites": {new.uuid}, "site_tenants": tenants} and not c.updated and not c.deleted
    assert c.count_delta("sites") == 1 and c.counts_dirty

    # A tenant's technology changed: the site is updated too (the map draws its 5G ring).
    first = sorted(tenants)[0]
    edit = editing.save_record(db, "sites", {}, uuid=new.uuid,
                               children=[{"uuid": u, "technologies": ("5G",)} if u == first else {"uuid": u}
                                         for u in sorted(tenants)])
    assert edit.changes.updated == {"site_tenants": {first}, "sites": {new.uuid}}
    assert not edit.changes.inserted and edit.changes.count_delta("sites") == 0

    moved = editing.move_point(db, "sites", new.uuid, 18.35, 105.91)
    assert moved.changes.updated == {"sites": {new.uuid}} and not moved.changes.counts_dirty

    same = editing.move_point(db, "sites", new.uuid, 18.35, 105.91)
    assert not same.changed and not same.changes

    gone = editing.delete_record(db, "sites", new.uuid)
    assert gone.changes.deleted == {"sites": {new.uuid}, "site_tenants": tenants}
    assert gone.changes.count_delta("sites") == -1


def test_every_operation_reads_back_as_its_log_says_row_by_row(db, monkeypatch):
    """changes_from_log (first and last action per record, parents read by uuid or with their
    whole table) says for every operation what walking its log rows one by one says."""
    from sqlalchemy import text

    from hatang_desktop.core import changes

    new = editing.save_record(db, "sites", NEW_SITE, children=[{"operator_code": "VTL"}, {"operator_code": "MBF"}])
    tenant = sorted(t["uuid"] for t in editing.read_children(db, "sites", new.uuid))[0]
    editing.save_record(db, "sites", {}, uuid=new.uuid, children=[{"uuid": tenant, "technologies": ("5G",)}])
    editing.move_point(db, "sites", new.uuid, 18.35, 105.91)
    gone = editing.delete_record(db, "sites", new.uuid)
    undone = undo_operation(db, gone.operation_id)
    undo_operation(db, undone.operation_id, undo=False)
    with db.session() as s:
        log = s.execute(text("SELECT operation_id, table_name, record_uuid, action FROM change_log ORDER BY id")).all()
        parent_of = {(child, u): p for child, (_parent, column) in changes.PARENTS.items()
                     for u, p in s.execute(text(f"SELECT uuid, {column} FROM {child}")).all()}
    operations = sorted({op for op, *_ in log})
    assert len(operations) >= 6

    def walked(op):   # the rule, row by row
        state: dict[tuple[str, str], list[bool]] = {}
        for o, table, uuid, action in log:
            if o == op:
                state.setdefault((table, uuid), [action not in ("insert", "restore"), True])[1] = action != "delete"
        out = {"inserted": set(), "updated": set(), "deleted": set()}
        for key, (before, after) in state.items():
            if before or after:
                out["updated" if before and after else "inserted" if after else "deleted"].add(key)
        for child, (parent, _column) in changes.PARENTS.items():
            came = {u for t, u in out["inserted"] | out["deleted"] if t == parent}
            for t, u in list(state):
                p = parent_of.get((child, u)) if t == child else None
                if p and p not in came:
                    out["updated"].add((parent, p))
        return out

    def read(op):
        c = changes_of_operation(db, op)
        return {part: {(t, u) for t, uuids in getattr(c, part).items() for u in uuids}
                for part in ("inserted", "updated", "deleted")}

    for above in (10**9, 0):   # parents looked up by uuid, then read with their whole table
        monkeypatch.setattr(changes, "WHOLE_TABLE_ABOVE", above)
        for op in operations:
            assert read(op) == walked(op), (above, op)


def test_undo_and_redo_are_operations_with_their_own_changes(db):
    new = editing.save_record(db, "sites", NEW_SITE)
    undone = undo_operation(db, new.operation_id)
    assert undone.description == "Hoàn tác: Thêm trạm BTS HT-TEST-001"
    assert undone.changes.deleted == {"sites": {new.uuid}} and undone.operation_id > new.operation_id
    redone = undo_operation(db, undone.operation_id, undo=False)
    assert redone.description == "Làm lại: Thêm trạm BTS HT-TEST-001"
    assert redone.changes.inserted == {"sites": {new.uuid}}
    assert changes_of_operation(db, redone.operation_id).inserted == redone.changes.inserted


def test_a_route_reshaped_and_undone_gets_its_bounding_box_back(db):
    route = an_existing(db, "fibre_routes")
    before = data_rows(db, "fibre_routes")[route]
    far = editing.move_vertex(db, route, 0, 18.5, 105.5)
    assert data_rows(db, "fibre_routes")[route]["min_lon"] == pytest.approx(105.5)
    undo_operation(db, far.operation_id)
    assert data_rows(db, "fibre_routes")[route] == before  # bounds are not logged: recomputed exactly


def test_a_finding_status_and_a_check_say_what_they_changed(db):
    check = run_check(db)
    assert check.logged.operation_id == check.changes.operation_id
    assert len(check.logged.inserted.get("findings", ())) == check.changes.new
    finding = sorted(check.logged.inserted["findings"])[0]
    result = set_status(db, [finding], "confirmed")
    assert result.changes.updated == {"findings": {finding}}
    undo_operation(db, result.operation_id)
    assert data_rows(db, "findings")[finding]["status"] == "open"


@pytest.fixture
def edited_workbook(db, tmp_path):
    """The province's workbook with a site renamed and a new site typed in."""
    book = tmp_path / "so.xlsx"
    export_workbook(db, book)
    wb = openpyxl.load_workbook(book)
    ws = wb["Trạm BTS"]
    h = {c.value: c.column for c in ws[1]}
    renamed = ws.cell(row=2, column=h["UUID (không sửa)"]).value
    ws.cell(row=2, column=h["Tên trạm"], value="Tên mới")
    row = ws.max_row + 1
    for header, value in {"Mã trạm": "VT_NEW_1", "Doanh nghiệp": "Viettel",
                          "Xã/phường": ws.cell(row=2, column=h["Xã/phường"]).value,
                          "Vĩ độ": float(ws.cell(row=2, column=h["Vĩ độ"]).value) + 0.004,
                          "Kinh độ": float(ws.cell(row=2, column=h["Kinh độ"]).value),
                          "Loại cột anten": "Cột dây co", "Trạng thái": "Đang hoạt động"}.items():
        ws.cell(row=row, column=h[header], value=value)
    wb.save(book)
    return book, renamed


def test_an_import_says_what_it_changed_and_is_one_undo_step(db, edited_workbook):
    book, renamed = edited_workbook
    before = live(data_rows(db, "sites"))
    result = import_workbook(db, book)
    assert result.applied
    (new,) = result.changes.inserted["sites"]
    assert renamed in result.changes.updated["sites"] and result.changes.operation_id is not None
    assert data_rows(db, "sites")[new]["site_code"] == "VT_NEW_1"

    undone = undo_operation(db, result.changes.operation_id)
    assert live(data_rows(db, "sites")) == before
    assert undone.changes.deleted["sites"] == {new} and renamed in undone.changes.updated["sites"]
    undo_operation(db, undone.operation_id, undo=False)
    assert data_rows(db, "sites")[renamed]["name"] == "Tên mới" and not data_rows(db, "sites")[new]["deleted"]


def test_an_import_is_not_undone_over_a_later_edit(db, edited_workbook):
    book, renamed = edited_workbook
    result = import_workbook(db, book)
    editing.save_record(db, "sites", {"note": "sửa sau khi nhập"}, uuid=renamed)
    before = data_rows(db, "sites")
    with pytest.raises(StaleEdit):
        undo_operation(db, result.changes.operation_id)
    assert data_rows(db, "sites") == before


def _by_uuid(layer):
    order = np.argsort(layer.uuid)
    return layer.uuid[order], layer.x[order], layer.y[order], {k: v[order] for k, v in layer.attrs.items()}


def test_layers_patched_from_changes_equal_the_layers_read_whole(db):
    sites, poles, routes = read_sites(db), read_poles(db), read_routes(db)
    site, pole, route = an_existing(db, "sites"), an_existing(db, "poles"), an_existing(db, "fibre_routes")
    simple = routes.simplified(64.0)  # a level of detail made before the edit, patched along
    results = [editing.save_record(db, "sites", NEW_SITE, children=[{"operator_code": "VTL"},
                                                                    {"operator_code": "MBF", "technologies": ("5G",)}]),
               editing.move_point(db, "sites", site, 18.36, 105.92),
               editing.delete_record(db, "poles", pole),
               editing.insert_vertex(db, route, 1, 18.341, 105.901)]
    changes = results[0].changes
    for r in results[1:]:
        changes = changes.merged(r.changes)
    updates, reloaded = read_updates(db, changes)
    assert set(updates) == {"sites", "poles", "routes"} and not reloaded

    moved_row = list(sites.uuid).index(site)
    change = patch_points(sites, updates["sites"].uuids, updates["sites"].add)
    got = change.layer
    # The moved site was written over its own row; the new one came at the end.
    assert list(change.replaced) == [moved_row] and got.uuid[moved_row] == site and got.uuid[-1] == results[0].uuid
    want = read_sites(db)
    a, b = _by_uuid(got), _by_uuid(want)
    assert (a[0] == b[0]).all() and np.allclose(a[1], b[1]) and np.allclose(a[2], b[2])
    assert all((a[3][k] == b[3][k]).all() for k in b[3])
    assert results[0].uuid in set(got.uuid) and bool(got.attrs["shared"][list(got.uuid).index(results[0].uuid)])

    got_poles = patch_points(poles, updates["poles"].uuids, updates["poles"].add).layer
    assert sorted(got_poles.uuid) == sorted(read_poles(db).uuid) and pole not in set(got_poles.uuid)

    got_routes = patched_paths(routes, drop_mask(routes.uuid, updates["routes"].uuids), updates["routes"].add)
    want_routes = read_routes(db)
    for layer in (got_routes, want_routes):
        assert len(layer.vertex_feature) == len(layer.x)
    i, j = list(got_routes.uuid).index(route), list(want_routes.uuid).index(route)
    assert np.allclose(got_routes.x[got_routes.vertex_feature == i], want_routes.x[want_routes.vertex_feature == j])
    assert sorted(got_routes.uuid) == sorted(want_routes.uuid)
    # The carried level of detail draws the edited route as the layer simplified anew would.
    carried = got_routes.simplified(64.0)
    assert carried is not simple and len(carried.uuid) == len(got_routes.uuid)
    fresh = want_routes.simplified(64.0)
    assert len(carried.x[carried.vertex_feature == i]) == len(fresh.x[fresh.vertex_feature == j])
    assert shapely.LineString(np.column_stack([carried.x[carried.vertex_feature == i],
                                               carried.y[carried.vertex_feature == i]])).equals_exact(
        shapely.LineString(np.column_stack([fresh.x[fresh.vertex_feature == j],
                                            fresh.y[fresh.vertex_feature == j]])), 1e-6)


def _features(layer):
    """uuid -> (x, y, connect, attributes) of every feature, whatever its row."""
    out = {}
    for i, u in enumerate(layer.uuid):
        at = layer.vertex_feature == i
        out[str(u)] = (layer.x[at], layer.y[at], layer.connect[at], {k: v[i] for k, v in layer.attrs.items()})
    return out


def _same_paths(got, want):
    a, b = _features(got), _features(want)
    assert a.keys() == b.keys()
    for u, (x, y, c, attrs) in b.items():
        gx, gy, gc, gattrs = a[u]
        assert np.array_equal(gx, x) and np.array_equal(gy, y) and np.array_equal(gc, c), u
        assert gattrs == attrs, u


def test_a_route_edit_patches_the_route_layer_to_what_reading_it_whole_gives(db):
    """Moving a vertex or editing attributes rewrites the route where it is (the same layer, its
    levels of detail and bounds written in place); inserting or deleting a vertex splices it
    where it is; a new or deleted route drops and appends. Each draws as the layer read whole."""
    layer = read_routes(db)
    layer.simplified(64.0), layer.simplified(1024.0), layer.feature_bounds()  # made before: patched along
    route = an_existing(db, "fibre_routes")
    lon, lat = editing.route_vertices(db, route)[1]
    line = shapely.LineString([(105.90, 18.34), (105.905, 18.345), (105.91, 18.343)])
    edits = [("in place", lambda: editing.move_vertex(db, route, 1, lat + 0.001, lon - 0.002)),
             ("in place", lambda: editing.save_record(db, "fibre_routes", {"operator_code": "MBF", "method": "duct"},
                                                      uuid=route)),
             ("spliced", lambda: editing.insert_vertex(db, route, 1, lat + 0.002, lon)),
             ("spliced", lambda: editing.delete_vertex(db, route, 1)),
             ("appended", lambda: editing.save_record(db, "fibre_routes", {"code": "T-P", "operator_code": "VTL",
                                                                           "method": "aerial", "geom": line})),
             ("appended", lambda: editing.delete_record(db, "fibre_routes", route))]
    for how, edit in edits:
        updates, _ = read_updates(db, edit().changes)
        row = list(layer.uuid).index(route)
        patch = patch_paths(layer, drop_mask(layer.uuid, updates["routes"].uuids), updates["routes"].add)
        assert patch.same_rows == (how != "appended"), how
        assert (patch.layer is layer) == (how == "in place"), how
        if patch.same_rows:
            assert patch.layer.uuid[row] == route and list(patch.rows) == [row]
        layer = patch.layer
        want = read_routes(db)
        _same_paths(layer, want)
        for tol in (64.0, 1024.0):
            _same_paths(layer.simplified(tol), want.simplified(tol))
        assert np.array_equal(layer.feature_bounds(), _bounds_of(layer), equal_nan=True)


def _bounds_of(layer):
    """The feature bounds worked out afresh, not carried by the patches."""
    fresh = type(layer)(layer.uuid, layer.x, layer.y, layer.connect, layer.vertex_feature, layer.attrs)
    return fresh.feature_bounds()
