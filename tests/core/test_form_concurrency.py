"""A form left open while something else writes the record (an Excel or GIS import, another
window) never puts back what it showed: only the fields the user changed are written, and a field
changed on both sides to different values is a conflict shown to the user, never an overwrite."""

import pytest
from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.core.editing import EditConflict
from hatang_desktop.core.storage.database import Database


@pytest.fixture
def db(sample_db_path):
    with Database.open(sample_db_path) as database:
        database.user = "tester"
        yield database


def a_site_with_tenants(db):
    with db.session() as s:
        return s.execute(text("SELECT s.uuid FROM sites s JOIN site_tenants t ON t.site_uuid = s.uuid "
                              "WHERE s.deleted = 0 AND t.deleted = 0 AND s.height_m IS NOT NULL "
                              "GROUP BY s.uuid HAVING count(*) >= 2 ORDER BY s.id LIMIT 1")).scalar()


def column(db, uuid, name):
    with db.session() as s:
        return s.execute(text(f"SELECT {name} FROM sites WHERE uuid = :u"), {"u": uuid}).scalar()


def open_form(db, uuid):
    """What the form holds when it opens, and what it will send back (every field, as shown)."""
    base = editing.read_values(db, "sites", uuid)
    children = editing.read_children(db, "sites", uuid)
    return base, children


def someone_else_sets(db, uuid, **values):
    """Another writer, as an import would: straight to the database, one operation."""
    editing.save_record(db, "sites", values, uuid=uuid, source="xlsx:tuan_47.xlsx")


def test_a_field_left_alone_keeps_what_was_written_while_the_form_was_open(db):
    uuid = a_site_with_tenants(db)
    base, children = open_form(db, uuid)
    someone_else_sets(db, uuid, height_m=base["height_m"] + 11)
    form_values = dict(base) | {"name": "Trạm đổi tên trong biểu mẫu"}
    editing.save_record(db, "sites", form_values, uuid=uuid, children=children, base=base, base_children=children)
    assert column(db, uuid, "name") == "Trạm đổi tên trong biểu mẫu"
    assert column(db, uuid, "height_m") == pytest.approx(base["height_m"] + 11)  # the import's value stays


def test_the_same_field_changed_on_both_sides_is_a_conflict_and_nothing_is_written(db):
    uuid = a_site_with_tenants(db)
    base, children = open_form(db, uuid)
    someone_else_sets(db, uuid, height_m=base["height_m"] + 11)
    version = column(db, uuid, "version")
    form_values = dict(base) | {"height_m": base["height_m"] + 3, "name": "Tên mới"}
    with pytest.raises(EditConflict) as err:
        editing.save_record(db, "sites", form_values, uuid=uuid, children=children, base=base,
                            base_children=children)
    (key, then, now, mine), = err.value.fields
    assert key == "height_m" and then == pytest.approx(base["height_m"])
    assert now == pytest.approx(base["height_m"] + 11) and mine == pytest.approx(base["height_m"] + 3)
    assert err.value.current["height_m"] == pytest.approx(base["height_m"] + 11)
    assert column(db, uuid, "version") == version and column(db, uuid, "name") == base["name"]
    # Seen and confirmed: saved again against what is there now, the user's value is written.
    editing.save_record(db, "sites", form_values, uuid=uuid, children=children, base=err.value.current,
                        base_children=err.value.current_children)
    assert column(db, uuid, "height_m") == pytest.approx(base["height_m"] + 3)


def test_the_same_value_typed_on_both_sides_is_no_conflict(db):
    uuid = a_site_with_tenants(db)
    base, children = open_form(db, uuid)
    someone_else_sets(db, uuid, height_m=base["height_m"] + 11)
    editing.save_record(db, "sites", dict(base) | {"height_m": base["height_m"] + 11}, uuid=uuid,
                        children=children, base=base, base_children=children)
    assert column(db, uuid, "height_m") == pytest.approx(base["height_m"] + 11)


def test_tenants_changed_elsewhere_survive_a_form_that_did_not_touch_them(db):
    uuid = a_site_with_tenants(db)
    base, children = open_form(db, uuid)
    # Elsewhere: the first tenant removed.
    editing.save_record(db, "sites", {}, uuid=uuid, children=children[1:], source="xlsx:x.xlsx")
    editing.save_record(db, "sites", dict(base) | {"name": "Tên khác"}, uuid=uuid, children=children,
                        base=base, base_children=children)
    assert [c["uuid"] for c in editing.read_children(db, "sites", uuid)] == [c["uuid"] for c in children[1:]]


def test_tenants_changed_on_both_sides_are_a_conflict(db):
    uuid = a_site_with_tenants(db)
    base, children = open_form(db, uuid)
    editing.save_record(db, "sites", {}, uuid=uuid, children=children[1:], source="xlsx:x.xlsx")
    with pytest.raises(EditConflict) as err:
        editing.save_record(db, "sites", dict(base), uuid=uuid, children=children[:1], base=base,
                            base_children=children)
    assert [k for k, *_ in err.value.fields] == [EditConflict.SUB_LIST]
    assert [c["uuid"] for c in editing.read_children(db, "sites", uuid)] == [c["uuid"] for c in children[1:]]


def test_without_a_base_the_save_is_as_before(db):
    """Scripts that pass whole values (no form) keep the plain behaviour: what they pass is written."""
    uuid = a_site_with_tenants(db)
    base, _ = open_form(db, uuid)
    someone_else_sets(db, uuid, height_m=base["height_m"] + 11)
    editing.save_record(db, "sites", {"height_m": base["height_m"]}, uuid=uuid)
    assert column(db, uuid, "height_m") == pytest.approx(base["height_m"])
