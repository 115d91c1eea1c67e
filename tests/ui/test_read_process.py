"""A large database is read for the map in a process of its own (ui/read_process): the layers
it hands back are the ones the worker thread reads, a failure there reaches the user as a
message, and a read no longer wanted stops."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.map_data import PathLayer
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui import loader, read_process
from hatang_desktop.ui.strings import tr

from . import walk
from .test_every_action import FileDialogs
from .test_map_prepared import same_items

pytestmark = pytest.mark.skipif(not read_process.available(), reason="the reading process needs Linux")

LAYERS = ("boundaries", "commune_labels", "zones", "routes", "poles", "villages", "sites", "findings")


@pytest.fixture
def reader():
    r = read_process.Reader()
    yield r
    r.close()


def same_layer(a, b, name: str) -> None:
    assert type(a) is type(b), name
    assert np.array_equal(a.uuid, b.uuid) and a.uuid.dtype == b.uuid.dtype, name
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y), name
    if isinstance(a, PathLayer):
        assert np.array_equal(a.connect, b.connect) and np.array_equal(a.vertex_feature, b.vertex_feature), name
    assert a.attrs.keys() == b.attrs.keys(), name
    for key in a.attrs:
        assert a.attrs[key].dtype == b.attrs[key].dtype and np.array_equal(a.attrs[key], b.attrs[key]), (name, key)


def same_levels(a: PathLayer, b: PathLayer, name: str) -> None:
    ours, theirs = a.__dict__.get("_simplified", {}), b.__dict__.get("_simplified", {})
    assert sorted(ours) == sorted(theirs) and len(ours) >= 5, name
    for tolerance in ours:
        same_layer(ours[tolerance], theirs[tolerance], f"{name} at {tolerance}")
        # A level shares the layer's uuids and attributes, as simplified() makes it.
        assert ours[tolerance].uuid is a.uuid and ours[tolerance].attrs is a.attrs


def same_points(a, b) -> None:
    for x, y in zip(a.raw, b.raw):
        assert np.array_equal(x, y)
    for key in ("x", "y", "style", "priority", "ids", "offsets"):
        assert np.array_equal(getattr(a.grid, key), getattr(b.grid, key)), key
    assert a.rect == b.rect


def test_the_process_reads_the_layers_the_thread_reads(sample_db_path, reader):
    db = Database.open(sample_db_path, readonly=True)
    fast = loader.read_in_process(db, sample_db_path, reader)
    fast_late = loader.read_late(sample_db_path, fast.data, reader=fast.reader)
    db2 = Database.open(sample_db_path, readonly=True)
    careful = loader.read_open_database(db2, late=True)
    careful_late = loader.read_late(sample_db_path, careful.data)
    try:
        for name in LAYERS:
            same_layer(getattr(fast.data, name), getattr(careful.data, name), name)
        assert fast.data.extent == careful.data.extent
        for name in ("routes", "boundaries"):
            same_levels(getattr(fast.data, name), getattr(careful.data, name), name)
        assert fast.communes == careful.communes and len(fast.communes) > 10
        assert fast.info == careful.info and fast.late and careful.late
        assert set(fast.data.prepared) == set(careful.data.prepared) == {"sites", "routes"}
        s, t = fast.data.prepared["sites"], careful.data.prepared["sites"]
        assert s["data"] is fast.data.sites and s["looks"][:3] == t["looks"][:3]
        same_points(s["cloud"], t["cloud"])
        same_points(s["rings"], t["rings"])
        r, q = fast.data.prepared["routes"], careful.data.prepared["routes"]
        assert r["data"] is fast.data.routes and np.array_equal(r["group"], q["group"])
        for a, b in zip(r["tiles"], q["tiles"]):
            assert np.array_equal(a.bounds, b.bounds)
            assert [p.elementCount() for p in a.paths] == [p.elementCount() for p in b.paths]

        same_layer(fast_late.poles, careful_late.poles, "poles")
        assert len(fast_late.poles) > 1000
        same_points(fast_late.prepared["poles"]["cloud"], careful_late.prepared["poles"]["cloud"])
        assert fast_late.info == careful_late.info and fast_late.info["counts"]["poles"] == len(fast_late.poles)
        # The arrays are the reply's mapped bytes, yet the window may write into them (patches).
        fast_late.poles.x[0] += 0.0
        fast.data.sites.attrs["shared"][:1] = fast.data.sites.attrs["shared"][:1]
    finally:
        fast.db.close()
        careful.db.close()


def test_a_window_opening_through_the_process_draws_what_a_plain_load_draws(qtbot, sample_db_path, window,
                                                                            monkeypatch):
    """`window` loaded the sample on its own thread; a second window opens it as a large file
    is opened (the map from the process, then the poles from it)."""
    from hatang_desktop.ui.main_window import MainWindow

    monkeypatch.setattr(loader, "PROCESS_POLES", 0)
    monkeypatch.setattr(loader, "LATE_POLES", 0)
    used = []
    real = loader.read_in_process
    monkeypatch.setattr(loader, "read_in_process", lambda *a, **k: used.append(1) or real(*a, **k))
    other = MainWindow()
    qtbot.addWidget(other)
    other.resize(1200, 800)
    other.show()
    dialogs = FileDialogs(monkeypatch)       # Tệp > Mở… answered with the file, as a user picks it
    dialogs.answers.append(str(sample_db_path))
    walk.activate(other)
    with qtbot.waitSignal(other.load_finished, timeout=60000) as done:
        walk.press(other, "Ctrl+O")
    assert done.args == [True] and used and dialogs.calls == ["open_file_name"]
    same_items(other.canvas, window.canvas)
    assert other.info["counts"] == window.info["counts"]
    assert other.canvas.layers["poles"].feature_count() == window.canvas.layers["poles"].feature_count() > 1000


def test_a_damaged_file_read_by_the_process_is_a_message_and_the_process_goes_on(tmp_path, sample_db_path,
                                                                                 reader):
    bad = tmp_path / "hong.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4096)
    with pytest.raises(HatangError) as refused:
        reader.call("map_layers", str(bad))
    assert "hong.db" in refused.value.vi and refused.value.vi != refused.value.en
    data, communes = reader.call("map_layers", str(sample_db_path))
    assert len(data.sites) == 300 and communes


def test_a_reading_process_that_dies_is_a_message_not_a_hang(qtbot, sample_db_path, reader, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from hatang_desktop.ui.main_window import MainWindow

    reader.process.kill()
    reader.process.wait()
    monkeypatch.setattr(loader, "PROCESS_POLES", 0)
    monkeypatch.setattr(read_process, "reader", lambda: reader)
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, _title, text: shown.append(text))
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.load_finished, timeout=30000) as done:
        window.open_database(sample_db_path)
    assert done.args == [False]
    assert len(shown) == 1 and "tiến trình đọc bản đồ đã dừng đột ngột" in shown[0]
    assert window.db is None and window.windowTitle() == tr("app_title")


def test_a_read_no_longer_wanted_is_not_made(sample_db_path, reader):
    stop = threading.Event()
    reader.stop(stop)
    t = time.perf_counter()
    assert reader.call("late_layers", str(sample_db_path), stop=stop) is None
    assert time.perf_counter() - t < 1.0
    # The next read is not stopped by the last one's flag.
    levels, poles, prepared, info = reader.call("late_layers", str(sample_db_path), stop=threading.Event())
    assert len(poles) == info["counts"]["poles"] > 1000 and "poles" in prepared


def test_stopped_reads_end_at_their_next_step(sample_db_path):
    """What stops a pole read (in the process and on the thread): a query that would run for
    ever ends soon after its stop is set."""
    stop = threading.Event()
    with Database.open(sample_db_path, readonly=True) as db:
        db.stop_reads_when(stop.is_set, steps=1000)
        threading.Timer(0.2, stop.set).start()
        t = time.perf_counter()
        with pytest.raises(Exception) as ended, db.session() as s:
            from hatang_desktop.core.storage.dialect import raw

            raw(s).execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                           "SELECT count(*) FROM c").fetchall()
        assert "interrupted" in str(ended.value)
        assert time.perf_counter() - t < 5.0


def test_a_small_file_opens_in_one_go(qtbot, sample_db_path):
    """Below LATE_POLES a file's poles come with its map: one job, no "loading" state."""
    from hatang_desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    at_map = []
    window.map_shown.connect(lambda: at_map.append((window.canvas.layers["poles"].loading,
                                                    window.canvas.layers["poles"].feature_count())))
    with qtbot.waitSignal(window.load_finished, timeout=30000) as done:
        window.open_database(sample_db_path)
    assert done.args == [True]
    assert at_map and not at_map[0][0] and at_map[0][1] > 1000
    assert window.info["counts"] is not None and not window._jobs


def test_opening_another_file_stops_the_last_ones_pole_read(qtbot, sample_db_path, tmp_path, monkeypatch):
    """The map of one file is shown, its poles are on their way; the user opens another file:
    the first read is told to stop (its poles would be thrown away) and the second file opens."""
    import shutil

    from hatang_desktop.ui.main_window import MainWindow

    monkeypatch.setattr(loader, "PROCESS_POLES", 0)
    monkeypatch.setattr(loader, "LATE_POLES", 0)
    other_path = tmp_path / "khac.db"
    shutil.copyfile(sample_db_path, other_path)
    # The first file's pole read is held until it is stopped (or 30 s), then made as it would be.
    real, seen = loader._late_in_process, []

    def held(path, data, reader, stop):
        if not seen:
            seen.append(stop.wait(30))
            late = real(path, data, reader, stop)
            seen.append(late)
            return late
        return real(path, data, reader, stop)

    monkeypatch.setattr(loader, "_late_in_process", held)
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.map_shown, timeout=60000):
        window.open_database(sample_db_path)
    first = window._jobs[window._job_id]
    with qtbot.waitSignal(window.load_finished, timeout=60000) as done:
        window.open_database(other_path)
    assert done.args == [True] and str(window.db.path) == str(other_path)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=30000)
    assert first.stop.is_set() and seen == [True, None]  # stopped at once, nothing read
    assert window.canvas.layers["poles"].feature_count() > 1000 and not window.canvas.layers["poles"].loading


def test_the_bundled_app_starts_its_reading_process_through_its_own_entry(tmp_path, sample_db_path, monkeypatch):
    """A frozen app's executable is the app (no `python -m`): it is started again with
    WORKER_ARG and its entry point (installer/launch_gui.py, what PyInstaller runs) serves reads
    instead of opening a window. The executable is the bundle when HATANG_DESKTOP_APP names it
    (installer/build_linux.sh), else a stand-in that runs that entry file."""
    import os
    import sys
    from pathlib import Path

    app = os.environ.get("HATANG_DESKTOP_APP")
    if not app:
        entry = Path(__file__).resolve().parents[2] / "installer" / "launch_gui.py"
        app = tmp_path / "hatang-desktop"
        app.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{entry}" "$@"\n')
        app.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    assert read_process.available()
    assert read_process.worker_command(5, 6) == [str(app), read_process.WORKER_ARG, "5", "6"]
    bundled = read_process.Reader()
    try:
        data, communes = bundled.call("map_layers", str(sample_db_path))
        assert bundled.process.args[:2] == [str(app), read_process.WORKER_ARG]
    finally:
        bundled.close()
    db = Database.open(sample_db_path, readonly=True)
    try:
        careful = loader.read_open_database(db, late=True)
        for name in ("sites", "routes", "boundaries"):
            same_layer(getattr(data, name), getattr(careful.data, name), name)
        assert communes == careful.communes and len(data.sites) == 300
    finally:
        db.close()


FORKED_SITES = """
import sys
import numpy as np
from hatang_desktop.core.map_data import read_sites
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui import read_jobs

forked = []
real = read_jobs.ForkedJob
read_jobs.ForkedJob = lambda job: forked.append(1) or real(job)
data, communes = read_jobs.map_layers({}, sys.argv[1], lambda *a: None, lambda: False)
with Database.open(sys.argv[1], readonly=True) as db:
    alone = read_sites(db)
assert np.array_equal(data.sites.uuid, alone.uuid) and np.array_equal(data.sites.x, alone.x)
assert all(np.array_equal(data.sites.attrs[k], alone.attrs[k]) for k in alone.attrs)
assert len(alone.uuid) > 100
print("forked", len(forked))
"""


def test_the_reading_process_reads_the_sites_in_a_forked_child(sample_db_path):
    """The reading process has one thread: it forks a child for the sites while it reads the
    rest (the country's opening ~2.3 -> ~1.4 s), and the sites are the ones read in one go."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FORKED_SITES, str(sample_db_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "forked 1"


class _FailingChild:
    """A sites child that dies (`stops`: because the read was stopped meanwhile)."""
    stops = False
    stopped = False

    def __init__(self, job):
        pass

    def result(self):
        from hatang_desktop.core.exchange.export_parallel import WorkerFailed

        _FailingChild.stopped = _FailingChild.stops
        raise WorkerFailed("the child died")

    def cancel(self):
        pass


def test_a_failed_sites_child_leaves_the_sites_to_the_reading_process(sample_db_path, monkeypatch):
    from hatang_desktop.core.map_data import read_sites
    from hatang_desktop.ui import read_jobs

    monkeypatch.setattr(read_jobs, "fork_allowed", lambda qt_imported=False: True)
    monkeypatch.setattr(read_jobs, "ForkedJob", _FailingChild)
    data, _communes = read_jobs.map_layers({}, str(sample_db_path), lambda *a: None, lambda: False)
    with Database.open(sample_db_path, readonly=True) as db:
        same_layer(data.sites, read_sites(db), "sites")
    # A child that failed because the read was stopped: the whole read stops.
    monkeypatch.setattr(_FailingChild, "stops", True)
    with pytest.raises(read_jobs.Stopped):
        read_jobs.map_layers({}, str(sample_db_path), lambda *a: None, lambda: _FailingChild.stopped)


FORKED_POLES = """
import sys
import numpy as np
from hatang_desktop.core.map_data import read_poles
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui import read_jobs
from hatang_desktop.ui.map.layers import PoleLayer

state = {}
read_jobs.map_layers(state, sys.argv[1], lambda *a: None, lambda: False)
forked = []
real = read_jobs.ForkedJob
read_jobs.ForkedJob = lambda job: forked.append(1) or real(job)
levels, poles, prepared, info = read_jobs.late_layers(state, sys.argv[1], lambda *a: None, lambda: False)
with Database.open(sys.argv[1], readonly=True) as db:
    alone = read_poles(db)
assert np.array_equal(poles.uuid, alone.uuid) and np.array_equal(poles.x, alone.x) and np.array_equal(poles.y, alone.y)
assert all(np.array_equal(poles.attrs[k], alone.attrs[k]) for k in alone.attrs)
ready = PoleLayer.prepare_poles(alone)
for a, b in zip(prepared["poles"]["cloud"].raw, ready["cloud"].raw):
    assert np.array_equal(a, b)
assert len(alone.uuid) > 1000 and info["counts"]["poles"] == len(alone.uuid) and levels
print("forked", len(forked))
"""


def test_the_reading_process_reads_the_poles_in_a_forked_child(sample_db_path):
    """After the map, the poles (the country's 504k: ~4 s) are read and prepared by a forked
    child while the reading process makes the lines' finer levels and the counts; they are the
    poles read in one go."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FORKED_POLES, str(sample_db_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "forked 1"


def test_a_failed_poles_child_leaves_the_poles_to_the_reading_process(sample_db_path, monkeypatch):
    from hatang_desktop.core.map_data import read_poles
    from hatang_desktop.ui import read_jobs

    monkeypatch.setattr(read_jobs, "fork_allowed", lambda qt_imported=False: True)
    monkeypatch.setattr(read_jobs, "ForkedJob", _FailingChild)
    monkeypatch.setattr(_FailingChild, "stops", False)
    state = {}
    read_jobs.map_layers(state, str(sample_db_path), lambda *a: None, lambda: False)
    _levels, poles, prepared, _info = read_jobs.late_layers(state, str(sample_db_path), lambda *a: None,
                                                             lambda: False)
    with Database.open(sample_db_path, readonly=True) as db:
        same_layer(poles, read_poles(db), "poles")
    assert "poles" in prepared
    # A child that failed because the read was stopped: the whole read stops.
    monkeypatch.setattr(_FailingChild, "stops", True)
    with pytest.raises(read_jobs.Stopped):
        read_jobs.late_layers({}, str(sample_db_path), lambda *a: None, lambda: _FailingChild.stopped)
