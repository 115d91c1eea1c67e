"""A database file opens with its map first and its poles after (ui/loader.LoadJob): a user who
adds poles (and undoes one) while the poles are still being read finds each edit on the map once
they arrive, whichever came first, the read or the edit."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from hatang_desktop.ui import loader
from hatang_desktop.ui.strings import tr

from . import walk
from .test_user_walks_editing import press_save

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def live_poles(db) -> list[str]:
    with db.session() as s:
        return sorted(r[0] for r in s.execute(text("SELECT uuid FROM poles WHERE deleted = 0")))


def pole_uuid(db, code: str) -> str:
    with db.session() as s:
        return s.execute(text("SELECT uuid FROM poles WHERE code = :c AND deleted = 0"), {"c": code}).scalar_one()


@pytest.fixture
def held_poles(monkeypatch):
    """read_late held until the test lets it go: `when` = "before" reads the poles at once and
    waits to hand them over (the read predates the user's edits), "after" waits and then reads."""
    gate = threading.Event()
    real = loader.read_late
    state = {"when": "after"}

    def held(path, data, *rest):
        if state["when"] == "before":
            late = real(path, data, *rest)
            gate.wait(60)
            return late
        gate.wait(60)
        return real(path, data, *rest)

    monkeypatch.setattr(loader, "read_late", held)
    monkeypatch.setattr(loader, "LATE_POLES", 0)  # the sample is small: it would be read in one go
    yield state, gate
    gate.set()


@pytest.mark.parametrize("when", ["before", "after"])
def test_poles_added_while_the_poles_load_are_there_once(qtbot, sample_db_path, held_poles, when):
    import pyqtgraph as pg

    from hatang_desktop.ui.main_window import MainWindow

    state, gate = held_poles
    state["when"] = when
    pg.setConfigOptions(antialias=True)
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    finished = []
    window.load_finished.connect(finished.append)
    with qtbot.waitSignal(window.map_shown, timeout=30000):
        window.open_database(sample_db_path)
    walk.activate(window)

    # The map is usable; the poles say they are coming.
    poles = window.canvas.layers["poles"]
    assert window.canvas.layers["sites"].feature_count() == 300
    assert poles.loading and poles.total_count() == 0 and not finished
    row = window.layer_panel._rows["poles"]
    assert row.text(0).endswith(f"({tr('layer_loading')})")
    assert [row.child(i).text(0) for i in range(row.childCount())][1] == tr("legend_loading")
    assert window.counts_label.text() == tr("status_counting")
    before = live_poles(window.db)

    # Two poles added with the tool's shortcut, a click and the form; the second one undone.
    with window.db.session() as s:
        lon0, lat0 = s.execute(text("SELECT lon, lat FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1 OFFSET 5")).one()
        code0 = s.execute(text("SELECT site_code FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1 OFFSET 5")).scalar()
    walk.search_and_go(window, code0)
    for k, code in enumerate(("C-LATE-01", "C-LATE-02")):
        walk.press(window, "Ctrl+2")

        def fill(d, code=code):
            f = d.form_widget.fields
            walk.type_into(f["code"].edit, code)
            walk.choose(f["owner_kind"].combo, "operator")
            walk.choose(f["owner_operator_code"].combo, "VNPT")
            press_save(d)

        waiting = walk.when_modal(fill)
        walk.click_map(window, lon0 - 0.0015 - 0.0008 * k, lat0 + 0.001)
        waiting.done()
        walk.press(window, "Escape")
    kept, undone = pole_uuid(window.db, "C-LATE-01"), pole_uuid(window.db, "C-LATE-02")
    walk.press(window, "Ctrl+Z")
    assert poles.index_of(kept) is not None and poles.index_of(undone) is None  # drawn before the rest came
    assert not finished

    with qtbot.waitSignal(window.load_finished, timeout=30000) as blocker:
        gate.set()
    assert blocker.args == [True]

    # Every live pole once, the added one among them, the undone one not; the counts are the file's.
    assert not poles.loading
    drawn = sorted(poles.data.uuid.tolist())
    assert drawn == live_poles(window.db) == sorted(before + [kept])
    assert drawn.count(kept) == 1 and undone not in drawn
    assert poles.feature_count() == len(drawn)
    assert tr("layer_loading") not in window.layer_panel._rows["poles"].text(0)
    # The counts read with the poles may predate the edits: they are read again, and shown.
    with window.db.session() as s:
        count = s.execute(text("SELECT count(*) FROM poles WHERE deleted = 0")).scalar()
    qtbot.waitUntil(lambda: window.info["counts"] is not None and window.info["counts"]["poles"] == count,
                    timeout=30000)
    assert f"{count:,}".replace(",", ".") + " cột" in window.counts_label.text()

    # The pole tool and the map work on the whole layer now: the new pole is found by its code.
    walk.clear_text(window.search_box)
    walk.search_and_go(window, "C-LATE-01")
    assert window.identify_panel.feature is not None and window.identify_panel.feature.uuid == kept
